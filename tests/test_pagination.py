"""Deep pages over the API: past pagination.DEEP_OFFSET a page reads its keys first, then its rows by key.

Checked against the database's own order on each tier, so the two paths must agree row for row at their border.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.sql.elements import ColumnElement

from pagination import DEEP_OFFSET
from tests.conftest import Stack

PER_PAGE = 50
SEEDED = 2 * (DEEP_OFFSET + 3 * PER_PAGE)  # half of them editors: a filtered list has deep pages too


@pytest.fixture(scope="module")
def deep_users(stack: Stack) -> Iterator[None]:
    """Enough users for pages past DEEP_OFFSET, removed afterwards: other tests look for their users on page 1."""
    import auth
    from db import session_scope

    roles = ("editor", "producer")
    with session_scope() as session:
        session.add_all(auth.User(name=f"page-{n:04d}", role=roles[n % 2], display_name=f"Trang {n}") for n in range(SEEDED))
    yield
    with session_scope() as session:
        session.execute(delete(auth.User).where(auth.User.name.startswith("page-")))


def _expected(sort: tuple[ColumnElement[Any], ...], offset: int, limit: int, role: str | None = None) -> list[str]:
    import auth
    from db import session_scope

    with session_scope() as session:
        query = select(auth.User.name).order_by(*sort).offset(offset).limit(limit)
        if role is not None:
            query = query.where(auth.User.role == role)
        return list(session.scalars(query))


def test_a_deep_page_is_the_database_s_slice_and_meets_the_shallow_one(
    client: TestClient, stack: Stack, deep_users: None
) -> None:
    import auth

    admin = stack.headers("admin")
    border = DEEP_OFFSET // PER_PAGE  # the last page read in one query; the next one skips DEEP_OFFSET rows
    cases: list[tuple[str, tuple[ColumnElement[Any], ...]]] = [
        ("name", (auth.User.name.asc(), auth.User.id.asc())),
        ("-created_at", (auth.User.created_at.desc(), auth.User.id.desc())),
        ("-name", (auth.User.name.desc(), auth.User.id.desc())),
    ]
    for sort, order in cases:
        pages = []
        for page in (border, border + 1, border + 2):
            response = client.get("/api/users", params={"sort": sort, "page": page, "per_page": PER_PAGE}, headers=admin)
            assert response.status_code == 200, response.json()
            body = response.json()
            assert body["page"] == page and body["total"] > DEEP_OFFSET + PER_PAGE
            pages.append([item["name"] for item in body["items"]])
        together = [name for names in pages for name in names]
        assert together == _expected(order, (border - 1) * PER_PAGE, 3 * PER_PAGE), sort
        assert len(set(together)) == len(together) == 3 * PER_PAGE


def test_pages_near_the_end_are_read_backwards_and_turned_round(client: TestClient, stack: Stack, deep_users: None) -> None:
    import auth

    admin = stack.headers("admin")
    total = client.get("/api/users", params={"per_page": 1}, headers=admin).json()["total"]
    last = -(-total // PER_PAGE)
    middle = total // PER_PAGE // 2 + 1  # the first page whose rows after it are fewer than those before it
    orders: dict[str, tuple[ColumnElement[Any], ...]] = {
        "name": (auth.User.name.asc(), auth.User.id.asc()),
        "-name": (auth.User.name.desc(), auth.User.id.desc()),
        "role": (auth.User.role.asc(), auth.User.id.asc()),  # many ties: the key decides within each role
    }
    for sort, order in orders.items():
        for page in (middle - 1, middle, middle + 1, last - 1, last):
            response = client.get("/api/users", params={"sort": sort, "page": page, "per_page": PER_PAGE}, headers=admin)
            names = [item["name"] for item in response.json()["items"]]
            assert names == _expected(order, (page - 1) * PER_PAGE, PER_PAGE), (sort, page)
            assert len(names) == (total - (last - 1) * PER_PAGE if page == last else PER_PAGE)


def test_a_deep_filtered_page_keeps_the_filter_and_its_fields(client: TestClient, stack: Stack, deep_users: None) -> None:
    import auth

    admin = stack.headers("admin")
    page = DEEP_OFFSET // PER_PAGE + 2  # past DEEP_OFFSET among the editors alone
    response = client.get("/api/users", params={"role": "editor", "page": page, "per_page": PER_PAGE}, headers=admin)
    body = response.json()
    assert response.status_code == 200 and body["total"] >= SEEDED // 2
    names = [item["name"] for item in body["items"]]
    assert len(names) == PER_PAGE
    assert names == _expected((auth.User.name.asc(), auth.User.id.asc()), (page - 1) * PER_PAGE, PER_PAGE, "editor")
    assert {item["role"] for item in body["items"]} == {"editor"}
    assert all(item["display_name"].startswith("Trang ") for item in body["items"] if item["name"].startswith("page-"))
