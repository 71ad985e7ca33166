"""The operations screens: renders (/app/jobs), emergency, stations (fleet health) and users, through the pages with
real data and the real worker; then the same screens in a real browser (Debian's chromium), at desktop and phone size.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.broadcast.conftest import TINY_LAW, act, area, make_bulletins, station
from tests.conftest import Stack
from tests.helpers import wait_for_job
from tests.web.conftest import (
    PHONE,
    Account,
    api_token,
    browser_sign_in,
    existing_user,
    no_horizontal_scroll,
    scoped_account,
    screenshot,
    sign_in,
)


@contextmanager
def signed_client(account: Account) -> Iterator[tuple[TestClient, str]]:
    """A TestClient of its own (own cookies) signed in through the login form, with the session's CSRF token."""
    from app import create_app

    with TestClient(create_app()) as client:
        yield client, sign_in(client, account)


def made_production(author: str, *, format: str = "loudspeaker", title: str, articles: int = 1) -> int:
    """A document and a production written by `author` through the services (set-up, not under test)."""
    import auth
    from db import session_scope
    from studio import scripting, service

    with session_scope() as session:
        user = auth.user_by_name(session, author)
        assert user is not None
        doc = service.create_document(session, text=TINY_LAW, user=user, title=f"Luật {title}")
        ids = [row.id for row in doc.provisions if row.kind == "dieu"][:articles]
        return (
            scripting.create_production(session, document_id=doc.id, format=format, user=user, provision_ids=ids, title=title)
            .productions[0]
            .id
        )


def unsent_job(production_id: int, user: str, profile: str) -> int:
    """A render job saved but not yet sent to the worker (it stays queued long enough to be cancelled)."""
    from db import session_scope
    from studio import jobs, service

    with session_scope() as session:
        found, _created = jobs.request_render(
            session,
            production=service.get_production(session, production_id),
            user=existing_user(session, user),
            profiles=[profile],
        )
        return found[0].id


def job_status(job_id: int) -> str:
    """A job's state, read from the database."""
    from db import session_scope
    from studio import jobs

    with session_scope() as session:
        return jobs.get_job(session, job_id).status


def wait_until(check: Callable[[], bool], timeout_s: float = 120) -> None:
    """Poll `check` until it holds."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


# --- renders ---------------------------------------------------------------------------------------------------------


def test_renders_page_shows_each_output_with_player_levels_subtitles_and_version(
    client: TestClient, stack: Stack, accounts: dict[str, Account]
) -> None:
    production_id = made_production("web-editor", format="video", title="Tiểu phẩm thử trang dựng")
    lines = {
        "lines": [
            {"speaker": "presenter", "text": "Xin chào bà con.", "pause_ms": 200},
            {"speaker": "expert", "text": "Luật có hiệu lực từ tháng bảy.", "pause_ms": 200},
        ]
    }
    assert client.put(f"/api/productions/{production_id}/script", json=lines, headers=stack.headers("editor")).status_code == 200
    started = client.post(
        f"/api/productions/{production_id}/renders", json={"profiles": ["video_16x9"]}, headers=stack.headers("producer")
    )
    assert started.status_code == 202, started.json()
    job_id = started.json()["job"]["id"]
    assert wait_for_job(client, stack.headers("producer"), job_id)["status"] == "succeeded"
    with signed_client(accounts["producer"]) as (web, _csrf):
        html = web.get("/app/jobs").text
        row = html[html.index(f'id="job-{job_id}"') :]
        row = row[: row.index("</li>")]
        assert "100 %" in row and "Dựng từ phiên bản 2" in row and "LUFS" in row and "dBTP" in row
        video = re.search(r'<video controls preload="metadata" src="([^"]+)">', row)
        track = re.search(r'<track kind="subtitles" srclang="vi" label="Tiếng Việt" src="([^"]+)" default>', row)
        assert video and track, row
        # Signed same-origin URLs: the unpublished media plays in the page without a token.
        media = web.get(video.group(1).replace("&amp;", "&"), headers={"Range": "bytes=0-1"})
        assert media.status_code == 206 and media.headers["content-type"] == "video/mp4"
        vtt = web.get(track.group(1).replace("&amp;", "&"))
        assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT") and "Xin chào bà con" in vtt.text
        assert web.get(video.group(1).replace("&amp;", "&").split("?")[0]).status_code in (401, 403, 404)
        part = web.get(f"/app/jobs/{job_id}?part=state", headers={"HX-Request": "true"})
        # A finished job answers its whole row once, retargeted over the polling state line, which then stops.
        assert part.headers["hx-retarget"] == f"#job-{job_id}" and "hx-trigger" not in part.text


def test_cancel_a_queued_render_then_retry_it_to_the_end(stack: Stack, accounts: dict[str, Account]) -> None:
    production_id = made_production("web-editor", title="Bản tin huỷ rồi dựng lại")
    job_id = unsent_job(production_id, "web-producer", "loudspeaker")
    with signed_client(accounts["producer"]) as (web, csrf):
        state = web.get(f"/app/jobs/{job_id}?part=state", headers={"HX-Request": "true"})
        assert 'hx-trigger="every 1s"' in state.text and "Đang chờ" in state.text  # queued: its state line polls
        refused = web.post(f"/app/jobs/{job_id}/cancel", data={"csrf_token": "giả"}, follow_redirects=False)
        assert refused.status_code == 403 and job_status(job_id) == "queued"
        cancelled = web.post(f"/app/jobs/{job_id}/cancel", data={"csrf_token": csrf}, headers={"HX-Request": "true"})
        assert cancelled.status_code == 200 and "Đã huỷ" in cancelled.text and "Dựng lại" in cancelled.text
        assert job_status(job_id) == "cancelled"
        again = web.post(f"/app/jobs/{job_id}/retry", data={"csrf_token": csrf}, follow_redirects=False)
        assert again.status_code == 303
        new_id = int(re.search(r"#(\d+)", web.get("/app/jobs").text.split("Đã xếp lại")[1]).group(1))
        assert new_id != job_id
        wait_until(lambda: job_status(new_id) not in ("queued", "running"))
        assert job_status(new_id) == "succeeded"
    with signed_client(accounts["legal_reviewer"]) as (web, csrf):  # reads the queue, may not act on it
        assert "Dựng lại" not in web.get("/app/jobs").text
        assert web.post(f"/app/jobs/{job_id}/retry", data={"csrf_token": csrf}).status_code == 403


# --- stations --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet(stack: Stack) -> dict[str, Any]:
    """A district with two communes and three stations, one of which has polled and sent a heartbeat."""
    from app import create_app

    with TestClient(create_app()) as api:
        district = area(api, stack, kind="district", name=f"Huyện Đội Trạm {time.time():.0f}")
        communes = [area(api, stack, parent_id=district["id"], name=f"Xã Trạm {n} {time.time():.0f}") for n in (1, 2)]
        made = [
            station(api, stack, communes[0]["id"]),
            station(api, stack, communes[0]["id"]),
            station(api, stack, communes[1]["id"]),
        ]
        live = made[0]
        auth = {"Authorization": f"Bearer {live['token']}"}
        assert api.get(f"/stations/{live['id']}/schedule.json", headers=auth).status_code == 200
        beat = api.post(
            f"/stations/{live['id']}/plays",
            json={"plays": [], "heartbeat": {"cached_items": 7, "queued_reports": 0}},
            headers=auth,
        )
        assert beat.status_code == 200
    return {"district": district, "communes": communes, "stations": made}


def test_fleet_lists_health_heartbeat_and_availability_per_commune_and_district(
    fleet: dict[str, Any], accounts: dict[str, Account]
) -> None:
    live, silent, other = fleet["stations"]
    with signed_client(accounts["scheduler"]) as (web, _csrf):
        html = web.get("/app/stations", params={"area_id": fleet["district"]["id"]}).text
        listed = set(re.findall(r'<td data-label="Trạm"><a href="/app/stations/(\d+)">', html))
        assert listed == {str(live["id"]), str(silent["id"]), str(other["id"])}
        live_row = html[html.index(f'/app/stations/{live["id"]}"') :]
        live_row = live_row[: live_row.index("</tr>")]
        assert "health-green" in live_row and "giây trước" in live_row and '<time datetime="20' in live_row  # heartbeat
        silent_row = html[html.index(f'/app/stations/{silent["id"]}"') :]
        assert "health-red" in silent_row[: silent_row.index("</tr>")] and "chưa từng" in silent_row[: silent_row.index("</tr>")]
        # Availability: commune 1 has one of two stations live; the district one of three.
        assert re.search(
            rf"{re.escape(fleet['communes'][0]['name'])}</a></td>\s*<td[^>]*><meter[^>]*></meter>\s*1/2 \(50%\)", html
        )
        assert re.search(rf"{re.escape(fleet['district']['name'])}</a></td>\s*<td[^>]*><meter[^>]*></meter>\s*1/3 \(33%\)", html)
        only_red = web.get("/app/stations", params={"area_id": fleet["district"]["id"], "health": "red"}).text
        assert f'/app/stations/{silent["id"]}"' in only_red and f'/app/stations/{live["id"]}"' not in only_red
        page = web.get(f"/app/stations/{live['id']}").text
        assert "Tệp đã tải về" in page and ">7<" in page and fleet["district"]["name"] in page  # heartbeat and area trail


def test_station_token_rotation_shows_the_new_token_once(
    fleet: dict[str, Any], accounts: dict[str, Account], client: TestClient
) -> None:
    target = fleet["stations"][2]
    with signed_client(accounts["scheduler"]) as (web, csrf):
        answer = web.post(f"/app/stations/{target['id']}/token", data={"csrf_token": csrf})
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        token = re.search(r'<code id="ma-moi">(lc_[\w-]+)</code>', answer.text).group(1)
        assert token not in web.get(f"/app/stations/{target['id']}").text  # shown this once only
    assert (
        client.get(f"/stations/{target['id']}/schedule.json", headers={"Authorization": f"Bearer {target['token']}"}).status_code
        == 401
    )
    assert client.get(f"/stations/{target['id']}/schedule.json", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with signed_client(accounts["editor"]) as (web, csrf):
        assert web.post(f"/app/stations/{target['id']}/token", data={"csrf_token": csrf}).status_code == 403


# --- users -----------------------------------------------------------------------------------------------------------


def test_admin_creates_a_scoped_user_resets_the_password_and_revokes_tokens(
    fleet: dict[str, Any], accounts: dict[str, Account], client: TestClient
) -> None:
    name = f"can-bo-xa-{time.time_ns()}"
    commune = fleet["communes"][0]
    with signed_client(accounts["admin"]) as (web, csrf):
        made = web.post(
            "/app/users",
            data={
                "csrf_token": csrf,
                "name": name,
                "display_name": "Cán bộ xã",
                "role": "scheduler",
                "area_id": str(commune["id"]),
                "password": "mat-khau-dau-tien",
            },
            follow_redirects=False,
        )
        assert made.status_code == 303
        user_url = made.headers["location"]
        duplicate = web.post("/app/users", data={"csrf_token": csrf, "name": name, "role": "editor", "password": "12345678910"})
        assert duplicate.status_code == 409 and "đã có người dùng" in duplicate.text
        short = web.post("/app/users", data={"csrf_token": csrf, "name": name + "-b", "role": "editor", "password": "ngan"})
        assert short.status_code == 422 and "ít nhất 8" in short.text
        page = web.get(user_url).text
        assert commune["name"] in page and "Người lập lịch" in page and "chưa từng" in page
    officer = Account("scheduler", name, "mat-khau-dau-tien")
    with signed_client(officer) as (mine, _csrf):
        assert commune["name"] in mine.get("/app/stations").text
    headers = api_token(name)
    assert client.get("/api/stations", headers=headers).status_code == 200
    with signed_client(accounts["admin"]) as (web, csrf):
        listing = web.get("/app/users", params={"q": name}).text
        assert name in listing and commune["name"] in listing and "chưa từng" not in listing.split(name)[1].split("</tr>")[0]
        assert (
            web.post(
                user_url + "/password", data={"csrf_token": csrf, "password": "mat-khau-moi-2"}, follow_redirects=False
            ).status_code
            == 303
        )
        revoked = web.post(user_url + "/tokens/revoke", data={"csrf_token": csrf})
        assert "Đã thu hồi 1 mã truy cập API" in revoked.text
        moved = web.post(user_url, data={"csrf_token": csrf, "role": "producer", "display_name": "Cán bộ", "area_id": ""})
        assert moved.status_code == 200 and "mọi địa bàn" in moved.text and "Nhà sản xuất" in moved.text
        me = re.search(r'/app/users/(\d+)"', web.get("/app/users", params={"q": accounts["admin"].name}).text).group(1)
        refused = web.post(f"/app/users/{me}", data={"csrf_token": csrf, "role": "editor"})
        assert refused.status_code == 422 and "tự bỏ quyền quản trị" in refused.text
    assert client.get("/api/stations", headers=headers).status_code == 401  # the token was revoked
    with signed_client(Account("producer", name, "mat-khau-moi-2")) as (mine, _csrf):
        assert mine.get("/app/").status_code == 200  # the new password opens it
    with signed_client(accounts["editor"]) as (web, _csrf):
        assert web.get("/app/users").status_code == 403


# --- emergency -------------------------------------------------------------------------------------------------------


def counts_of(html: str) -> dict[str, int]:
    """The watch page's tallies: stations, pulled, played."""
    return {key: int(value) for key, value in re.findall(r'<strong data-count="(\w+)">(\d+)</strong>', html)}


def latest_job(production_id: int) -> int:
    """The newest render job of a production."""
    from sqlalchemy import select

    from db import session_scope
    from studio.models import RenderJob

    with session_scope() as session:
        newest = select(RenderJob.id).where(RenderJob.production_id == production_id).order_by(RenderJob.id.desc()).limit(1)
        return session.execute(newest).scalar_one()


def test_a_short_text_goes_through_four_eyes_then_is_broadcast_and_watched(
    client: TestClient, stack: Stack, accounts: dict[str, Account]
) -> None:
    from db import session_scope
    from studio import service

    with signed_client(accounts["editor"]) as (web, csrf):
        made = web.post(
            "/app/emergency/text",
            data={
                "csrf_token": csrf,
                "title": "Phòng chống bão số 3",
                "text": "Bão số 3 sắp đổ bộ. Bà con chằng chống nhà cửa, tàu thuyền vào nơi trú ẩn.",
            },
            follow_redirects=False,
        )
        assert made.status_code == 303, made.text
        production_id = int(re.search(r"/app/productions/(\d+)/review", made.headers["location"]).group(1))
        board = web.get("/app/emergency").text
        item = board[board.index(f"/app/productions/{production_id}/review") :]
        assert re.search(
            r'<li class="done"><span class="sr">xong:</span>Soạn</li>\s*<li class="todo"><span class="sr">chưa:</span>Gửi duyệt',
            item,
        )
        web.post(f"/app/productions/{production_id}/transitions", data={"csrf_token": csrf, "action": "submit"})
        refused = web.post(f"/app/productions/{production_id}/transitions", data={"csrf_token": csrf, "action": "approve"})
        assert refused.status_code == 403  # an editor may not approve for air
    with session_scope() as session:
        production = service.get_production(session, production_id)
        lines = service.script_version(session, production).lines
        assert production.title == "Khẩn cấp: Phòng chống bão số 3" and production.status == "in_review"
        assert production.emergency is True
        assert lines[0].text.startswith("Thông báo khẩn cấp! Thông báo khẩn cấp!")
        assert not any(line.text.startswith("Điều 1") for line in lines) and "Bão số 3 sắp đổ bộ" in lines[1].text
    for role, action in (("legal_reviewer", "approve_legal"), ("producer", "approve")):
        with signed_client(accounts[role]) as (web, csrf):
            done = web.post(
                f"/app/productions/{production_id}/transitions",
                data={"csrf_token": csrf, "action": action},
                follow_redirects=False,
            )
            assert done.status_code == 303, done.text
    with signed_client(accounts["producer"]) as (web, csrf):
        assert (
            web.post(f"/app/emergency/render/{production_id}", data={"csrf_token": csrf}, follow_redirects=False).status_code
            == 303
        )
    assert wait_for_job(client, stack.headers("producer"), latest_job(production_id))["status"] == "succeeded"

    commune = area(client, stack, name=f"Xã Khẩn Cấp {time.time():.0f}")
    posts = [station(client, stack, commune["id"]) for _ in range(2)]
    with signed_client(accounts["scheduler"]) as (web, csrf):
        assert f'value="{production_id}" id="ban-tin-{production_id}"' in web.get("/app/emergency").text
        check = web.get("/app/emergency/confirm", params={"production_id": production_id, "area": commune["id"]})
        assert check.status_code == 200 and "Phát khẩn cấp" in check.text and "<dd>2</dd>" in check.text
        sent = web.post(
            "/app/emergency",
            data={"csrf_token": csrf, "production_id": production_id, "area": commune["id"]},
            follow_redirects=False,
        )
        assert sent.status_code == 303
        watch_url = sent.headers["location"]
        airing_id = int(watch_url.rsplit("/", 1)[1])
        assert counts_of(web.get(watch_url).text) == {"total": 2, "pulled": 0, "played": 0}
        first = {"Authorization": f"Bearer {posts[0]['token']}"}
        schedule = client.get(f"/stations/{posts[0]['id']}/schedule.json", headers=first).json()
        assert schedule["items"][0]["airing_id"] == airing_id and schedule["items"][0]["priority"] == "emergency"
        part = web.get(watch_url + "/stations", headers={"HX-Request": "true"}).text
        assert counts_of(part) == {"total": 2, "pulled": 1, "played": 0} and 'hx-trigger="every 2s"' in part
        played = {"airing_id": airing_id, "played_at": datetime.now(UTC).isoformat(), "duration_s": 9.5, "outcome": "played"}
        assert client.post(f"/stations/{posts[0]['id']}/plays", json={"plays": [played]}, headers=first).json()["stored"] == 1
        part = web.get(watch_url + "/stations", headers={"HX-Request": "true"}).text
        assert counts_of(part) == {"total": 2, "pulled": 1, "played": 1} and "Đã phát" in part
        assert f'href="/app/emergency/{airing_id}"' in web.get("/app/emergency").text  # listed among recent emergencies
        # The emergency on the commune counts as scheduled at each of its stations; one reported it played.
        assert '100% <span class="muted">(1/1)</span>' in web.get(f"/app/stations/{posts[0]['id']}").text
        assert '0% <span class="muted">(0/1)</span>' in web.get(f"/app/stations/{posts[1]['id']}").text
    act(client, stack, production_id, "withdraw", "producer")  # other tests' fills must not schedule it


def test_broadcast_needs_a_ready_production_and_an_area(accounts: dict[str, Account]) -> None:
    draft = made_production("web-editor", title="Bản tin chưa duyệt")
    with signed_client(accounts["scheduler"]) as (web, csrf):
        refused = web.get("/app/emergency/confirm", params={"production_id": draft, "area": 1})
        assert refused.status_code == 404 and "chưa được duyệt phát" in refused.text
        assert web.post("/app/emergency", data={"csrf_token": csrf, "production_id": draft}).status_code == 404
    with signed_client(accounts["editor"]) as (web, csrf):  # writes notices, does not broadcast them
        assert web.get("/app/emergency/confirm", params={"production_id": draft}).status_code == 403


def test_an_emergency_bulletin_is_known_by_its_mark_not_its_title(
    client: TestClient, stack: Stack, accounts: dict[str, Account]
) -> None:
    editor = stack.headers("editor")
    doc = client.post("/api/documents", json={"text": TINY_LAW, "title": "Luật đê điều khẩn"}, headers=editor).json()
    made = {}
    for name, title, emergency in (("marked", "Nước lên nhanh ở đê tả Hồng", True), ("titled", "Khẩn cấp: chỉ là tên", False)):
        body = {"document_id": doc["id"], "format": "loudspeaker", "title": title, "emergency": emergency}
        response = client.post("/api/productions", json=body, headers=editor)
        assert response.status_code == 201, response.json()
        made[name] = response.json()
    assert made["marked"]["emergency"] is True and made["titled"]["emergency"] is False
    assert made["marked"]["script"][0]["text"].startswith("Thông báo khẩn cấp!")
    listed = client.get("/api/productions", params={"q": "de ta hong"}, headers=editor).json()["items"]
    assert [(item["id"], item["emergency"]) for item in listed] == [(made["marked"]["id"], True)]
    with signed_client(accounts["editor"]) as (web, _csrf):
        board = web.get("/app/emergency").text
    assert f"/app/productions/{made['marked']['id']}/review" in board
    assert f"/app/productions/{made['titled']['id']}/review" not in board


# --- in a real browser -----------------------------------------------------------------------------------------------


def test_browser_emergency_from_choice_to_played(
    signed_in: Callable[..., Any], client: TestClient, stack: Stack, live_server: str
) -> None:
    import httpx

    bulletin = make_bulletins(
        client, stack, f"khẩn trình duyệt {time.time():.0f}", scripts=[["Thông báo khẩn thử trên trình duyệt."]]
    )[0]
    commune = area(client, stack, name=f"Xã Trình Duyệt {time.time():.0f}")
    posts = [station(client, stack, commune["id"]) for _ in range(2)]
    page = signed_in("scheduler")
    page.goto(f"/app/emergency?q={bulletin.title}")
    page.get_by_role("radio", name=bulletin.title, exact=True).check()
    page.locator(f"#area-{commune['id']}").check()
    screenshot(page, "emergency-1-choose")
    page.get_by_role("button", name="Tiếp tục").click()
    page.wait_for_url("**/app/emergency/confirm?**")
    assert page.locator("dd", has_text=commune["name"]).is_visible()
    screenshot(page, "emergency-2-confirm")
    page.get_by_role("button", name="Phát khẩn cấp").click()
    page.wait_for_url(re.compile(r"/app/emergency/\d+$"))
    airing_id = int(page.url.rsplit("/", 1)[1])
    tally = "key => document.querySelector(`[data-count=${key}]`).textContent"
    assert [page.evaluate(tally, key) for key in ("total", "pulled", "played")] == ["2", "0", "0"]
    screenshot(page, "emergency-3-watch-waiting")
    page.evaluate("window.notReloaded = true")
    page.locator(f"#tram-{posts[1]['id']}").focus()  # a keyboard user on a station link keeps focus across the polls
    auth = {"Authorization": f"Bearer {posts[0]['token']}"}
    schedule = httpx.get(f"{live_server}/stations/{posts[0]['id']}/schedule.json", headers=auth).json()
    assert schedule["items"][0]["airing_id"] == airing_id
    page.wait_for_function("document.querySelector('[data-count=pulled]').textContent === '1'", timeout=15_000)
    played = {"airing_id": airing_id, "played_at": datetime.now(UTC).isoformat(), "duration_s": bulletin.duration_s}
    assert (
        httpx.post(f"{live_server}/stations/{posts[0]['id']}/plays", json={"plays": [played]}, headers=auth).json()["stored"] == 1
    )
    page.wait_for_function("document.querySelector('[data-count=played]').textContent === '1'", timeout=15_000)
    row = page.locator(f"tr[data-station='{posts[0]['id']}']")
    assert "Đã phát" in row.inner_text() and page.evaluate("window.notReloaded") is True  # updated in place by polling
    assert "Chưa nhận" in page.locator(f"tr[data-station='{posts[1]['id']}']").inner_text()
    assert page.evaluate("document.activeElement.id") == f"tram-{posts[1]['id']}"
    screenshot(page, "emergency-4-watch-played")
    page.get_by_role("link", name=posts[0]["name"]).click()
    log = page.locator("section", has=page.get_by_role("heading", name="Nhật ký phát 7 ngày qua"))
    assert bulletin.title in log.inner_text() and "Phát trọn" in log.inner_text()
    assert page.locator("tr.emergency", has_text=bulletin.title).count() == 1  # the emergency heads its schedule
    screenshot(page, "ops-station-with-log")
    phone = signed_in("scheduler", PHONE)
    for name, url in (("phone-emergency-watch", page.url), ("phone-emergency", "/app/emergency")):
        phone.goto(url)
        assert no_horizontal_scroll(phone)[0] <= PHONE["width"], name
        screenshot(phone, name)
    act(client, stack, bulletin.production_id, "withdraw", "producer")


def test_browser_render_cancel_retry_and_live_progress_to_100(signed_in: Callable[..., Any], stack: Stack) -> None:
    production_id = made_production("web-editor", format="radio", title="Chuyên mục dựng trực tiếp", articles=2)
    job_id = unsent_job(production_id, "web-producer", "radio")
    page = signed_in("producer")
    page.goto("/app/jobs")
    row = page.locator(f"#job-{job_id}")
    assert "Đang chờ" in row.inner_text()
    row.get_by_role("button", name="Huỷ").click()
    row.get_by_text("Đã huỷ").wait_for()  # swapped in place by HTMX
    assert job_status(job_id) == "cancelled"
    page.locator(f"#job-{job_id}").get_by_role("button", name="Dựng lại").click()
    page.wait_for_url("**/app/jobs")
    new_id = int(re.search(r"tác vụ #(\d+)", page.get_by_role("status").first.inner_text()).group(1))
    new_row = page.locator(f"#job-{new_id}")
    first = new_row.locator(".percent").inner_text()
    page.evaluate(
        """id => { window.seen = []; window.notReloaded = true;
        new MutationObserver(() => { const p = document.querySelector(`#job-${id} .percent`);
            if (p && window.seen[window.seen.length - 1] !== p.textContent) { window.seen.push(p.textContent); } })
          .observe(document.querySelector('ul.jobs'), {subtree: true, childList: true, characterData: true}); }""",
        new_id,
    )
    screenshot(page, "renders-1-running")
    page.wait_for_function(f"document.querySelector('#job-{new_id} .percent')?.textContent === '100 %'", timeout=180_000)
    audio = new_row.locator("audio").first
    page.wait_for_function("a => a.readyState >= 1 && a.duration > 0", arg=audio.element_handle(), timeout=20_000)
    assert first != "100 %" and page.evaluate("window.seen")[-1] == "100 %" and page.evaluate("window.notReloaded")
    assert audio.evaluate("a => a.duration") > 5 and "Xong" in new_row.inner_text() and "LUFS" in new_row.inner_text()
    screenshot(page, "renders-2-done")


def test_browser_operations_screens_at_desktop_and_on_a_commune_officers_phone(
    signed_in: Callable[..., Any], new_page: Callable[..., Any], fleet: dict[str, Any]
) -> None:
    live = fleet["stations"][0]
    admin = signed_in("admin")
    desktop = {
        "stations": "/app/stations",
        "station": f"/app/stations/{live['id']}",
        "users": "/app/users",
        "jobs": "/app/jobs",
        "emergency": "/app/emergency",
    }
    for name, url in desktop.items():
        admin.goto(url)
        assert admin.get_by_role("heading", level=1).is_visible()
        screenshot(admin, f"ops-{name}")
    admin.goto("/app/users")
    admin.get_by_role("link", name="web-editor", exact=True).click()
    admin.get_by_role("heading", name="Vai trò và địa bàn").wait_for()
    screenshot(admin, "ops-user")
    user_url = admin.url

    officer = scoped_account(f"can-bo-dien-thoai-{time.time_ns()}", "scheduler", fleet["communes"][0]["id"])
    phone = new_page(PHONE)
    browser_sign_in(phone, officer)
    too_wide = {}
    pages = {
        "stations": "/app/stations",
        "station": f"/app/stations/{live['id']}",
        "emergency": "/app/emergency",
        "jobs": "/app/jobs",
    }
    for name, url in pages.items():
        phone.goto(url)
        width, viewport = no_horizontal_scroll(phone)
        if width > viewport:
            too_wide[name] = width
        screenshot(phone, f"phone-officer-{name}")
    phone.goto(f"/app/stations/{live['id']}")
    phone.get_by_role("button", name="Cấp mã mới").click()
    assert phone.locator("#ma-moi").inner_text().startswith("lc_")
    screenshot(phone, "phone-officer-station-token")
    admin_phone = signed_in("admin", PHONE)
    for name, url in (("users", "/app/users"), ("user", user_url)):
        admin_phone.goto(url)
        width, viewport = no_horizontal_scroll(admin_phone)
        if width > viewport:
            too_wide[f"admin-{name}"] = width
        screenshot(admin_phone, f"phone-admin-{name}")
    assert too_wide == {}, f"pages wider than the phone's {PHONE['width']} px: {too_wide}"
