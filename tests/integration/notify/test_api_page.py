"""The notification page as the feed API serves it: same-origin files under a strict policy."""

from __future__ import annotations

import re

import pytest

from services.notify_svc.web.routes import CONTENT_SECURITY_POLICY
from tests.integration.notify.test_api import Api, api  # noqa: F401  (the fixture)

pytestmark = pytest.mark.integration


def test_the_page_and_its_assets_are_served_without_a_token_under_a_self_only_policy(
    api: Api,  # noqa: F811
) -> None:
    page = api.client.get("/app")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for path, media_type in [("/app/app.js", "text/javascript"), ("/app/app.css", "text/css")]:
        asset = api.client.get(path)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(media_type)
        assert asset.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert asset.headers["x-content-type-options"] == "nosniff"
    policy = dict(d.split(" ", 1) for d in page.headers["content-security-policy"].split("; "))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert {policy[k] for k in ("script-src", "style-src", "connect-src")} == {"'self'"}
    assert page.headers["referrer-policy"] == "no-referrer"


def test_the_page_names_no_other_origin_and_holds_no_inline_script_or_style(api: Api) -> None:  # noqa: F811
    html = api.client.get("/app").text
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/app/app.js">']
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html
    script = api.client.get("/app/app.js").text
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "://" not in script


def test_the_page_is_not_part_of_the_api_document(api: Api) -> None:  # noqa: F811
    paths = api.client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/app")]
    assert api.client.get("/app/other.js").status_code == 404
