"""The public pages' two field bugs: the header's home link answered a JSON 404, and the episode page's audio player
was invisible in Chromium (`.player audio{height:auto}` collapsed it)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html

from tests.conftest import ROOT, Stack
from tests.feeds.conftest import Show

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SITE_CSS = ROOT / "web" / "static" / "site.css"


def test_home_page_lists_the_channels_with_their_pages_and_feeds(api: TestClient, stack: Stack, show: Show) -> None:
    quiet = api.post(
        "/api/channels",
        json={"slug": "kenh-chua-phat", "name": "Kênh chưa phát sóng", "kind": "podcast"},
        headers=stack.headers("scheduler"),
    )
    assert quiet.status_code in (201, 409), quiet.text
    response = api.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = html.fromstring(response.content)
    assert page.get("lang") == "vi" and page.xpath("//script") == []
    (item,) = page.xpath(f"//main//li[.//a[@href='/channels/{show.slug}']]")
    assert "Tìm hiểu pháp luật" in item.text_content() and re.search(r"\d+ chương trình", item.text_content())
    assert {f"/feeds/{show.slug}.{fmt}" for fmt in ("rss", "atom", "ics")} <= set(item.xpath(".//a/@href"))
    (empty,) = page.xpath("//main//li[.//a[@href='/channels/kenh-chua-phat']]")
    assert "Chưa có chương trình" in empty.text_content()
    # Channels with episodes come before those without.
    order = page.xpath("//main//li//h3/a/@href")
    assert order.index(f"/channels/{show.slug}") < order.index("/channels/kenh-chua-phat")
    for link in item.xpath(".//a/@href"):
        assert api.get(link).status_code == 200, link
    assert api.head("/").status_code == 200 and api.head("/").content == b""


def test_every_public_page_header_links_to_a_page_that_exists(api: TestClient, show: Show) -> None:
    for path in (
        f"/episodes/{show.production_id}",
        f"/channels/{show.slug}",
        f"/documents/{show.document_id}",
        "/episodes/999999",
    ):
        page = html.fromstring(api.get(path).content)
        (home,) = page.xpath("//header[@class='site']//a/@href")
        answer = api.get(home)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html"), (path, home)


def _rules(css: str) -> list[tuple[list[str], dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        declarations = dict((k.strip(), v.strip()) for k, _, v in (d.partition(":") for d in body.split(";")) if v.strip())
        rules.append(([s.strip() for s in selectors.split(",")], declarations))
    return rules


def test_the_audio_player_is_given_a_real_height() -> None:
    audio_rules = [
        decl
        for selectors, decl in _rules(SITE_CSS.read_text(encoding="utf-8"))
        if any(re.search(r"\baudio\b", s) for s in selectors)
    ]
    assert audio_rules, "site.css styles the audio player"
    heights = [decl["height"] for decl in audio_rules if "height" in decl]
    assert "auto" not in heights  # an <audio> has no intrinsic height: auto collapses Chromium's controls
    assert heights and all(re.fullmatch(r"(\d+)px", h) and int(h[:-2]) >= 40 for h in heights), heights


def test_the_episode_player_is_visible_in_chromium(api: TestClient, show: Show) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Browser check skipped: Debian's chromium is not installed (as root: apt-get install -y chromium)")
    try:
        from playwright.sync_api import Route, sync_playwright
    except ImportError:
        pytest.skip("Browser check skipped: Playwright for Python is not installed")
    origin = "http://lawcast.test"

    def serve(route: Route) -> None:
        # The page and everything it loads come from the app through the TestClient: no server, no network.
        headers = {k: v for k, v in route.request.headers.items() if k.lower() == "range"}
        answer = api.get(route.request.url.removeprefix(origin), headers=headers)
        passed = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-encoding", "content-length")}
        route.fulfill(status=answer.status_code, headers=passed, body=answer.content)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.route(f"{origin}/**", serve)
            page.goto(f"{origin}/episodes/{show.production_id}")
            player = page.locator("audio#trinh-phat")
            player.wait_for(state="attached")
            box = player.bounding_box()
            assert box is not None and box["height"] > 20 and box["width"] > 200, box
            assert player.is_visible()
        finally:
            browser.close()
