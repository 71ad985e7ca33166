"""Schedule, slots, "Lấp lịch", pins and coverage reports: over HTTP as a signed-in scheduler, and on a phone.

Areas, stations and approved bulletins are made through the services (set-up); every step under test goes
through the pages. An approved bulletin's render is a row with a placeholder file: the fill and the pins only
read its profile and duration (the journey test renders for real through the worker).
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.web.conftest import PHONE, Account, existing_user, no_horizontal_scroll, screenshot, sign_in
from tests.web.test_browser import LAW

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def areas(tag: str, *, communes: int = 2, stations: int = 3) -> dict[str, Any]:
    """A province (quiet hours 21:30–05:30) with a district, `communes` communes and `stations` stations in each."""
    from broadcast import service
    from db import session_scope

    with session_scope() as session:
        province = service.create_area(
            session, kind="province", name=f"Tỉnh {tag}", quiet_start=time(21, 30), quiet_end=time(5, 30)
        )
        district = service.create_area(session, kind="district", name=f"Huyện {tag}", parent_id=province.id)
        made: dict[str, Any] = {"province": province.id, "district": district.id, "communes": [], "stations": {}, "tokens": {}}
        for c in range(communes):
            commune = service.create_area(session, kind="commune", name=f"Xã {tag} {c}", parent_id=district.id)
            made["communes"].append(commune.id)
            for s in range(stations):
                station, token = service.create_station(session, area_id=commune.id, name=f"Cụm loa {tag} {c}.{s}")
                made["stations"].setdefault(commune.id, []).append(station.id)
                made["tokens"][station.id] = token
        return made


def approved_bulletin(accounts: dict[str, Account], title: str, *, seconds: float = 60.0) -> tuple[int, int]:
    """A loudspeaker bulletin approved for air by three people, with a finished render row; (production, output)."""
    from db import session_scope
    from studio import scripting, service, workflow
    from studio.models import Output, RenderJob

    with session_scope() as session:
        editor = existing_user(session, accounts["editor"].name)
        doc = service.create_document(session, text=LAW.read_text(encoding="utf-8"), user=editor)
        first = next(row.id for row in doc.provisions if row.kind == "dieu")
        production = scripting.create_production(
            session, document_id=doc.id, format="loudspeaker", user=editor, provision_ids=[first], title=title
        ).productions[0]
        for key, action in (("editor", "submit"), ("legal_reviewer", "approve_legal"), ("producer", "approve")):
            workflow.transition(session, production=production, action=action, user=existing_user(session, accounts[key].name))
        job = RenderJob(
            production_id=production.id,
            script_version=production.approved_version,
            profile="loudspeaker",
            content_hash=uuid.uuid4().hex * 2,
            status="succeeded",
            progress=1.0,
            stage="done",
        )
        session.add(job)
        session.flush()
        output = Output(
            job_id=job.id,
            production_id=production.id,
            script_version=production.approved_version,
            profile="loudspeaker",
            kind="audio",
            media_key=f"test/{job.id}.mp3",
            mime_type="audio/mpeg",
            bytes=1000,
            sha256=uuid.uuid4().hex * 2,
            duration_s=seconds,
        )
        session.add(output)
        session.flush()
        return production.id, output.id


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def alert(html: str) -> str:
    """The text of a page's error alert."""
    found = re.search(r'<div class="alert error" role="alert">(.*?)</div>', html, re.S)
    assert found, "no error alert on the page"
    return re.sub(r"<[^>]+>", " ", found.group(1)).replace("&#39;", "'")


def local_today() -> date:
    """Today in the schedule's timezone."""
    return datetime.now(UTC).astimezone(TZ).date()


def new_slot(client: TestClient, csrf: str, target: str, **fields: Any) -> Any:
    """Post the new-slot form."""
    data = {
        "csrf_token": csrf,
        "target": target,
        "start_time": "06:00",
        "duration_min": "15",
        "dtstart": local_today().isoformat(),
        "interval": "1",
        "overrun": "cut",
        **fields,
    }
    return client.post("/app/slots/new", data=data, follow_redirects=False)


def test_slot_form_writes_the_rule_and_refuses_readably(web_client: TestClient, accounts: dict[str, Account]) -> None:
    made = areas(f"rule-{uuid.uuid4().hex[:6]}")
    commune = made["communes"][0]
    csrf = sign_in(web_client, accounts["scheduler"])
    form = web_client.get(f"/app/slots/new?target=area:{commune}").text
    assert [f'value="{code}"' in form for code in BYDAY] == [True] * 7 and 'type="time"' in form
    assert f'value="area:{commune}" selected' in form  # the target from the schedule page, chosen in the area tree
    until = (local_today() + timedelta(days=90)).isoformat()
    made_slot = new_slot(web_client, csrf, f"area:{commune}", days=["MO", "TH"], interval="2", until=until, name="Bản tin sáng")
    assert made_slot.status_code == 303, made_slot.text
    page = web_client.get(made_slot.headers["location"]).text
    rule = f"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL={until.replace('-', '')}T235959"
    assert rule in page and "Thứ Hai, Thứ Năm lúc 06:00, 15 phút, mỗi 2 tuần một lần" in page

    quiet = new_slot(web_client, csrf, f"area:{commune}", days=["TU"], start_time="05:00")
    assert quiet.status_code == 409 and "giờ yên tĩnh 21:30–05:30" in alert(quiet.text)
    overlap = new_slot(web_client, csrf, f"station:{made['stations'][commune][0]}", days=["MO"], start_time="06:10")
    assert overlap.status_code == 409 and "trùng với 'Bản tin sáng'" in alert(overlap.text)
    assert 'value="06:10"' in overlap.text  # the form comes back as typed
    nothing = new_slot(web_client, csrf, f"area:{commune}", days=[])
    assert nothing.status_code == 422 and "ít nhất một ngày" in alert(nothing.text)
    preview = web_client.post(
        "/app/slots/preview",
        data={
            "csrf_token": csrf,
            "target": f"area:{commune}",
            "days": ["SA"],
            "start_time": "07:30",
            "duration_min": "20",
            "dtstart": local_today().isoformat(),
            "interval": "1",
        },
    )
    assert "FREQ=WEEKLY;BYDAY=SA" in preview.text and "Thứ Bảy lúc 07:30, 20 phút" in preview.text


def test_week_grid_days_are_local_across_the_week_boundary(web_client: TestClient, accounts: dict[str, Account]) -> None:
    from broadcast.models import Airing
    from db import session_scope

    made = areas(f"grid-{uuid.uuid4().hex[:6]}", communes=1, stations=1)
    production_id, output_id = approved_bulletin(accounts, "Bản tin đầu tuần")
    monday = local_today() + timedelta(days=7 - local_today().weekday())
    start = datetime.combine(monday, time(6, 0), tzinfo=TZ).astimezone(UTC)  # 23:00 UTC on the Sunday before
    with session_scope() as session:
        session.add(
            Airing(
                plan_id=None,
                target_kind="area",
                target_id=made["communes"][0],
                production_id=production_id,
                output_id=output_id,
                start=start,
                end=start + timedelta(minutes=1),
                priority="priority",
                status="published",
                reason="Lý do thử: đầu tuần",
            )
        )
    sign_in(web_client, accounts["scheduler"])
    year, week, _ = monday.isocalendar()
    page = web_client.get(f"/app/schedule?area_id={made['communes'][0]}&week={year}-W{week:02d}").text
    monday_column = page.split(f'id="wg-main-{monday.isoformat()}"')[1].split('<section class="wg-day')[0]
    assert "Bản tin đầu tuần" in monday_column and "<time" in monday_column and ">06:00</time>" in monday_column
    assert 'title="06:00 (01:00) · Bản tin đầu tuần · Mức ưu tiên: Ưu tiên · Lý do: Lý do thử: đầu tuần"' in monday_column
    assert "<summary>" in monday_column and 'class="chip-body"' in monday_column  # tap to open on a phone
    before = (monday - timedelta(days=1)).isocalendar()
    earlier = web_client.get(f"/app/schedule?area_id={made['communes'][0]}&week={before[0]}-W{before[1]:02d}").text
    assert "Bản tin đầu tuần" not in earlier and f"week={year}-W{week:02d}" in earlier  # the next-week link
    assert web_client.get("/app/schedule?week=2026-W60").status_code == 422


def test_fill_lists_underfilled_slots_then_pin_and_exceptions(web_client: TestClient, accounts: dict[str, Account]) -> None:
    from broadcast.models import Occurrence
    from db import session_scope

    made = areas(f"fill-{uuid.uuid4().hex[:6]}", communes=1, stations=2)
    commune = made["communes"][0]
    production_id, _output = approved_bulletin(accounts, f"Bản tin ghim {uuid.uuid4().hex[:4]}")
    csrf = sign_in(web_client, accounts["scheduler"])
    tomorrow = local_today() + timedelta(days=1)
    created = new_slot(
        web_client,
        csrf,
        f"area:{commune}",
        days=[BYDAY[tomorrow.weekday()]],
        start_time="08:00",
        duration_min="360",
        name="Khung dài cả buổi",
    )
    assert created.status_code == 303, created.text
    slot_id = int(created.headers["location"].rsplit("/", 1)[1])
    filled = web_client.post(
        "/app/schedule/fill", data={"csrf_token": csrf, "start": tomorrow.isoformat(), "end": tomorrow.isoformat()}
    )
    assert filled.status_code == 200
    gap = filled.text.split(f'href="/app/slots/{slot_id}"')[1].split("</tr>")[0]
    assert "Khung dài cả buổi" in gap and "còn trống" in gap  # six hours cannot be filled: the reason says why
    page = web_client.get(f"/app/slots/{slot_id}").text
    occurrence_id = int(re.search(r'name="occurrence_id" value="(\d+)"', page).group(1))
    pinned = web_client.post(
        f"/app/slots/{slot_id}/pins",
        data={"csrf_token": csrf, "occurrence_id": occurrence_id, "production_id": production_id},
        follow_redirects=True,
    )
    assert pinned.status_code == 200 and "Đã ghim" in pinned.text and "Xếp thủ công (ghim)" in pinned.text

    cancel = web_client.post(
        f"/app/slots/{slot_id}/exceptions",
        data={"csrf_token": csrf, "day": tomorrow.isoformat(), "action": "cancel"},
        follow_redirects=True,
    )
    assert f"Đã huỷ ngày {tomorrow:%d/%m/%Y}" in cancel.text and tomorrow.isoformat() in cancel.text
    extra = tomorrow + timedelta(days=2)
    added = web_client.post(
        f"/app/slots/{slot_id}/exceptions",
        data={"csrf_token": csrf, "day": extra.isoformat(), "action": "add"},
        follow_redirects=True,
    )
    assert f"Đã thêm ngày {extra:%d/%m/%Y}" in added.text
    with session_scope() as session:
        starts = [o.start.replace(tzinfo=UTC).astimezone(TZ).date() for o in session.query(Occurrence).filter_by(slot_id=slot_id)]
    assert tomorrow not in starts and extra in starts


def test_province_grid_collapses_stations_by_commune(web_client: TestClient, accounts: dict[str, Account]) -> None:
    from broadcast import airings, service
    from broadcast.models import Occurrence
    from db import session_scope

    made = areas(f"prov-{uuid.uuid4().hex[:6]}", communes=2, stations=3)
    approved_bulletin(accounts, "Bản tin theo xã")
    tomorrow = local_today() + timedelta(days=1)
    with session_scope() as session:
        slots = [
            service.create_slot(
                session,
                name="Loa sáng",
                target_kind="station",
                target_id=station,
                rrule="FREQ=DAILY",
                start_time=time(6, 30),
                duration_s=600,
                dtstart=local_today(),
            )
            for station in made["stations"][made["communes"][0]]
        ]
        service.expand(session, slots=slots, horizon_days=3)
        ids = [o.id for slot in slots for o in session.query(Occurrence).filter_by(slot_id=slot.id)]
        begin = datetime.combine(tomorrow, time(0), tzinfo=TZ)
        airings.fill(session, start=begin, end=begin + timedelta(days=1), freshness_days=0, occurrence_ids=ids)
    sign_in(web_client, accounts["scheduler"])
    year, week, _ = tomorrow.isocalendar()
    page = web_client.get(f"/app/schedule?area_id={made['province']}&week={year}-W{week:02d}").text
    lanes = page.split('class="lanes"')[1]
    first, second = (lanes.split(f"key=area:{commune}&")[1].split("</details>")[0] for commune in made["communes"])
    assert re.search(r"3 trạm · [1-9]\d* lượt khung giờ", first) and "3 trạm · 0 lượt khung giờ" in second
    assert "06:30–06:40 (3/3)" in first  # the window on the day's strip, in its tooltip: filled at three stations of three
    lane = web_client.get(f"/app/schedule/lane?area_id={made['province']}&key=area:{made['communes'][0]}&week={year}-W{week:02d}")
    assert lane.status_code == 200 and "×3" in lane.text  # the same airing at three stations is one chip


def test_coverage_report_with_csv_and_xlsx(web_client: TestClient, accounts: dict[str, Account]) -> None:
    from openpyxl import load_workbook

    from broadcast.models import Airing
    from db import session_scope

    made = areas(f"cov-{uuid.uuid4().hex[:6]}", communes=1, stations=2)
    commune = made["communes"][0]
    title = f"Bản tin phủ sóng {uuid.uuid4().hex[:4]}"
    production_id, output_id = approved_bulletin(accounts, title)
    start = datetime.now(UTC) - timedelta(hours=2)
    with session_scope() as session:
        airing = Airing(
            plan_id=None,
            target_kind="area",
            target_id=commune,
            production_id=production_id,
            output_id=output_id,
            start=start,
            end=start + timedelta(minutes=1),
            priority="normal",
            status="published",
            reason="thử",
        )
        session.add(airing)
        session.flush()
        airing_id = airing.id
    station = made["stations"][commune][0]
    report = web_client.post(
        f"/stations/{station}/plays",
        headers={"Authorization": f"Bearer {made['tokens'][station]}"},
        json={"plays": [{"airing_id": airing_id, "played_at": start.isoformat(), "duration_s": 60}]},
    )
    assert report.status_code == 200 and report.json()["stored"] == 1
    sign_in(web_client, accounts["scheduler"])
    page = web_client.get(f"/app/reports?area_id={commune}").text
    assert re.search(r"Đã xếp lịch: <strong>2</strong>", page) and re.search(r"Đã phát: <strong>1</strong>", page)
    assert "50 %" in page and page.count('<svg class="chart"') == 4 and title in page
    query = re.search(r'href="/app/reports/coverage\.csv\?([^"]+)"', page).group(1).replace("&amp;", "&")
    csv = web_client.get(f"/app/reports/coverage.csv?{query}")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("\ufeffarea_id,")
    assert len(csv.text.strip().splitlines()) == 3 and title in csv.text
    xlsx = web_client.get(f"/app/reports/coverage.xlsx?{query}")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Tổng hợp", "Chi tiết", "Theo địa bàn", "Theo trạm", "Theo sản phẩm", "Theo kênh"]
    by_production = [row for row in book["Theo sản phẩm"].iter_rows(values_only=True) if row[1] == title]
    assert by_production == [(production_id, title, 2, 1, 1, 0.5)]


def test_scoped_officer_sees_only_their_commune(web_client: TestClient, accounts: dict[str, Account]) -> None:
    import auth
    from db import session_scope

    made = areas(f"scope-{uuid.uuid4().hex[:6]}", communes=2, stations=1)
    mine, other = made["communes"]
    name = f"can-bo-{uuid.uuid4().hex[:6]}"
    with session_scope() as session:
        officer = auth.create_user(session, name=name, role="scheduler")
        officer.area_id = mine
        auth.set_password(session, user=officer, password="mat-khau-can-bo-xa")
    csrf = sign_in(web_client, Account("scheduler", name, "mat-khau-can-bo-xa"))
    own = web_client.get("/app/schedule")
    assert own.status_code == 200 and 'name="area_id"' in own.text
    assert f'<option value="{mine}" selected' in own.text and f'value="{other}"' not in own.text
    assert web_client.get(f"/app/schedule?area_id={other}").status_code == 404
    assert web_client.get(f"/app/schedule?station_id={made['stations'][other][0]}").status_code == 404
    assert web_client.get(f"/app/reports?area_id={other}").status_code == 404
    refused = new_slot(web_client, csrf, f"area:{other}", days=["MO"])
    assert refused.status_code == 404 and "Không có địa bàn" in alert(refused.text)


def test_plan_pages_fit_a_phone(signed_in: Callable[..., Any], accounts: dict[str, Account]) -> None:
    made = areas(f"phone-{uuid.uuid4().hex[:6]}", communes=2, stations=2)
    approved_bulletin(accounts, "Bản tin điện thoại")
    page = signed_in("scheduler", PHONE)
    page.goto(f"/app/slots/new?target=area:{made['communes'][0]}")
    page.get_by_label("Thứ Hai").check()
    page.get_by_label("Thứ Năm").check()
    page.get_by_label("Giờ bắt đầu").fill("07:15")
    page.locator("[data-rrule]").filter(has_text="BYDAY=MO,TH").wait_for(state="attached")  # the rule follows the ticks
    page.get_by_text("Quy tắc lặp (RRULE) cho chuyên gia").click()
    assert page.locator("[data-rrule]").inner_text() == "FREQ=WEEKLY;BYDAY=MO,TH"
    assert page.locator("#slot-preview strong").inner_text().startswith("Thứ Hai, Thứ Năm lúc 07:15, 15 phút")
    screenshot(page, "phone-slot-new")
    page.get_by_role("button", name="Tạo khung giờ").click()
    page.wait_for_url(re.compile(r"/app/slots/\d+$"))
    pages = {
        "slot": page.url,
        "schedule": f"/app/schedule?area_id={made['communes'][0]}",
        "schedule-province": f"/app/schedule?area_id={made['province']}",
        "reports": "/app/reports",
    }
    too_wide = {}
    for name, url in pages.items():
        page.goto(url)
        width, viewport = no_horizontal_scroll(page)
        if width > viewport:
            too_wide[name] = width
        screenshot(page, f"phone-{name}")
    page.goto(pages["schedule"])
    page.get_by_role("button", name="Lấp lịch").click()
    page.get_by_role("heading", name=re.compile("Lấp lịch")).wait_for()
    too_wide.update({"fill": no_horizontal_scroll(page)[0]} if no_horizontal_scroll(page)[0] > PHONE["width"] else {})
    screenshot(page, "phone-fill")
    assert too_wide == {}, f"pages wider than the phone's {PHONE['width']} px: {too_wide}"
