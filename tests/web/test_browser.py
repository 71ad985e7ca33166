"""The staff pages in a real browser (Debian's chromium through Playwright) against a real uvicorn server.

Each test signs in through the login page. Screenshots of every screen go to var/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.conftest import ROOT
from tests.web.conftest import PHONE, SCREENSHOTS, Account, browser_sign_in, no_horizontal_scroll, screenshot

LAW = ROOT / "tests" / "data" / "luat-sua-doi-mau.txt"


def make_production(author: str, *, title: str) -> int:
    """A document and a radio production written by `author`, through the services (set-up, not under test)."""
    import auth
    from db import session_scope
    from studio import scripting, service

    with session_scope() as session:
        user = auth.user_by_name(session, author)
        assert user is not None
        doc = service.create_document(session, text=LAW.read_text(encoding="utf-8"), user=user)
        articles = [row.id for row in doc.provisions if row.kind == "dieu"][:2]
        created = scripting.create_production(
            session, document_id=doc.id, format="radio", user=user, provision_ids=articles, title=title
        )
        return created.productions[0].id


def test_sign_in_dashboard_and_sign_out(new_page: Callable[..., Any], accounts: dict[str, Account]) -> None:
    page = new_page()
    page.goto("/app/")
    assert "/app/login" in page.url  # no session: the sign-in page, coming back to /app/ afterwards
    screenshot(page, "01-login")
    browser_sign_in(page, accounts["editor"])
    assert page.get_by_role("heading", name="Việc của tôi", level=1).is_visible()
    assert page.get_by_role("heading", name=re.compile("Bản nháp của tôi")).is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "lc_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    screenshot(page, "02-dashboard-editor")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/app/login")
    page.goto("/app/documents")
    assert "/app/login?next=%2Fapp%2Fdocuments" in page.url


def test_repeated_failures_lock_the_account(new_page: Callable[..., Any], stack: Any) -> None:
    import auth
    from db import session_scope

    with session_scope() as session:
        user = auth.user_by_name(session, "web-lockout") or auth.create_user(session, name="web-lockout", role="editor")
        auth.set_password(session, user=user, password="dung-mat-khau-1")
    page = new_page()
    for attempt in range(auth.MAX_FAILURES):
        page.goto("/app/login")
        page.get_by_label("Tên đăng nhập").fill("web-lockout")
        page.get_by_label("Mật khẩu").fill(f"sai-{attempt}")
        page.get_by_role("button", name="Đăng nhập").click()
    assert page.get_by_role("alert").filter(has_text="tạm khoá").is_visible()
    screenshot(page, "03-login-locked")
    page.get_by_label("Mật khẩu").fill("dung-mat-khau-1")  # the right password no longer opens it
    page.get_by_role("button", name="Đăng nhập").click()
    assert "/app/login" in page.url and page.get_by_role("alert").filter(has_text="tạm khoá").is_visible()
    with session_scope() as session:
        locked = auth.user_by_name(session, "web-lockout")
        assert locked is not None and locked.failed_count == auth.MAX_FAILURES and locked.last_failed_at is not None


def test_change_without_csrf_token_is_refused_with_a_page(signed_in: Callable[..., Any]) -> None:
    page = signed_in("editor")
    page.evaluate("document.querySelector('form.account input[name=csrf_token]').value = 'forged'")
    page.get_by_role("button", name="Đăng xuất").click()
    assert page.get_by_role("heading", name="Yêu cầu bị từ chối").is_visible()
    assert "CSRF" in page.get_by_role("alert").inner_text()
    screenshot(page, "04-csrf-refused")
    page.goto("/app/")
    assert page.get_by_role("heading", name="Việc của tôi").is_visible()  # still signed in: nothing happened


def test_upload_a_file_then_make_a_production(signed_in: Callable[..., Any]) -> None:
    page = signed_in("editor")
    page.goto("/app/documents")
    page.get_by_label("Tệp văn bản (.txt .docx .pdf .html)").set_input_files(str(LAW))
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_url(re.compile(r"/app/documents/\d+$"))
    assert "TRUYỀN THANH CƠ SỞ" in page.get_by_role("heading", level=1).inner_text().upper()
    assert page.locator("ul.tree details").count() >= 2  # the provision tree, collapsible
    assert page.get_by_role("status").filter(has_text="điều khoản").is_visible()  # the flash message
    screenshot(page, "05-document")
    page.get_by_role("link", name="Tạo sản phẩm từ văn bản này").click()
    page.wait_for_url(re.compile(r"/app/productions/new\?document_id=\d+"))
    boxes = page.locator("input[name=provision]")
    boxes.nth(3).check()
    boxes.nth(4).check()
    page.get_by_label("Định dạng").select_option("loudspeaker")
    page.get_by_label("Tiêu đề (mặc định: tên văn bản)").fill("Bản tin thử trình duyệt")
    screenshot(page, "06-new-production")
    page.get_by_role("button", name="Tạo sản phẩm").click()
    page.wait_for_url(re.compile(r"/app/productions/\d+$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Bản tin thử trình duyệt")
    assert page.locator("li.line").count() >= 2
    page.goto("/app/documents?q=truyen thanh co so")  # accents folded
    assert page.locator("#ket-qua a", has_text=re.compile("TRUYỀN THANH", re.I)).count() >= 1
    screenshot(page, "07-documents-search")


def test_drop_a_file_on_the_upload_box(signed_in: Callable[..., Any]) -> None:
    page = signed_in("editor")
    page.goto("/app/documents")
    text = LAW.read_text(encoding="utf-8").replace("99/2025/QH15", "98/2025/QH15")
    page.evaluate(
        """text => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([text], 'keo-tha.txt', {type: 'text/plain'}));
        document.querySelector('[data-dropzone]').dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""",
        text,
    )
    assert page.evaluate("document.getElementById('file').files[0].name") == "keo-tha.txt"
    page.evaluate("""() => document.addEventListener('htmx:xhr:progress', () =>
        sessionStorage.setItem('progress', document.getElementById('upload-progress').value))""")
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_url(re.compile(r"/app/documents/\d+$"))
    assert page.evaluate("sessionStorage.getItem('progress')") == "100"  # the progress bar followed the upload
    assert page.get_by_text("keo-tha.txt").is_visible()  # the source file's name in the metadata


def test_script_editor_preview_save_and_listen(signed_in: Callable[..., Any]) -> None:
    production_id = make_production("web-editor", title="Kịch bản thử nghe")
    page = signed_in("editor")
    page.goto(f"/app/productions/{production_id}")
    first = page.locator("li.line").first
    first.get_by_label("Lời thoại").fill("Theo Nghị định 15/2020/NĐ-CP, ông XKCDQ phải nộp phạt 1.500.000 đồng.")
    first.locator(".spoken").filter(has_text="một triệu năm trăm nghìn đồng").wait_for()  # read as the editor types
    flag = first.locator("ul.flags li").filter(has_text="XKCDQ")
    flag.wait_for()
    flag.get_by_label("Cách đọc “XKCDQ”").fill("ích ca xê đê quy")
    flag.get_by_role("button", name="Thêm vào từ điển").click()
    first.locator("p.ok").filter(has_text="XKCDQ").wait_for()  # one click: the lexicon entry, and the line read again
    assert "ích ca xê đê quy" in first.locator(".spoken").inner_text()
    lines_before = page.locator("li.line").count()
    page.get_by_role("button", name="Thêm dòng").click()
    page.locator("li.line").last.get_by_label("Lời thoại").fill("Dòng mới thêm ở cuối.")
    page.locator("li.line").nth(1).get_by_role("button", name="Chuyển dòng lên").click()
    screenshot(page, "08-editor")
    page.get_by_role("button", name="Lưu phiên bản").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").filter(has_text="Đã lưu phiên bản 2").is_visible()
    assert page.locator("li.line").count() == lines_before + 1
    assert page.locator("li.line").last.get_by_label("Lời thoại").input_value() == "Dòng mới thêm ở cuối."

    line = page.locator("li.line").last
    line.get_by_role("button", name="Nghe thử").click()
    audio = line.locator("audio")
    page.wait_for_function("a => a.readyState >= 1 && a.duration > 0", arg=audio.element_handle())
    duration = audio.evaluate("a => a.duration")
    assert 0.5 < duration < 10
    # A cached phrase: measured from the page, without the browser's cache.
    timing = page.evaluate(
        """async text => {
        const url = '/app/speech/say?speaker=presenter&text=' + encodeURIComponent(text);
        const began = performance.now();
        const answer = await fetch(url, {cache: 'no-store'});
        await answer.arrayBuffer();
        return {ms: performance.now() - began, cache: answer.headers.get('x-phrase-cache'),
                server: answer.headers.get('server-timing'), type: answer.headers.get('content-type')};
    }""",
        "Dòng mới thêm ở cuối.",
    )
    assert timing["cache"] == "hit" and timing["type"] == "audio/wav"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "nghe-thu-timing.json").write_text(json.dumps(timing), encoding="utf-8")


def test_review_four_eyes_refusal_then_request_changes(signed_in: Callable[..., Any], accounts: dict[str, Account]) -> None:
    production_id = make_production("web-admin", title="Sản phẩm duyệt bốn mắt")
    admin = signed_in("admin")
    admin.goto(f"/app/productions/{production_id}/review")
    admin.get_by_role("button", name="Gửi duyệt").click()
    admin.wait_for_url(f"**/app/productions/{production_id}/review")
    admin.get_by_role("button", name="Duyệt pháp lý").click()
    refusal = admin.get_by_role("alert")
    assert "bốn mắt" in refusal.inner_text() and "Traceback" not in admin.content()
    screenshot(admin, "09-review-four-eyes")

    reviewer = signed_in("legal_reviewer")
    reviewer.goto(f"/app/productions/{production_id}/review")
    reviewer.get_by_label("Nhận xét (bắt buộc khi yêu cầu sửa)").fill("Trích dẫn Điều 2 chưa đủ.")
    reviewer.get_by_role("button", name="Yêu cầu sửa").click()
    reviewer.wait_for_url(f"**/app/productions/{production_id}/review")
    assert reviewer.get_by_role("status").filter(has_text="Yêu cầu sửa").is_visible()
    timeline = reviewer.locator("ol.timeline")
    assert "Trích dẫn Điều 2 chưa đủ." in timeline.inner_text() and accounts["legal_reviewer"].name in timeline.inner_text()

    editor = signed_in("editor2")  # a second editor fixes it; the admin wrote version 1
    editor.goto(f"/app/productions/{production_id}")
    editor.locator("li.line").first.get_by_label("Lời thoại").fill("Điều 2 áp dụng đối với mọi trạm truyền thanh cơ sở.")
    editor.get_by_role("button", name="Lưu phiên bản").click()
    editor.get_by_role("status").filter(has_text="Đã lưu phiên bản 2").wait_for()
    editor.get_by_role("button", name="Gửi duyệt").click()
    editor.wait_for_url(f"**/app/productions/{production_id}")

    reviewer.goto(f"/app/productions/{production_id}/review?from=1&to=2")
    assert reviewer.locator("table.diff ins").filter(has_text="mọi trạm truyền thanh").count() == 1
    reviewer.get_by_role("button", name="Duyệt pháp lý").click()
    reviewer.wait_for_url(f"**/app/productions/{production_id}/review")
    assert reviewer.locator(".meta-line").filter(has_text="duyệt pháp lý: phiên bản 2").is_visible()
    screenshot(reviewer, "10-review")


def test_every_page_fits_a_phone(signed_in: Callable[..., Any]) -> None:
    production_id = make_production("web-editor", title="Trang điện thoại")
    page = signed_in("editor", PHONE)
    import auth
    from db import session_scope
    from studio import service

    with session_scope() as session:
        document_id = service.get_production(session, production_id).document_id
        assert auth.user_by_name(session, "web-editor") is not None
    pages = {
        "dashboard": "/app/",
        "documents": "/app/documents",
        "document": f"/app/documents/{document_id}",
        "productions": "/app/productions",
        "new-production": f"/app/productions/new?document_id={document_id}",
        "editor": f"/app/productions/{production_id}",
        "review": f"/app/productions/{production_id}/review",
        "not-found": "/app/documents/987654321",
    }
    too_wide = {}
    for name, url in pages.items():
        page.goto(url)
        width, viewport = no_horizontal_scroll(page)
        if width > viewport:
            too_wide[name] = width
        screenshot(page, f"phone-{name}")
    assert too_wide == {}, f"pages wider than the phone's {PHONE['width']} px: {too_wide}"
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/app/login")
    assert no_horizontal_scroll(page)[0] <= PHONE["width"]
    screenshot(page, "phone-login")
