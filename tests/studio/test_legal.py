"""studio.engine.text.legal: text extraction (.txt .docx .pdf .html), cleaning, header metadata and the provision tree."""

from __future__ import annotations

import dataclasses
import io
import os
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from studio.engine.text import legal
from studio.engine.text.legal import DocumentError, ParsedDocument, Provision, clean_text, extract_text, parse_document

ROOT = Path(__file__).resolve().parents[2]
SHARED_SAMPLE = ROOT / "tests" / "data" / "nghi-quyet-mau-truyen-thanh.txt"  # the project's shared sample, copied in
AMENDING = ROOT / "tests" / "data" / "luat-sua-doi-mau.txt"
BUNDLED = ROOT / "assets" / "defaults" / "sample-law.txt"
FONT = ROOT / "assets" / "defaults" / "fonts" / "DejaVuSans.ttf"


def outline(doc: ParsedDocument) -> list[tuple[int, str, str, str, str, str]]:
    """(depth, kind, number, label, heading, key) for every provision, in document order."""
    rows: list[tuple[int, str, str, str, str, str]] = []

    def visit(node: Provision, depth: int) -> None:
        rows.append((depth, node.kind, node.number, node.label, node.heading, node.key))
        for child in node.children:
            visit(child, depth + 1)

    for root in doc.provisions:
        visit(root, 0)
    return rows


Tree = tuple[str, str, str, str, str, tuple["Tree", ...]]


def node(kind: str, number: str, label: str, heading: str, text: str, *children: Tree) -> Tree:
    """An expected provision: what the parser must give for kind, number, label, heading and own text."""
    return (kind, number, label, heading, text, children)


def tree(doc: ParsedDocument) -> list[Tree]:
    """The whole parsed tree in the shape of `node`, for exact comparison."""

    def visit(p: Provision) -> Tree:
        return (p.kind, p.number, p.label, p.heading, p.text, tuple(visit(c) for c in p.children))

    return [visit(root) for root in doc.provisions]


def by_key(doc: ParsedDocument) -> dict[str, Provision]:
    return {p.key: p for root in doc.provisions for p in root.walk()}


def assert_well_formed(doc: ParsedDocument) -> None:
    keys = [p.key for root in doc.provisions for p in root.walk()]
    assert len(keys) == len(set(keys))
    for root in doc.provisions:
        for node in root.walk():
            assert node.kind in legal.PROVISION_KINDS
            for child in node.children:
                assert child.key.startswith(node.key + "/")
                assert legal.PROVISION_KINDS.index(child.kind) > legal.PROVISION_KINDS.index(node.kind)


# --- the shared sample resolution -------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_text() -> str:
    return SHARED_SAMPLE.read_text(encoding="utf-8")


K, D = "khoan", "diem"

# Written from the sample's text by hand: every node's kind, number, label, heading and own text.
SHARED_TREE = [
    node(
        "chuong",
        "I",
        "Chương I",
        "QUY ĐỊNH CHUNG",
        "",
        node(
            "dieu",
            "1",
            "Điều 1",
            "Phạm vi điều chỉnh và đối tượng áp dụng",
            "",
            node(
                K,
                "1",
                "Khoản 1",
                "",
                "Nghị quyết này quy định một số nội dung về phổ biến, giáo dục pháp luật "
                "(PBGDPL) qua hệ thống truyền thanh cơ sở trên địa bàn tỉnh Quảng Ninh.",
            ),
            node(
                K,
                "2",
                "Khoản 2",
                "",
                "Nghị quyết này áp dụng đối với:",
                node(D, "a", "Điểm a", "", "Sở Tư pháp, Trung tâm Truyền thông tỉnh và các cơ quan, đơn vị có liên quan;"),
                node(D, "b", "Điểm b", "", "UBND các huyện, thị xã, thành phố và UBND cấp xã;"),
                node(D, "c", "Điểm c", "", "Đài truyền thanh cấp xã và các cụm loa truyền thanh ứng dụng CNTT - viễn thông."),
            ),
        ),
        node(
            "dieu",
            "2",
            "Điều 2",
            "Giải thích từ ngữ",
            "Trong Nghị quyết này, các từ ngữ dưới đây được hiểu như sau:",
            node(
                K,
                "1",
                "Khoản 1",
                "",
                "Chuyên mục pháp luật là chương trình phát thanh có thời lượng từ 05 đến 15 phút, "
                "được phát định kỳ trên sóng QNR1 tần số 97,8 MHz.",
            ),
            node(
                K,
                "2",
                "Khoản 2",
                "",
                "Bản tin loa là sản phẩm âm thanh có thời lượng không quá 3 phút, phát trên hệ thống loa truyền thanh cơ sở.",
            ),
            node(
                K,
                "3",
                "Khoản 3",
                "",
                "Tiểu phẩm pháp luật là video ngắn từ 60 đến 90 giây, minh họa một quy định pháp luật cụ thể.",
            ),
        ),
    ),
    node(
        "chuong",
        "II",
        "Chương II",
        "NỘI DUNG VÀ THỜI LƯỢNG PHÁT SÓNG",
        "",
        node(
            "dieu",
            "3",
            "Điều 3",
            "Thời lượng và khung giờ phát",
            "",
            node(
                K,
                "1",
                "Khoản 1",
                "",
                "Đài truyền thanh cấp xã phát bản tin pháp luật ít nhất 02 lần mỗi ngày, vào khung "
                "giờ từ 6 giờ 00 đến 6 giờ 30 và từ 17 giờ 00 đến 17 giờ 30.",
            ),
            node(
                K,
                "2",
                "Khoản 2",
                "",
                'Chuyên mục "Tìm hiểu pháp luật" phát vào 19 giờ 30 Chủ nhật hằng tuần, thời lượng 15 phút.',
            ),
            node(
                K,
                "3",
                "Khoản 3",
                "",
                "Trường hợp có văn bản quy phạm pháp luật mới có hiệu lực, thời lượng phát sóng "
                "tăng thêm 50% trong 07 ngày trước ngày có hiệu lực.",
            ),
        ),
        node(
            "dieu",
            "4",
            "Điều 4",
            "Kinh phí thực hiện",
            "",
            node(
                K,
                "1",
                "Khoản 1",
                "",
                "Mức hỗ trợ sản xuất một chuyên mục pháp luật là 2.500.000 đồng; mức hỗ trợ sản "
                "xuất một bản tin loa là 350.000 đồng.",
            ),
            node(
                K,
                "2",
                "Khoản 2",
                "",
                "Kinh phí thực hiện được bố trí từ ngân sách địa phương theo phân cấp hiện hành, tối đa 1,2 tỷ đồng mỗi năm.",
            ),
        ),
    ),
    node(
        "chuong",
        "III",
        "Chương III",
        "TỔ CHỨC THỰC HIỆN",
        "",
        node(
            "dieu",
            "5",
            "Điều 5",
            "Trách nhiệm của các cơ quan",
            "",
            node(
                K,
                "1",
                "Khoản 1",
                "",
                "Sở Tư pháp chủ trì biên soạn, thẩm định nội dung pháp luật; phối hợp với Trung "
                "tâm Truyền thông tỉnh sản xuất chương trình theo quy định tại Điều 3 Nghị quyết này.",
            ),
            node(
                K,
                "2",
                "Khoản 2",
                "",
                "Trung tâm Truyền thông tỉnh có trách nhiệm:",
                node(
                    D,
                    "a",
                    "Điểm a",
                    "",
                    "Sản xuất, phát sóng chuyên mục pháp luật và tiểu phẩm pháp luật trên kênh QTV1 và QNR1;",
                ),
                node(
                    D,
                    "b",
                    "Điểm b",
                    "",
                    "Chia sẻ sản phẩm cho đài truyền thanh cấp xã qua nền tảng số trước 16 giờ 00 "
                    "ngày làm việc liền trước ngày phát;",
                ),
                node(D, "c", "Điểm c", "", "Lưu trữ nhật ký phát sóng tối thiểu 24 tháng."),
            ),
            node(
                K,
                "3",
                "Khoản 3",
                "",
                "UBND cấp xã bảo đảm phát đúng, đủ nội dung; báo cáo kết quả phát sóng định kỳ "
                "hằng quý về Sở Tư pháp trước ngày 15 của tháng đầu quý sau.",
            ),
        ),
        node(
            "dieu",
            "6",
            "Điều 6",
            "Hiệu lực thi hành",
            "",
            node(K, "1", "Khoản 1", "", "Nghị quyết này có hiệu lực kể từ ngày 01/8/2024."),
            node(K, "2", "Khoản 2", "", "Bãi bỏ khoản 2 Điều 4 Nghị quyết số 12/2019/NQ-HĐND ngày 15/7/2019 của HĐND tỉnh."),
        ),
    ),
]


def test_shared_sample_full_tree(shared_text: str) -> None:
    assert tree(parse_document(shared_text)) == SHARED_TREE


SHARED_OUTLINE = [
    (0, "chuong", "I", "Chương I", "QUY ĐỊNH CHUNG", "chuong-I"),
    (1, "dieu", "1", "Điều 1", "Phạm vi điều chỉnh và đối tượng áp dụng", "chuong-I/dieu-1"),
    (2, "khoan", "1", "Khoản 1", "", "chuong-I/dieu-1/khoan-1"),
    (2, "khoan", "2", "Khoản 2", "", "chuong-I/dieu-1/khoan-2"),
    (3, "diem", "a", "Điểm a", "", "chuong-I/dieu-1/khoan-2/diem-a"),
    (3, "diem", "b", "Điểm b", "", "chuong-I/dieu-1/khoan-2/diem-b"),
    (3, "diem", "c", "Điểm c", "", "chuong-I/dieu-1/khoan-2/diem-c"),
    (1, "dieu", "2", "Điều 2", "Giải thích từ ngữ", "chuong-I/dieu-2"),
    (2, "khoan", "1", "Khoản 1", "", "chuong-I/dieu-2/khoan-1"),
    (2, "khoan", "2", "Khoản 2", "", "chuong-I/dieu-2/khoan-2"),
    (2, "khoan", "3", "Khoản 3", "", "chuong-I/dieu-2/khoan-3"),
    (0, "chuong", "II", "Chương II", "NỘI DUNG VÀ THỜI LƯỢNG PHÁT SÓNG", "chuong-II"),
    (1, "dieu", "3", "Điều 3", "Thời lượng và khung giờ phát", "chuong-II/dieu-3"),
    (2, "khoan", "1", "Khoản 1", "", "chuong-II/dieu-3/khoan-1"),
    (2, "khoan", "2", "Khoản 2", "", "chuong-II/dieu-3/khoan-2"),
    (2, "khoan", "3", "Khoản 3", "", "chuong-II/dieu-3/khoan-3"),
    (1, "dieu", "4", "Điều 4", "Kinh phí thực hiện", "chuong-II/dieu-4"),
    (2, "khoan", "1", "Khoản 1", "", "chuong-II/dieu-4/khoan-1"),
    (2, "khoan", "2", "Khoản 2", "", "chuong-II/dieu-4/khoan-2"),
    (0, "chuong", "III", "Chương III", "TỔ CHỨC THỰC HIỆN", "chuong-III"),
    (1, "dieu", "5", "Điều 5", "Trách nhiệm của các cơ quan", "chuong-III/dieu-5"),
    (2, "khoan", "1", "Khoản 1", "", "chuong-III/dieu-5/khoan-1"),
    (2, "khoan", "2", "Khoản 2", "", "chuong-III/dieu-5/khoan-2"),
    (3, "diem", "a", "Điểm a", "", "chuong-III/dieu-5/khoan-2/diem-a"),
    (3, "diem", "b", "Điểm b", "", "chuong-III/dieu-5/khoan-2/diem-b"),
    (3, "diem", "c", "Điểm c", "", "chuong-III/dieu-5/khoan-2/diem-c"),
    (2, "khoan", "3", "Khoản 3", "", "chuong-III/dieu-5/khoan-3"),
    (1, "dieu", "6", "Điều 6", "Hiệu lực thi hành", "chuong-III/dieu-6"),
    (2, "khoan", "1", "Khoản 1", "", "chuong-III/dieu-6/khoan-1"),
    (2, "khoan", "2", "Khoản 2", "", "chuong-III/dieu-6/khoan-2"),
]


def test_shared_sample_tree(shared_text: str) -> None:
    doc = parse_document(shared_text)
    assert outline(doc) == SHARED_OUTLINE
    assert_well_formed(doc)
    nodes = by_key(doc)
    assert nodes["chuong-I"].text == ""
    assert nodes["chuong-I/dieu-1"].text == ""
    assert nodes["chuong-I/dieu-1/khoan-2"].text == "Nghị quyết này áp dụng đối với:"
    assert nodes["chuong-I/dieu-1/khoan-2/diem-c"].text == (
        "Đài truyền thanh cấp xã và các cụm loa truyền thanh ứng dụng CNTT - viễn thông."
    )
    assert nodes["chuong-I/dieu-2"].text == "Trong Nghị quyết này, các từ ngữ dưới đây được hiểu như sau:"
    assert nodes["chuong-II/dieu-3/khoan-2"].text == (
        'Chuyên mục "Tìm hiểu pháp luật" phát vào 19 giờ 30 Chủ nhật hằng tuần, thời lượng 15 phút.'
    )
    assert nodes["chuong-II/dieu-4/khoan-1"].text == (
        "Mức hỗ trợ sản xuất một chuyên mục pháp luật là 2.500.000 đồng; mức hỗ trợ sản xuất một bản tin loa là 350.000 đồng."
    )
    # The adoption line and the signature block are not part of the last article.
    assert nodes["chuong-III/dieu-6/khoan-2"].text == (
        "Bãi bỏ khoản 2 Điều 4 Nghị quyết số 12/2019/NQ-HĐND ngày 15/7/2019 của HĐND tỉnh."
    )
    assert all("CHỦ TỊCH" not in p.text and "thông qua" not in p.text for p in nodes.values())
    assert [a.label for a in doc.articles()] == [f"Điều {n}" for n in range(1, 7)]
    assert [p.key for p in nodes["chuong-I"].walk()][:3] == ["chuong-I", "chuong-I/dieu-1", "chuong-I/dieu-1/khoan-1"]


def test_shared_sample_metadata(shared_text: str) -> None:
    meta = parse_document(shared_text).meta
    assert meta.doc_type == "Nghị quyết"
    assert meta.number == "37/2024/NQ-HĐND"
    assert meta.issuer == "Hội đồng nhân dân tỉnh Quảng Ninh"
    assert meta.place == "Quảng Ninh"
    assert meta.issued_on == date(2024, 7, 12)
    assert meta.effective_on == date(2024, 8, 1)
    assert meta.title == (
        "Quy định một số nội dung về phổ biến, giáo dục pháp luật qua hệ thống truyền thanh cơ sở trên địa bàn tỉnh"
    )
    assert meta.legal_bases == (
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015",
        "Căn cứ Luật Phổ biến, giáo dục pháp luật ngày 20 tháng 6 năm 2012",
        "Căn cứ Quyết định số 135/QĐ-TTg ngày 20/01/2020 của Thủ tướng Chính phủ",
    )


def test_the_header_is_read_into_a_frozen_record(shared_text: str) -> None:
    meta = legal.parse_document(shared_text).meta
    assert isinstance(meta, legal.DocumentMeta) and meta.number == "37/2024/NQ-HĐND" and len(meta.legal_bases) == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.title = "Khác"  # type: ignore[misc]


# --- a harder amending law of our own --------------------------------------------------------


AMENDING_OUTLINE = [
    (0, "phan", "1", "Phần thứ nhất", "NHỮNG QUY ĐỊNH CHUNG", "phan-1"),
    (1, "chuong", "I", "Chương I", "PHẠM VI VÀ ĐỐI TƯỢNG", "phan-1/chuong-I"),
    (2, "dieu", "1", "Điều 1", "Phạm vi điều chỉnh", "phan-1/chuong-I/dieu-1"),
    (2, "dieu", "2", "Điều 2", "Đối tượng áp dụng", "phan-1/chuong-I/dieu-2"),
    (3, "diem", "a", "Điểm a", "", "phan-1/chuong-I/dieu-2/diem-a"),
    (3, "diem", "b", "Điểm b", "", "phan-1/chuong-I/dieu-2/diem-b"),
    (3, "diem", "c", "Điểm c", "", "phan-1/chuong-I/dieu-2/diem-c"),
    (2, "dieu", "3a", "Điều 3a", "Nguyên tắc phát sóng", "phan-1/chuong-I/dieu-3a"),
    (3, "khoan", "1", "Khoản 1", "", "phan-1/chuong-I/dieu-3a/khoan-1"),
    (3, "khoan", "2", "Khoản 2", "", "phan-1/chuong-I/dieu-3a/khoan-2"),
    (4, "diem", "a", "Điểm a", "", "phan-1/chuong-I/dieu-3a/khoan-2/diem-a"),
    (4, "diem", "b", "Điểm b", "", "phan-1/chuong-I/dieu-3a/khoan-2/diem-b"),
    (4, "diem", "c", "Điểm c", "", "phan-1/chuong-I/dieu-3a/khoan-2/diem-c"),
    (4, "diem", "d", "Điểm d", "", "phan-1/chuong-I/dieu-3a/khoan-2/diem-d"),
    (4, "diem", "đ", "Điểm đ", "", "phan-1/chuong-I/dieu-3a/khoan-2/diem-đ"),
    (4, "diem", "e", "Điểm e", "", "phan-1/chuong-I/dieu-3a/khoan-2/diem-e"),
    (4, "diem", "g", "Điểm g", "", "phan-1/chuong-I/dieu-3a/khoan-2/diem-g"),
    (3, "khoan", "3", "Khoản 3", "", "phan-1/chuong-I/dieu-3a/khoan-3"),
    (0, "phan", "2", "Phần thứ hai", "SỬA ĐỔI, BỔ SUNG", "phan-2"),
    (1, "chuong", "II", "Chương II", "SỬA ĐỔI LUẬT THỬ NGHIỆM", "phan-2/chuong-II"),
    (2, "muc", "1", "Mục 1", "SỬA ĐỔI VỀ NỘI DUNG", "phan-2/chuong-II/muc-1"),
    (3, "tieu_muc", "1", "Tiểu mục 1", "NỘI DUNG PHÁT SÓNG", "phan-2/chuong-II/muc-1/tieu-muc-1"),
    (
        4,
        "dieu",
        "4",
        "Điều 4",
        "Sửa đổi, bổ sung một số điều của Luật Thử nghiệm về truyền thanh cơ sở",
        "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4",
    ),
    (5, "khoan", "1", "Khoản 1", "", "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4/khoan-1"),
    (5, "khoan", "2", "Khoản 2", "", "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4/khoan-2"),
    (5, "khoan", "3", "Khoản 3", "", "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4/khoan-3"),
    (5, "khoan", "4", "Khoản 4", "", "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4/khoan-4"),
    (6, "diem", "a", "Điểm a", "", "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4/khoan-4/diem-a"),
    (6, "diem", "b", "Điểm b", "", "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4/khoan-4/diem-b"),
    (5, "khoan", "5", "Khoản 5", "", "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4/khoan-5"),
    (5, "khoan", "6", "Khoản 6", "", "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4/khoan-6"),
    (2, "muc", "2", "Mục 2", "SỬA ĐỔI VỀ KINH PHÍ", "phan-2/chuong-II/muc-2"),
    (3, "dieu", "5", "Điều 5", "Sửa đổi Điều 30", "phan-2/chuong-II/muc-2/dieu-5"),
    (1, "chuong", "III", "Chương III", "ĐIỀU KHOẢN THI HÀNH", "phan-2/chuong-III"),
    (2, "dieu", "6", "Điều 6", "Hiệu lực thi hành", "phan-2/chuong-III/dieu-6"),
    (3, "khoan", "1", "Khoản 1", "", "phan-2/chuong-III/dieu-6/khoan-1"),
    (3, "khoan", "2", "Khoản 2", "", "phan-2/chuong-III/dieu-6/khoan-2"),
]


@pytest.fixture(scope="module")
def amending() -> ParsedDocument:
    return parse_document(AMENDING.read_text(encoding="utf-8"))


AMENDING_TREE = [
    node(
        "phan",
        "1",
        "Phần thứ nhất",
        "NHỮNG QUY ĐỊNH CHUNG",
        "",
        node(
            "chuong",
            "I",
            "Chương I",
            "PHẠM VI VÀ ĐỐI TƯỢNG",
            "",
            node(
                "dieu",
                "1",
                "Điều 1",
                "Phạm vi điều chỉnh",
                "Luật này sửa đổi, bổ sung một số điều của Luật Thử nghiệm về truyền thanh cơ sở.",
            ),
            node(
                "dieu",
                "2",
                "Điều 2",
                "Đối tượng áp dụng",
                "Luật này áp dụng đối với:",
                node(D, "a", "Điểm a", "", "Cơ quan nhà nước ở trung ương và địa phương;"),
                node(D, "b", "Điểm b", "", "Đài truyền thanh cấp xã;"),
                node(D, "c", "Điểm c", "", "Tổ chức, cá nhân có liên quan."),
            ),
            node(
                "dieu",
                "3a",
                "Điều 3a",
                "Nguyên tắc phát sóng",
                "",
                node(K, "1", "Khoản 1", "", "Bảo đảm chính xác, kịp thời, dễ hiểu."),
                node(
                    K,
                    "2",
                    "Khoản 2",
                    "",
                    "Ưu tiên các nội dung sau đây:",
                    node(D, "a", "Điểm a", "", "Phòng, chống thiên tai;"),
                    node(D, "b", "Điểm b", "", "An ninh, trật tự;"),
                    node(D, "c", "Điểm c", "", "Bảo vệ môi trường;"),
                    node(D, "d", "Điểm d", "", "Trật tự, an toàn giao thông;"),
                    node(D, "đ", "Điểm đ", "", "An toàn thực phẩm;"),
                    node(D, "e", "Điểm e", "", "Quyền và nghĩa vụ của công dân;"),
                    node(D, "g", "Điểm g", "", "Chuyển đổi số trong hoạt động truyền thanh cơ sở."),
                ),
                node(
                    K,
                    "3",
                    "Khoản 3",
                    "",
                    "Không phát loa trong khung giờ từ 21 giờ 30 đến 05 giờ 30 sáng hôm sau, trừ tin khẩn cấp.",
                ),
            ),
        ),
    ),
    node(
        "phan",
        "2",
        "Phần thứ hai",
        "SỬA ĐỔI, BỔ SUNG",
        "",
        node(
            "chuong",
            "II",
            "Chương II",
            "SỬA ĐỔI LUẬT THỬ NGHIỆM",
            "",
            node(
                "muc",
                "1",
                "Mục 1",
                "SỬA ĐỔI VỀ NỘI DUNG",
                "",
                node(
                    "tieu_muc",
                    "1",
                    "Tiểu mục 1",
                    "NỘI DUNG PHÁT SÓNG",
                    "",
                    node(
                        "dieu",
                        "4",
                        "Điều 4",
                        "Sửa đổi, bổ sung một số điều của Luật Thử nghiệm về truyền thanh cơ sở",
                        "",
                        node(
                            K,
                            "1",
                            "Khoản 1",
                            "",
                            'Sửa đổi khoản 2 Điều 5 như sau:\n"2. Đài truyền thanh cấp xã phát ít nhất 02 lần mỗi ngày."',
                        ),
                        node(
                            K,
                            "2",
                            "Khoản 2",
                            "",
                            "Bổ sung Điều 26a vào sau Điều 26 như sau:\n"
                            "“Điều 26a. Phát tin khẩn cấp\n"
                            "1. Khi có thiên tai, Đài truyền thanh cấp xã phát tin ngay.\n"
                            "2. Nội dung tin khẩn cấp gồm:\n"
                            "a) Loại thiên tai;\n"
                            "b) Khu vực bị ảnh hưởng.\n"
                            '3. Chủ tịch UBND cấp xã chịu trách nhiệm về nội dung "tin khẩn cấp".”',
                        ),
                        node(K, "3", "Khoản 3", "", 'Sửa đổi điểm đ khoản 1 Điều 7 như sau:\n"đ) Nhà văn hóa thôn, khu phố;"'),
                        node(
                            K,
                            "4",
                            "Khoản 4",
                            "",
                            "Thay thế, bỏ một số cụm từ:",
                            node(
                                D,
                                "a",
                                "Điểm a",
                                "",
                                'Thay cụm từ "đài truyền thanh" bằng cụm từ "đài truyền thanh cơ sở" tại Điều 8;',
                            ),
                            node(D, "b", "Điểm b", "", 'Bỏ cụm từ "có dây" tại Điều 9.'),
                        ),
                        # The quotation opens at the end of the introducing line.
                        node(
                            K,
                            "5",
                            "Khoản 5",
                            "",
                            "Bổ sung Điều 26b vào sau Điều 26a như sau: “Điều 26b. Lưu trữ tin "
                            "khẩn cấp\nTin khẩn cấp được lưu trữ ít nhất 12 tháng.”",
                        ),
                        # A quoted chapter and article are not structure of this law.
                        node(
                            K,
                            "6",
                            "Khoản 6",
                            "",
                            "Bổ sung Chương IVa vào sau Chương IV như sau:\n“Chương IVa\n"
                            "TRUYỀN THANH KHẨN CẤP\nĐiều 40a. Nguyên tắc\n"
                            "Tin khẩn cấp được phát ngay, nhắc lại ít nhất 03 lần.”",
                        ),
                    ),
                ),
            ),
            node(
                "muc",
                "2",
                "Mục 2",
                "SỬA ĐỔI VỀ KINH PHÍ",
                "",
                node(
                    "dieu",
                    "5",
                    "Điều 5",
                    "Sửa đổi Điều 30",
                    'Điều 30 được sửa đổi như sau:\n"Điều 30. Kinh phí\n'
                    'Kinh phí bảo đảm từ ngân sách nhà nước và nguồn hợp pháp khác."',
                ),
            ),
        ),
        node(
            "chuong",
            "III",
            "Chương III",
            "ĐIỀU KHOẢN THI HÀNH",
            "",
            node(
                "dieu",
                "6",
                "Điều 6",
                "Hiệu lực thi hành",
                "",
                node(K, "1", "Khoản 1", "", "Luật này có hiệu lực thi hành kể từ ngày 01 tháng 01 năm 2026."),
                node(K, "2", "Khoản 2", "", "Bãi bỏ khoản 3 Điều 8 của Luật Thử nghiệm về truyền thanh cơ sở."),
            ),
        ),
    ),
]


def test_amending_law_tree(amending: ParsedDocument) -> None:
    assert tree(amending) == AMENDING_TREE
    assert outline(amending) == AMENDING_OUTLINE
    assert_well_formed(amending)
    assert [a.number for a in amending.articles()] == ["1", "2", "3a", "4", "5", "6"]


def test_amending_law_quoted_text_stays_in_the_amending_clause(amending: ParsedDocument) -> None:
    nodes = by_key(amending)
    dieu4 = "phan-2/chuong-II/muc-1/tieu-muc-1/dieu-4"
    assert nodes[f"{dieu4}/khoan-1"].text == (
        'Sửa đổi khoản 2 Điều 5 như sau:\n"2. Đài truyền thanh cấp xã phát ít nhất 02 lần mỗi ngày."'
    )
    assert nodes[f"{dieu4}/khoan-2"].text == "\n".join(
        [
            "Bổ sung Điều 26a vào sau Điều 26 như sau:",
            "“Điều 26a. Phát tin khẩn cấp",
            "1. Khi có thiên tai, Đài truyền thanh cấp xã phát tin ngay.",
            "2. Nội dung tin khẩn cấp gồm:",
            "a) Loại thiên tai;",
            "b) Khu vực bị ảnh hưởng.",
            '3. Chủ tịch UBND cấp xã chịu trách nhiệm về nội dung "tin khẩn cấp".”',
        ]
    )
    assert nodes[f"{dieu4}/khoan-2"].children == []
    assert nodes[f"{dieu4}/khoan-3"].text == 'Sửa đổi điểm đ khoản 1 Điều 7 như sau:\n"đ) Nhà văn hóa thôn, khu phố;"'
    assert nodes[f"{dieu4}/khoan-4/diem-a"].text == (
        'Thay cụm từ "đài truyền thanh" bằng cụm từ "đài truyền thanh cơ sở" tại Điều 8;'
    )
    assert nodes["phan-2/chuong-II/muc-2/dieu-5"].text == (
        'Điều 30 được sửa đổi như sau:\n"Điều 30. Kinh phí\nKinh phí bảo đảm từ ngân sách nhà nước và nguồn hợp pháp khác."'
    )
    assert not any(part in key for key in nodes for part in ("dieu-26", "dieu-40a", "chuong-IVa"))


def test_amending_law_brackets_and_page_furniture_are_gone(amending: ParsedDocument) -> None:
    nodes = by_key(amending)
    assert nodes["phan-1/chuong-I/dieu-1"].text == (
        "Luật này sửa đổi, bổ sung một số điều của Luật Thử nghiệm về truyền thanh cơ sở."
    )
    assert nodes["phan-1/chuong-I/dieu-3a"].heading == "Nguyên tắc phát sóng"
    assert nodes["phan-1/chuong-I/dieu-3a/khoan-2/diem-đ"].text == "An toàn thực phẩm;"
    assert nodes["phan-1/chuong-I/dieu-2/diem-b"].text == "Đài truyền thanh cấp xã;"
    # A khoản broken by a page break is rejoined into one sentence.
    assert nodes["phan-1/chuong-I/dieu-3a/khoan-3"].text == (
        "Không phát loa trong khung giờ từ 21 giờ 30 đến 05 giờ 30 sáng hôm sau, trừ tin khẩn cấp."
    )
    for fragment in ("CÔNG BÁO", "Trang 3/5", "- 2 -", "[1]", "[2]", "được bổ sung bởi", "[Điểm c"):
        assert fragment not in amending.text
    assert nodes["phan-2/chuong-III/dieu-6/khoan-2"].text == ("Bãi bỏ khoản 3 Điều 8 của Luật Thử nghiệm về truyền thanh cơ sở.")


def test_amending_law_metadata(amending: ParsedDocument) -> None:
    meta = amending.meta
    assert meta.doc_type == "Luật"
    assert meta.number == "99/2025/QH15"
    assert meta.issuer == "Quốc hội"
    assert meta.place == "Hà Nội"
    assert meta.issued_on == date(2025, 6, 25)
    assert meta.effective_on == date(2026, 1, 1)
    assert meta.title == "Sửa đổi, bổ sung một số điều của luật thử nghiệm về truyền thanh cơ sở"
    assert meta.legal_bases == (
        "Căn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam",
        "Căn cứ Luật Ban hành văn bản quy phạm pháp luật số 64/2025/QH15",
    )


# --- the bundled demo sample -----------------------------------------------------------------


def test_bundled_sample_parses() -> None:
    doc = parse_document(BUNDLED.read_text(encoding="utf-8"))
    assert_well_formed(doc)
    meta = doc.meta
    assert (meta.doc_type, meta.number, meta.issuer, meta.place) == (
        "Quyết định",
        "15/2025/QĐ-UBND",
        "Ủy ban nhân dân tỉnh Quảng Ninh",
        "Quảng Ninh",
    )
    assert meta.issued_on == date(2025, 3, 10)
    assert meta.effective_on == date(2025, 4, 1)
    assert meta.title is not None and meta.title.endswith("tỉnh Quảng Ninh")
    assert len(meta.legal_bases) == 3
    assert [(p.kind, p.label) for p in doc.provisions] == [("chuong", "Chương I"), ("chuong", "Chương II")]
    articles = doc.articles()
    assert [a.number for a in articles] == ["1", "2", "3", "4", "5", "6", "7"]
    kinds = {p.kind for a in articles for p in a.walk()}
    assert {"khoan", "diem"} <= kinds
    assert [p.number for p in by_key(doc)["chuong-II/dieu-3"].children] == ["a", "b", "c", "d", "đ", "e"]
    # Read aloud in about 5 to 6 minutes: the weekly radio column runs 5 to 15.
    words = sum(len(f"{p.heading} {p.text}".split()) for a in articles for p in a.walk())
    assert 700 <= words <= 900
    assert "lawcast" in doc.text and "không phải văn bản pháp luật" in doc.text
    assert "Nơi nhận" not in by_key(doc)["chuong-II/dieu-7/khoan-2"].text


# --- parsing edge cases ----------------------------------------------------------------------


def test_text_without_articles_parses_without_provisions() -> None:
    text = "Từ ngày 01/7/2025, người dân có thể làm thủ tục đăng ký thường trú trực tuyến.\nXin mời bà con theo dõi."
    doc = parse_document(text)
    assert doc.provisions == []
    assert doc.articles() == []
    assert doc.text == text
    assert doc.meta.legal_bases == ()
    assert doc.meta.issuer is None and doc.meta.place is None  # prose is not an issuing body


def test_empty_document_is_an_error() -> None:
    with pytest.raises(DocumentError) as err:
        parse_document(" \n\t\n")
    assert err.value.code == "empty"


def test_articles_without_chapters_and_out_of_order_markers() -> None:
    text = "\n".join(
        [
            "Điều 1. Phạm vi",
            "Văn bản này quy định:",
            "a) Việc thứ nhất;",
            "f) không phải là điểm vì không có chữ f trong bảng chữ cái;",
            "b) Việc thứ hai.",
            "Điều 2",
            "1. Khoản đầu.",
            "2020. Không phải khoản.",
            "2. Khoản hai.",
        ]
    )
    doc = parse_document(text)
    assert outline(doc) == [
        (0, "dieu", "1", "Điều 1", "Phạm vi", "dieu-1"),
        (1, "diem", "a", "Điểm a", "", "dieu-1/diem-a"),
        (1, "diem", "b", "Điểm b", "", "dieu-1/diem-b"),
        (0, "dieu", "2", "Điều 2", "", "dieu-2"),
        (1, "khoan", "1", "Khoản 1", "", "dieu-2/khoan-1"),
        (1, "khoan", "2", "Khoản 2", "", "dieu-2/khoan-2"),
    ]
    nodes = by_key(doc)
    assert nodes["dieu-1/diem-a"].text == "Việc thứ nhất;\nf) không phải là điểm vì không có chữ f trong bảng chữ cái;"
    assert nodes["dieu-2/khoan-1"].text == "Khoản đầu.\n2020. Không phải khoản."


def test_a_quotation_left_open_by_a_typo_does_not_swallow_the_next_clauses() -> None:
    text = "\n".join(
        [
            "Điều 1. Sửa đổi",
            '1. Thay cụm từ: "đài truyền thanh',
            "2. Khoản hai.",
            "Điều 2. Hiệu lực",
            "Quyết định này có hiệu lực từ ngày 01/01/2026.",
        ]
    )
    assert [(p.key, p.text) for root in parse_document(text).provisions for p in root.walk()] == [
        ("dieu-1", ""),
        ("dieu-1/khoan-1", 'Thay cụm từ: "đài truyền thanh'),
        ("dieu-1/khoan-2", "Khoản hai."),
        ("dieu-2", "Quyết định này có hiệu lực từ ngày 01/01/2026."),
    ]


def test_decision_with_attached_regulation_keeps_both_parts() -> None:
    text = "\n".join(
        [
            "QUYẾT ĐỊNH",
            "BAN HÀNH QUY CHẾ THỬ NGHIỆM",
            "",
            "Điều 1. Ban hành kèm theo Quyết định này Quy chế thử nghiệm.",
            "Điều 2. Quyết định này có hiệu lực kể từ ngày 05/9/2025.",
            "Nơi nhận:",
            "- Như Điều 2;",
            "CHỦ TỊCH",
            "QUY CHẾ",
            "Chương I",
            "QUY ĐỊNH CHUNG",
            "Điều 1. Phạm vi",
            "Quy chế này áp dụng trong tỉnh.",
        ]
    )
    doc = parse_document(text)
    assert [p.key for root in doc.provisions for p in root.walk()] == [
        "dieu-1",
        "dieu-2",
        "kem-theo/chuong-I",
        "kem-theo/chuong-I/dieu-1",
    ]
    assert by_key(doc)["dieu-2"].text == ""
    assert doc.meta.doc_type == "Quyết định"
    assert doc.meta.title == "Ban hành quy chế thử nghiệm"
    assert doc.meta.effective_on == date(2025, 9, 5)


def test_two_line_agency_issuer_and_number_fallback() -> None:
    text = "\n".join(
        [
            "UBND TỈNH QUẢNG NINH",
            "SỞ TƯ PHÁP",
            "Số: 120/KH-STP",
            "Hạ Long, ngày 03 tháng 02 năm 2025",
            "",
            "Điều 1. Nội dung",
            "Tổ chức phát thanh pháp luật.",
        ]
    )
    meta = parse_document(text).meta
    assert meta.issuer == "Sở Tư pháp tỉnh Quảng Ninh"
    assert meta.number == "120/KH-STP"
    assert meta.doc_type == "Kế hoạch"
    assert meta.place == "Hạ Long"
    assert meta.issued_on == date(2025, 2, 3)


def test_clean_text_rules() -> None:
    raw = "\n".join(
        [
            "Điều 1. Phạm vi [Điều này được sửa đổi bởi Khoản 1 Điều 1 Nghị quyết 05/2025/NQ-HĐND]",
            "Nội dung\u00a0 có   khoảng trắng[3].",
            "Trang 3/12",
            "- 3 -",
            "12",
            "Page 4 of 12",
            "Khoa\u0300 ho\u0323c",  # decomposed (NFD) marks
            "",
            "",
            "",
            "Dòng cuối.",
        ]
    )
    assert clean_text(raw) == "Điều 1. Phạm vi\nNội dung có khoảng trắng.\nKhoà học\n\nDòng cuối."
    assert unicodedata.is_normalized("NFC", clean_text(raw))


# --- formats ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source_text() -> str:
    return AMENDING.read_text(encoding="utf-8").strip()


def _nonblank(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def test_txt_encodings_extract_the_same(source_text: str) -> None:
    expected = extract_text(source_text.encode("utf-8"), "a.txt")
    assert expected == source_text
    for data in (
        source_text.encode("utf-8-sig"),
        source_text.encode("utf-16"),  # with BOM
        "\ufeff".encode("utf-16-be") + source_text.encode("utf-16-be"),
        source_text.replace("\n", "\r\n").encode("utf-8"),
        unicodedata.normalize("NFD", source_text).encode("utf-8"),
    ):
        assert extract_text(data, "van-ban.txt") == expected
    assert extract_text(source_text.encode("utf-16"), None, "text/plain; charset=utf-16") == expected


def test_docx_extracts_paragraphs_and_table_cells(source_text: str) -> None:
    import docx

    lines = source_text.split("\n")
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "\n".join(lines[0:2])  # QUỐC HỘI / -------
    table.cell(0, 1).text = "\n".join(lines[2:5])  # motto
    table.cell(1, 0).text = lines[5]  # Số
    table.cell(1, 1).text = lines[6]  # place, date
    for line in lines[7:]:
        document.add_paragraph(unicodedata.normalize("NFD", line))
    buf = io.BytesIO()
    document.save(buf)
    data = buf.getvalue()
    assert extract_text(data, "luat.docx") == source_text
    # by content type, and by magic bytes alone
    assert extract_text(data, None, "application/vnd.openxmlformats-officedocument.wordprocessingml.document") == source_text
    assert extract_text(data) == source_text
    assert outline(parse_document(extract_text(data))) == AMENDING_OUTLINE


def _numbered_docx(lines: list[str]) -> bytes:
    """The text as Word users often write it: articles, clauses and points are automatic list items
    (one multilevel list: "Điều %1.", "%2.", "%3)"), so their labels are not in the typed text."""
    import re

    import docx
    from docx.oxml import parse_xml
    from docx.oxml.xmlchemy import BaseOxmlElement

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    numbering = document.part.numbering_part.element
    levels = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl>'
        for i, (fmt, text) in enumerate([("decimal", "Điều %1."), ("decimal", "%2."), ("lowerLetter", "%3)")])
    )
    first_num = numbering.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}num")
    first_num.addprevious(parse_xml(f'<w:abstractNum {w} w:abstractNumId="90">{levels}</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {w} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))

    def listed(text: str, level: int) -> None:
        paragraph = document.add_paragraph(text)
        properties: BaseOxmlElement = paragraph._p.get_or_add_pPr()  # the base type takes any child element
        properties.append(parse_xml(f'<w:numPr {w}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'))

    for line in lines:
        if m := re.match(r"Điều \d+[a-z]?\. (.*)$", line):
            listed(m[1], 0)
        elif m := re.match(r"\d+\. (.*)$", line):
            listed(m[1], 1)
        elif m := re.match(r"[a-zđ]\) (.*)$", line):
            listed(m[1], 2)
        else:
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_automatic_numbering_is_written_out(shared_text: str) -> None:
    data = _numbered_docx(shared_text.strip().split("\n"))
    import docx

    typed = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "Điều 1" not in typed and "\n1. " not in typed  # the labels exist only as numbering
    text = extract_text(data, "nghi-quyet.docx")
    assert "\nĐiều 1. Phạm vi điều chỉnh và đối tượng áp dụng\n1. Nghị quyết này quy định" in text
    assert "\nĐiều 6. Hiệu lực thi hành\n1. Nghị quyết này có hiệu lực" in text  # articles run on across chapters
    assert tree(parse_document(text)) == SHARED_TREE


def test_html_extracts_text_without_scripts_or_navigation(source_text: str) -> None:
    from html import escape

    lines = source_text.split("\n")
    body = "".join(f"<p>{escape(line)}</p>" if line else "<p>&nbsp;</p>" for line in lines[7:])
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Trang web</title><style>p {{ color: red }}</style>
<script>var x = "Điều 99. Không được lấy";</script></head>
<body><nav><a href="/">Trang chủ</a> | <a href="/vb">Văn bản</a></nav>
<table><tr><td>{escape(lines[0])}<br>{escape(lines[1])}</td><td>{"<br>".join(escape(x) for x in lines[2:5])}</td></tr>
<tr><td><b>{escape(lines[5])}</b></td><td><i>{escape(lines[6])}</i></td></tr></table>
{body}
<script>console.log("x")</script></body></html>"""
    data = page.encode("utf-8")
    assert extract_text(data, "luat.html") == source_text
    assert extract_text(data, None, "text/html") == source_text
    assert extract_text(data) == source_text
    no_charset = page.replace('<meta charset="utf-8">', "")
    assert extract_text(no_charset.encode("utf-8"), "luat.htm") == source_text  # UTF-8 is the default
    assert extract_text(no_charset.encode("utf-16"), "luat.htm") == source_text  # BOM wins


def _pdf(lines: list[str]) -> bytes:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is needed to write test PDFs")
    pdf = fpdf.FPDF(orientation="landscape", format="A3")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=8)
    pdf.add_page()
    for line in lines:
        if line:
            pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.ln(5)
    return bytes(pdf.output())


def test_pdf_extracts_the_same_lines(source_text: str) -> None:
    data = _pdf(source_text.split("\n"))
    text = extract_text(data, "luat.pdf")
    assert unicodedata.is_normalized("NFC", text)
    assert _nonblank(text) == _nonblank(source_text)
    assert extract_text(data, None, "application/pdf") == text
    assert extract_text(data) == text
    doc = parse_document(text)
    assert outline(doc) == AMENDING_OUTLINE
    assert doc.meta.title == "Sửa đổi, bổ sung một số điều của luật thử nghiệm về truyền thanh cơ sở"


def _typeset_pdf(lines: list[str], page_format: tuple[int, int]) -> tuple[bytes, int]:
    """A PDF laid out like an official gazette copy: the header in two columns (issuer | motto, number |
    place and date), a running header and a page number on every page, and body lines wrapped by the page."""
    pytest.importorskip("fpdf", reason="fpdf2 is needed to write test PDFs")
    from fpdf import FPDF

    class Gazette(FPDF):
        def header(self) -> None:
            self.set_font("DejaVu", size=7)
            self.cell(0, 5, "CÔNG BÁO/Số 45 + 46/Ngày 20-7-2025", align="C", new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", size=7)
            self.cell(0, 5, f"Trang {self.page_no()}", align="C")

    pdf = Gazette(format=page_format)
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=9)
    pdf.add_page()
    # issuer block (and its rule) on the left, the motto block on the right, then number | place, date
    issuer = lines[: next(i for i, line in enumerate(lines) if line.startswith("CỘNG"))]
    motto = lines[len(issuer) : len(issuer) + 3]
    number, place = lines[len(issuer) + 3], lines[len(issuer) + 4]
    width = pdf.epw
    top = pdf.get_y()
    for row in range(max(len(issuer), len(motto))):
        pdf.set_xy(pdf.l_margin, top + 5 * row)
        pdf.cell(width * 0.38, 5, issuer[row] if row < len(issuer) else "", align="C")
        pdf.cell(width * 0.62, 5, motto[row] if row < len(motto) else "", align="C")
    pdf.set_xy(pdf.l_margin, top + 5 * max(len(issuer), len(motto)))
    pdf.cell(width * 0.38, 5, number, align="C")
    pdf.cell(width * 0.62, 5, place, align="C", new_x="LMARGIN", new_y="NEXT")
    for line in lines[len(issuer) + 5 :]:
        if line:
            pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.ln(2)
    return bytes(pdf.output()), pdf.page_no()


@pytest.mark.parametrize(
    ("source", "page_format", "expected"),
    [
        (SHARED_SAMPLE, (210, 297), "shared"),  # A4: two pages, so the running header repeats only twice
        (AMENDING, (148, 210), "amending"),  # A5: long headings and bracketed notes wrap over lines
    ],
)
def test_typeset_pdf_gives_exactly_the_same_tree(source: Path, page_format: tuple[int, int], expected: str) -> None:
    lines = source.read_text(encoding="utf-8").strip().split("\n")
    data, pages = _typeset_pdf(lines, page_format)
    assert pages == 2 if expected == "shared" else pages >= 3
    text = extract_text(data, "cong-bao.pdf")
    assert "CÔNG BÁO/Số 45" not in text and "Trang 2" not in text  # running header and page numbers
    doc = parse_document(text)
    assert tree(doc) == (SHARED_TREE if expected == "shared" else AMENDING_TREE)
    reference = parse_document(source.read_text(encoding="utf-8")).meta
    assert doc.meta == reference


def test_pdf_without_text_is_rejected() -> None:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is needed to write test PDFs")
    from PIL import Image

    image = Image.new("RGB", (200, 100), "white")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=100)
    with pytest.raises(DocumentError) as err:
        extract_text(bytes(pdf.output()), "scan.pdf")
    assert err.value.code in {"unsupported", "no_text"}
    assert "OCR" in str(err.value)


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "code"),
    [
        (b"", "a.txt", None, "empty"),
        (b"   \n\t \r\n", "a.txt", None, "empty"),
        (b"", None, None, "empty"),
        ("  \n ".encode("utf-16"), "a.txt", None, "empty"),
        (b"\x89PNG\r\n\x1a\n" + os.urandom(512), "anh.txt", None, "undecodable"),
        (b"\x89PNG\r\n\x1a\n" + os.urandom(512), None, None, "undecodable"),
        (b"\xd0i\xeau 1. Ph\xe0m vi", "cp1258.txt", None, "undecodable"),  # legacy Windows-1258, not UTF-8
        (b"MZ\x90\x00" + os.urandom(64), "setup.exe", None, "unsupported"),
        (b"PK\x03\x04" + os.urandom(64), "van-ban.zip", None, "unsupported"),
        (b"PK\x03\x04" + os.urandom(64), None, "application/zip", "unsupported"),
        (b"PK\x03\x04" + os.urandom(64), None, None, "unsupported"),
        (b"\xd0\xcf\x11\xe0" + os.urandom(64), "cu.doc", None, "unsupported"),
        (b"GIF89a" + os.urandom(64), None, "image/gif", "unsupported"),
        (b"PK\x03\x04 not really a docx", "hong.docx", None, "undecodable"),
        (b"%PDF-1.7 truncated", "hong.pdf", None, "undecodable"),
    ],
)
def test_bad_inputs(data: bytes, filename: str | None, content_type: str | None, code: str) -> None:
    with pytest.raises(DocumentError) as err:
        extract_text(data, filename, content_type)
    assert err.value.code == code
    assert isinstance(err.value, ValueError)
    assert "(" in str(err.value) and ")" in str(err.value)  # Vietnamese, then English in parentheses


def test_too_large_is_checked_before_anything_else() -> None:
    with pytest.raises(DocumentError) as err:
        extract_text(b"a" * 101, "a.txt", max_bytes=100)
    assert err.value.code == "too_large"
    assert extract_text(b"a" * 100, "a.txt", max_bytes=100) == "a" * 100


def test_empty_file_message() -> None:
    with pytest.raises(DocumentError) as err:
        extract_text(b"", "a.txt")
    assert str(err.value) == "Tệp rỗng (empty file)"
