"""The seller's notification page ("Notifikasi"), served by the feed API at `/app`.

Three static files (`index.html`, `app.css`, `app.js`), no build step and nothing from another
origin. `app_link` is the link `lunas token issue --url` (and the demo) prints: the page reads the
token once from `?token=`, keeps it in the tab's sessionStorage and removes it from the address bar.
"""

from __future__ import annotations

from urllib.parse import urlencode

PAGE_PATH = "/app"


def app_link(base_url: str, token: str) -> str:
    """The page of the feed API at `base_url`, signed in with `token`."""
    return f"{base_url.rstrip('/')}{PAGE_PATH}?{urlencode({'token': token})}"
