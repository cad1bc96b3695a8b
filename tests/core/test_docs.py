"""/docs and /redoc work offline: every asset they load is served by the app itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from app.openapi import current_openapi

# Attributes that make a browser fetch something, and ReDoc's spec attribute.
_FETCHING = {"src", "href", "spec-url"}
# Swagger UI's inline configuration: `url: '/openapi.json'`.
_INLINE_URL = re.compile(r"""\burl:\s*['"]([^'"]+)['"]""")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in _FETCHING and value]


def _referenced(page: str) -> list[str]:
    parser = _References()
    parser.feed(page)
    return parser.urls + _INLINE_URL.findall(page)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png", "openapi.json"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png", "openapi.json"}),
    ],
)
async def test_docs_pages_load_only_same_origin_assets_that_answer(
    client: httpx.AsyncClient, page: str, expected: set[str]
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "http://" not in response.text and "https://" not in response.text  # no CDN, no Google Fonts

    urls = _referenced(response.text)
    assert {url.rsplit("/", 1)[-1] for url in urls} == expected
    for url in urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("", ""), f"{page} loads {url} from elsewhere"
        assert url.startswith("/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url


async def test_the_assets_have_their_content_types(client: httpx.AsyncClient) -> None:
    types = {
        "swagger-ui-bundle.js": "text/javascript",
        "redoc.standalone.js": "text/javascript",
        "swagger-ui.css": "text/css",
        "favicon.png": "image/png",
    }
    for name, media_type in types.items():
        response = await client.get(f"/docs/assets/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == media_type
    assert (await client.get("/docs/assets/nothing-here.js")).status_code == 404


async def test_the_oauth2_redirect_page_is_self_contained(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert _referenced(response.text) == []


def test_documentation_routes_stay_out_of_the_schema() -> None:
    paths = current_openapi()["paths"]
    assert [p for p in paths if p.startswith(("/docs", "/redoc"))] == []
