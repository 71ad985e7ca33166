"""The whole newsroom in a real browser, through the real worker: each step by a different person signed in
through the login page, from an uploaded law to a commune officer reading the coverage report.

1. the editor uploads a law, builds a radio column and a loudspeaker bulletin, fixes a flagged word, submits;
2. the legal reviewer requests a change; the editor makes it and resubmits;
3. the reviewer approves;
4. the producer renders, listens (the player's duration is read in the page), approves and publishes;
5. the scheduler creates a weekly slot on a commune and fills the week;
6. the station agent pulls the schedule (broadcast.agent against the live server), plays the bulletin, reports it;
7. the commune officer (a scheduler scoped to the commune) sees the airing on the station's page, in the week
   grid and in the coverage report.
Every screen is saved as var/screenshots/journey-NN-*.png.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.web.conftest import Account, browser_sign_in, screenshot
from tests.web.test_browser import LAW

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
RENDER_WAIT_S = 240


class Shots:
    """Numbered screenshots of the journey: journey-01-..., journey-02-..."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, page: Any, name: str) -> None:
        """Save the next numbered screenshot of `page`."""
        self.n += 1
        screenshot(page, f"journey-{self.n:02d}-{name}")


def _setup(tag: str) -> dict[str, Any]:
    """A province with quiet hours, a commune with one loudspeaker station (its token), and a commune officer."""
    import auth
    from broadcast import service
    from db import session_scope

    with session_scope() as session:
        province = service.create_area(
            session,
            kind="province",
            name=f"Tỉnh Hành trình {tag}",
            quiet_start=datetime.strptime("21:30", "%H:%M").time(),
            quiet_end=datetime.strptime("05:30", "%H:%M").time(),
        )
        commune = service.create_area(session, kind="commune", name=f"Xã Hành trình {tag}", parent_id=province.id)
        station, token = service.create_station(session, area_id=commune.id, name=f"Cụm loa chợ {tag}")
        officer = auth.create_user(session, name=f"can-bo-xa-{tag}", role="scheduler", display_name="Cán bộ xã")
        officer.area_id = commune.id  # a commune officer: a scheduler scoped to the commune
        auth.set_password(session, user=officer, password="mat-khau-can-bo-xa")
        return {
            "commune": commune.id,
            "commune_name": commune.name,
            "station": station.id,
            "station_name": station.name,
            "token": token,
            "officer": Account("scheduler", officer.name, "mat-khau-can-bo-xa"),
        }


class _ToLiveServer(httpx.HTTPTransport):
    """Media URLs carry LAWCAST_BASE_URL, which the test session sets to http://testserver: send them to the live server."""

    def __init__(self, server: str) -> None:
        super().__init__()
        self.live = httpx.URL(server)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request, to the live server when it names http://testserver."""
        if request.url.host == "testserver":
            request.url = request.url.copy_with(scheme=self.live.scheme, host=self.live.host, port=self.live.port)
            request.headers["host"] = f"{self.live.host}:{self.live.port}"
        return super().handle_request(request)


def _client_for(server: str) -> httpx.Client:
    """The station agent's HTTP client (media URLs rewritten to the live server)."""
    return httpx.Client(transport=_ToLiveServer(server), timeout=30)


def _person(new_page: Callable[..., Any], account: Account) -> Any:
    page = new_page()
    browser_sign_in(page, account)
    return page


def _make(page: Any, document_url: str, fmt: str, title: str, shots: Shots) -> str:
    """ "Tạo sản phẩm": tick two articles, choose the format and the title; returns the script editor's URL."""
    page.goto(document_url)
    page.get_by_role("link", name="Tạo sản phẩm từ văn bản này").click()
    page.wait_for_url(re.compile(r"/app/productions/new\?document_id=\d+"))
    boxes = page.locator("input[name=provision]")
    boxes.nth(3).check()
    page.get_by_label("Định dạng").select_option(fmt)
    page.get_by_label("Tiêu đề (mặc định: tên văn bản)").fill(title)
    shots(page, f"new-{fmt}")
    page.get_by_role("button", name="Tạo sản phẩm").click()
    page.wait_for_url(re.compile(r"/app/productions/\d+$"))
    page.locator("li.line").first.wait_for()
    return str(page.url)


def test_newsroom_journey(new_page: Callable[..., Any], accounts: dict[str, Account], tmp_path: Path) -> None:
    from broadcast.agent import StationAgent

    tag = uuid.uuid4().hex[:6]
    place = _setup(tag)
    shots = Shots()
    law = tmp_path / f"luat-hanh-trinh-{tag}.txt"
    law.write_text(
        LAW.read_text(encoding="utf-8").replace("99/2025/QH15", f"{int(tag, 16) % 90 + 10}/2026/QH15"), encoding="utf-8"
    )
    bulletin_title = f"Bản tin loa hành trình {tag}"

    # 1. The editor uploads the law, makes a radio column and a loudspeaker bulletin, fixes a flagged word, submits.
    editor = _person(new_page, accounts["editor"])
    shots(editor, "dashboard-editor")
    editor.goto("/app/documents")
    editor.get_by_label("Tệp văn bản (.txt .docx .pdf .html)").set_input_files(str(law))
    editor.get_by_role("button", name="Tải lên").click()
    editor.wait_for_url(re.compile(r"/app/documents/\d+$"))
    document_url = editor.url
    assert editor.get_by_role("status").filter(has_text="điều khoản").count() == 1
    shots(editor, "document")
    radio_url = _make(editor, document_url, "radio", f"Chuyên mục hành trình {tag}", shots)
    assert editor.locator("li.line").count() >= 2
    shots(editor, "editor-radio")
    bulletin_url = _make(editor, document_url, "loudspeaker", bulletin_title, shots)
    production_id = int(bulletin_url.rsplit("/", 1)[1])
    assert radio_url != bulletin_url
    token = "XKQ" + "".join(c for c in tag.upper() if c.isalpha())[:2].ljust(2, "Z")
    first = editor.locator("li.line").first
    first.get_by_label("Lời thoại").fill(f"Đài truyền thanh {token} thông báo: luật mới có hiệu lực từ ngày 01/07/2026.")
    flag = first.locator("ul.flags li").filter(has_text=token)
    flag.wait_for()
    flag.get_by_label(f"Cách đọc “{token}”").fill("xã hành trình")
    shots(editor, "flagged-word")
    flag.get_by_role("button", name="Thêm vào từ điển").click()
    first.locator("p.ok").filter(has_text=token).wait_for()
    assert "xã hành trình" in first.locator(".spoken").inner_text()
    editor.get_by_role("button", name="Lưu phiên bản").click()
    editor.get_by_role("status").filter(has_text="Đã lưu phiên bản 2").wait_for()
    editor.get_by_role("button", name="Gửi duyệt").click()
    editor.get_by_role("status").filter(has_text="Gửi duyệt").wait_for()
    shots(editor, "submitted")

    # 2. The legal reviewer asks for a change; the editor makes it and sends it again.
    reviewer = _person(new_page, accounts["legal_reviewer"])
    reviewer.goto(f"/app/productions/{production_id}/review")
    reviewer.get_by_label("Nhận xét (bắt buộc khi yêu cầu sửa)").fill("Ghi rõ ngày luật có hiệu lực là 01/07/2026.")
    shots(reviewer, "review")
    reviewer.get_by_role("button", name="Yêu cầu sửa").click()
    reviewer.get_by_role("status").filter(has_text="Yêu cầu sửa").wait_for()
    shots(reviewer, "changes-requested")
    editor.goto(bulletin_url)
    last = editor.locator("li.line").last
    last.get_by_label("Lời thoại").fill("Luật có hiệu lực thi hành kể từ ngày 01/07/2026. Đề nghị bà con thực hiện nghiêm.")
    editor.get_by_role("button", name="Lưu phiên bản").click()
    editor.get_by_role("status").filter(has_text="Đã lưu phiên bản 3").wait_for()
    editor.get_by_role("button", name="Gửi duyệt").click()
    editor.get_by_role("status").filter(has_text="Gửi duyệt").wait_for()

    # 3. The reviewer approves the new version.
    reviewer.goto(f"/app/productions/{production_id}/review?from=2&to=3")
    assert reviewer.locator("table.diff ins").filter(has_text="bà con thực hiện nghiêm").count() >= 1
    reviewer.get_by_role("button", name="Duyệt pháp lý").click()
    reviewer.locator(".meta-line").filter(has_text="duyệt pháp lý: phiên bản 3").wait_for()
    shots(reviewer, "legally-approved")

    # 4. The producer renders through the worker, listens, approves for air and publishes.
    producer = _person(new_page, accounts["producer"])
    producer.goto(bulletin_url)
    producer.get_by_role("button", name="Dựng").click()
    producer.get_by_role("status").filter(has_text="tác vụ dựng").wait_for()
    shots(producer, "render-queued")
    deadline = time.monotonic() + RENDER_WAIT_S
    while producer.locator("figure.output audio").count() == 0:
        assert time.monotonic() < deadline, "the render did not finish in time"
        assert producer.locator(".badge.job-failed").count() == 0, producer.locator("section").last.inner_text()
        time.sleep(2)
        producer.reload()
    audio = producer.locator("figure.output audio").first
    audio.evaluate("a => { a.preload = 'metadata'; a.load(); }")
    producer.wait_for_function("a => a.readyState >= 1 && a.duration > 0", arg=audio.element_handle())
    duration = audio.evaluate("a => a.duration")
    assert 3 < duration < 300, duration
    shots(producer, "rendered")
    producer.get_by_role("button", name="Duyệt phát sóng").click()
    producer.get_by_role("status").filter(has_text="Duyệt phát sóng").wait_for()
    producer.get_by_role("button", name="Phát hành").click()
    producer.get_by_role("status").filter(has_text="Phát hành").wait_for()
    assert producer.locator(".meta-line .badge").first.inner_text() == "Đã phát hành"
    # Published: the script reads as text, with no tools that look usable.
    assert producer.locator("form#script.readonly").count() == 1
    assert producer.locator("form#script [data-move]").count() > 0
    assert not producer.locator("form#script [data-move]").first.is_visible()
    audio = producer.locator("figure.output audio").first
    audio.evaluate("a => { a.preload = 'metadata'; a.load(); }")
    producer.wait_for_function("a => a.readyState >= 1 && a.duration > 0", arg=audio.element_handle())
    shots(producer, "published")

    # 5. The scheduler makes a weekly slot on the commune (tomorrow's weekday, 06:00) and fills the week.
    scheduler = _person(new_page, accounts["scheduler"])
    scheduler.goto(f"/app/schedule?area_id={place['commune']}")
    shots(scheduler, "schedule-empty")
    scheduler.get_by_role("link", name="Tạo khung giờ").click()
    tomorrow = datetime.now(UTC).astimezone(TZ).date() + timedelta(days=1)
    day_names = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
    scheduler.get_by_label(day_names[tomorrow.weekday()], exact=True).check()
    scheduler.get_by_label("Giờ bắt đầu").fill("06:00")
    scheduler.get_by_label("Thời lượng (phút)").fill("30")
    scheduler.get_by_label("Tên khung giờ (không bắt buộc)").fill("Bản tin sáng của xã")
    scheduler.locator("[data-rrule]").filter(has_text=f"FREQ=WEEKLY;BYDAY={BYDAY[tomorrow.weekday()]}").wait_for(state="attached")
    shots(scheduler, "slot-new")
    scheduler.get_by_role("button", name="Tạo khung giờ").click()
    scheduler.wait_for_url(re.compile(r"/app/slots/\d+$"))
    slot_url = scheduler.url
    shots(scheduler, "slot")
    scheduler.goto(f"/app/schedule?area_id={place['commune']}")
    scheduler.get_by_role("button", name="Lấp lịch").click()
    scheduler.get_by_role("heading", name=re.compile("^Lấp lịch")).wait_for()
    shots(scheduler, "filled")
    scheduler.goto(slot_url)
    occurrence = scheduler.locator("article.occurrence").first
    if (
        occurrence.locator("ol li").filter(has_text=bulletin_title).count() == 0
    ):  # other approved bulletins of the test session took the time
        occurrence.get_by_label("Ghim sản phẩm").select_option(label=re.compile(re.escape(bulletin_title)))
        occurrence.get_by_role("button", name="Ghim").click()
        scheduler.get_by_role("status").filter(has_text="Đã ghim").wait_for()
        occurrence = scheduler.locator("article.occurrence").first
    assert occurrence.locator("ol li").filter(has_text=bulletin_title).count() == 1
    shots(scheduler, "slot-filled")
    year, week, _ = tomorrow.isocalendar()
    scheduler.goto(f"/app/schedule?area_id={place['commune']}&week={year}-W{week:02d}")
    chip = scheduler.locator("details.chip").filter(has_text=bulletin_title)
    assert "Lý do" in (chip.get_attribute("title") or "")
    chip.locator("summary").click()
    shots(scheduler, "schedule-week")

    # 6. The station agent pulls its schedule from the live server, downloads the bulletin, plays it and reports it.
    server = re.match(r"https?://[^/]+", scheduler.url).group(0)
    moment = {"now": datetime.now(UTC)}
    agent = StationAgent(server, place["token"], tmp_path / "agent", clock=lambda: moment["now"], client=_client_for(server))
    try:
        assert agent.sync() is True
        ours = [item for item in agent.state.schedule if item.get("title") == bulletin_title]
        assert len(ours) == 1, [item.get("title") for item in agent.state.schedule]
        agent.download()
        moment["now"] = datetime.fromisoformat(str(ours[0]["start"])) + timedelta(seconds=1)
        due = [item for item in agent.due() if item["airing_id"] == ours[0]["airing_id"]]
        assert due, "the bulletin is not due at its start time (media not cached?)"
        agent.play(due[0])
        assert agent.report() >= 1 and agent.state.outbox == []
    finally:
        agent.close()

    # 7. The commune officer sees the airing on the station's page, in the week grid and in the coverage report.
    officer = _person(new_page, place["officer"])
    officer.goto(f"/app/stations/{place['station']}")
    assert officer.get_by_text(bulletin_title).count() >= 1
    shots(officer, "officer-station")
    officer.goto(f"/app/schedule?week={year}-W{week:02d}")
    assert place["commune_name"] in officer.get_by_role("heading", level=1).inner_text()
    assert officer.locator("details.chip").filter(has_text=bulletin_title).count() == 1
    shots(officer, "officer-schedule")
    officer.goto("/app/reports")
    officer.get_by_label("Đến ngày").fill(tomorrow.isoformat())
    officer.get_by_role("button", name="Xem báo cáo").click()
    officer.wait_for_url(re.compile(r"/app/reports\?"))
    row = officer.locator("section", has=officer.get_by_role("heading", name=re.compile("Theo sản phẩm"))).locator(
        "tr", has_text=bulletin_title
    )
    assert [cell.strip() for cell in row.locator("td").all_text_contents()][1:3] == ["1", "1"]
    assert officer.locator("svg.chart").first.is_visible()
    shots(officer, "officer-report")
