"""Routes of the notification page: the HTML at `/app` and its stylesheet and script beside it.

The files are read once when the app is built. Every answer forbids anything not from this origin
(Content-Security-Policy), framing and referrers: the page's first address carries a token.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import Response

from services.notify_svc.web import PAGE_PATH

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
# path under PAGE_PATH -> (file in this package, media type)
_FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
}


def add_page(app: FastAPI) -> None:
    """Serve the page and its two assets on `app` (left out of the OpenAPI document)."""
    here = files("services.notify_svc.web")
    for suffix, (name, media_type) in _FILES.items():
        body = here.joinpath(name).read_bytes()
        _route(app, PAGE_PATH + suffix, body, media_type)


def _route(app: FastAPI, path: str, body: bytes, media_type: str) -> None:
    async def serve() -> Response:
        return Response(body, media_type=media_type, headers=_HEADERS)

    app.add_api_route(path, serve, methods=["GET"], include_in_schema=False, name=path)
