"""Range parsing per RFC 9110 14 and file-name headers per RFC 6266, as pure functions."""

from __future__ import annotations

import pytest

from assets.http import (
    Unsatisfiable,
    ascii_filename,
    content_disposition,
    etag_matches,
    if_range_allows,
    parse_range,
    range_header,
)

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-1", [(0, 2)]),  # Apple's probe
        ("bytes=0-", [(0, SIZE)]),
        ("bytes=990-5000", [(990, SIZE)]),  # last-pos past the end is clipped
        ("bytes=-100", [(900, SIZE)]),
        ("bytes=-5000", [(0, SIZE)]),
        ("BYTES = 10-19 , 0-9", [(0, 20)]),  # case, spaces; adjacent ranges coalesce
        ("bytes=0-9,100-109", [(0, 10), (100, 110)]),
        ("bytes=0-1,2000-", [(0, 2)]),  # an unsatisfiable member is dropped
        ("bytes=0-9,,5-20", [(0, 21)]),  # empty list members are allowed
    ],
)
def test_satisfiable_ranges(header: str, expected: list[tuple[int, int]]) -> None:
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "items=0-1",
        "bytes",
        "bytes=",
        "bytes=5-2",
        "bytes=a-b",
        "bytes=-",
        "bytes=0-1,x",
        "bytes=1-2-3",
        "bytes=" + ",".join(["0-1"] * 65),
    ],
)
def test_invalid_ranges_are_ignored(header: str | None) -> None:
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=1000-1001,2000-"])
def test_unsatisfiable(header: str) -> None:
    assert parse_range(header, SIZE) == Unsatisfiable(SIZE)


def test_empty_file_satisfies_nothing() -> None:
    assert parse_range("bytes=0-1", 0) == Unsatisfiable(0)
    assert parse_range("bytes=-10", 0) == Unsatisfiable(0)


def test_range_header_round_trips() -> None:
    ranges = [(0, 2), (100, 110)]
    assert range_header(ranges) == "bytes=0-1,100-109"
    assert parse_range(range_header(ranges), SIZE) == ranges


def test_if_range_and_if_none_match() -> None:
    date = "Wed, 01 May 2024 01:00:00 GMT"
    assert if_range_allows(None, '"a"', date)
    assert if_range_allows('"a"', '"a"', date) and not if_range_allows('"b"', '"a"', date)
    assert not if_range_allows('W/"a"', '"a"', date)  # needs a strong validator
    assert if_range_allows(date, '"a"', date) and not if_range_allows("Thu, 02 May 2024 01:00:00 GMT", '"a"', date)
    assert etag_matches('"x", W/"a"', '"a"') and etag_matches("*", '"a"')
    assert not etag_matches(None, '"a"') and not etag_matches('"ab"', '"a"')


def test_filenames_are_ascii() -> None:
    assert content_disposition("tim-hieu-audio.mp3") == 'inline; filename="tim-hieu-audio.mp3"'
    header = content_disposition("Luật Đất đai 2024.mp3")
    assert header.isascii()
    assert header.startswith("inline; filename=\"Luat-Dat-dai-2024.mp3\"; filename*=UTF-8''")
    assert "Lu%E1%BA%ADt%20%C4%90%E1%BA%A5t" in header
    assert ascii_filename('a"b\\c') == "a-b-c"
    assert ascii_filename("???") == "media"
