"""Swagger UI and ReDoc work offline: every script, style and icon they load is served by lawcast itself."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_only_local_assets(page: str) -> None:
    from app import create_app

    client = TestClient(create_app())
    response = client.get(page)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    urls = [a or b for a, b in ASSET.findall(response.text)]
    assert any(url.endswith(".js") for url in urls), urls  # the page does load a script: it is not blank
    assert "/openapi.json" in urls
    for url in urls:
        absolute = urljoin(f"http://testserver{page}", url)
        assert urlsplit(absolute).netloc == "testserver", f"{page} loads {url} from another host"
        fetched = client.get(absolute)
        assert fetched.status_code == 200, (url, fetched.status_code)
        assert len(fetched.content) > 1000, url  # a real bundle, stylesheet, icon or schema, not an empty stub
    assert not re.search(r"https?://(?!testserver)", response.text), "the page names another host"
