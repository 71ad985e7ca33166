"""Pages, sorting and date ranges for list endpoints; below every domain, so each of them may import it.

A list answers `{"items": [...], "total": N, "page": P, "per_page": K}`. `?page=` starts at 1, `?per_page=`
is 50 by default and at most 200. `?sort=` takes one key of the endpoint's allow-list, `-` in front for
descending order; anything else is a 422 that lists the valid keys (they are an enum in the OpenAPI schema).
"""

# No `from __future__ import annotations`: FastAPI must see the real Literal built in `sorting()`.

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Depends, Query
from pydantic import AfterValidator, BaseModel
from sqlalchemy import Select, func, inspect, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from apitypes import Moment
from errors import Invalid
from textclean import refuse_nul

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 200
PAGE_MAX = 1_000_000  # keeps OFFSET inside 64 bits whatever per_page is
DEEP_OFFSET = 1000  # from this many rows skipped, a page reads its keys first, then its rows by key


# Free text in a query string (search words, slugs, names): NUL is a 422 (PostgreSQL refuses it in any string).
QueryText = Annotated[str, AfterValidator(refuse_nul)]
# What a sort may order by: a mapped attribute (User.name) or a column expression.
Sortable = QueryableAttribute[Any] | ColumnElement[Any]
# A select of any columns (SQLAlchemy 2.1 types a select by the types of its columns).
AnySelect = Select[*tuple[Any, ...]]
Q = TypeVar("Q", bound=AnySelect)


class Page(BaseModel, Generic[T]):
    """One page of a list and the number of rows that match in all."""

    items: list[T]
    total: int
    page: int
    per_page: int


@dataclass(frozen=True)
class PageParams:
    """Which page of a list was asked for."""

    page: int
    per_page: int

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.per_page


def page_params(
    page: Annotated[int, Query(ge=1, le=PAGE_MAX, description="page number, from 1")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=PER_PAGE_MAX, description=f"rows per page, at most {PER_PAGE_MAX}")
    ] = PER_PAGE_DEFAULT,
) -> PageParams:
    """FastAPI dependency: `?page=&per_page=` (422 below 1 or over the cap)."""
    return PageParams(page, per_page)


Paging = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True)
class Sort:
    """A sort key from an endpoint's allow-list and its direction."""

    key: str
    descending: bool


def sorting(keys: Sequence[str], *, default: str) -> Any:
    """A dependency for `?sort=` restricted to `keys` (each also with a leading `-`); use as `Annotated[Sort, ...]`."""
    values = tuple(v for key in keys for v in (key, f"-{key}"))
    if default not in values:
        raise ValueError(f"default sort {default!r} is not one of {values}")
    choice: Any = Literal[values]
    doc = f"one of: {', '.join(keys)}; a leading '-' sorts descending"

    def dependency(sort: Annotated[choice, Query(description=doc)] = default) -> Sort:
        return Sort(sort.lstrip("-"), sort.startswith("-"))

    return Depends(dependency)


def order_by(sort: Sort, columns: Mapping[str, Sortable], tiebreak: Sortable) -> list[UnaryExpression[Any]]:
    """ORDER BY terms for a sort: the chosen column, then `tiebreak` in the same direction so pages never overlap."""
    column = columns.get(sort.key)
    if column is None:  # the dependency refuses unknown keys; this guards a mapping that lags behind it
        raise Invalid(f"Không sắp xếp được theo '{sort.key}'; dùng: {', '.join(columns)} (unknown sort key)")
    terms = [column.desc() if sort.descending else column.asc()]
    if column is not tiebreak:
        terms.append(tiebreak.desc() if sort.descending else tiebreak.asc())
    return terms


@dataclass(frozen=True)
class Window:
    """A half-open time range `[start, end)` for a created_from/created_to filter."""

    start: datetime | None
    end: datetime | None

    @property
    def bounded(self) -> bool:
        """Whether either end is set."""
        return self.start is not None or self.end is not None


def created_window(
    created_from: Annotated[Moment | None, Query(description="rows created at or after (with a timezone)")] = None,
    created_to: Annotated[Moment | None, Query(description="rows created before (with a timezone)")] = None,
) -> Window:
    """FastAPI dependency: `?created_from=&created_to=`; a datetime without a timezone is a 422."""
    if created_from is not None and created_to is not None and created_to <= created_from:
        raise Invalid("created_to phải sau created_from (created_to must be after created_from)")
    return Window(created_from, created_to)


Created = Annotated[Window, Depends(created_window)]


def within(query: Q, column: Sortable, window: Window) -> Q:
    """The query restricted to rows whose `column` lies in the window."""
    if window.start is not None:
        query = query.where(column >= window.start)
    if window.end is not None:
        query = query.where(column < window.end)
    return query


@dataclass
class Listing(Generic[T]):
    """Rows of one page and the total number of matching rows."""

    rows: list[T]
    total: int


def count(session: Session, query: AnySelect) -> int:
    """How many rows a query matches."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def fetch(
    session: Session,
    query: AnySelect,
    params: PageParams,
    order: Sequence[ColumnElement[Any]],
    *,
    total: int | None = None,
    load: AnySelect | None = None,
) -> Listing[Any]:
    """Run a filtered query for one page, and count every row it matches (unless the caller knows `total`).

    `load`: how a deep page's rows are loaded by key (the entity with the query's loader options, no filters).
    """
    total = count(session, query) if total is None else total
    if params.offset >= total:
        return Listing([], total)
    take = min(params.per_page, total - params.offset)
    skip, after = params.offset, total - params.offset - take
    backwards = after < skip
    if backwards:
        # Nearer the end: walk the order from its other end and turn the page round. Exact, because every order ends
        # in a unique key and both databases move NULLs to the other end when the direction flips.
        skip, order = after, [_flipped(term) for term in order]
    paged = query.order_by(*order).offset(skip).limit(take)
    key = _entity_key(query)
    if skip < DEEP_OFFSET or key is None:
        rows = list(session.scalars(paged))
    else:
        rows = _by_key(session, paged, key, load if load is not None else select(key.class_))
    return Listing(rows[::-1] if backwards else rows, total)


def _by_key(session: Session, paged: AnySelect, key: QueryableAttribute[Any], load: AnySelect) -> list[Any]:
    """A deep page's rows: its keys first, then its rows by key, in the keys' order."""
    # A deep page skips its offset in the sort key's index, which also holds the key: reading whole rows there
    # would fetch every skipped row from the table (15,000 for page 300, 60 ms of 80 on PostgreSQL).
    keys = list(session.scalars(paged.with_only_columns(key)))
    found = {getattr(row, key.key): row for row in session.scalars(load.where(key.in_(keys)))}
    return [found[k] for k in keys if k in found]


def _flipped(term: ColumnElement[Any]) -> ColumnElement[Any]:
    """An ORDER BY term in the other direction (a bare column counts as ascending)."""
    if isinstance(term, UnaryExpression) and term.modifier is operators.desc_op:
        return term.element.asc()
    if isinstance(term, UnaryExpression) and term.modifier is operators.asc_op:
        return term.element.desc()
    return term.desc()


def _entity_key(query: AnySelect) -> QueryableAttribute[Any] | None:
    """The primary-key attribute of the one entity a query selects, or None (several columns, a composite key)."""
    described = query.column_descriptions
    entity = described[0]["entity"] if len(described) == 1 else None
    if entity is None or described[0]["expr"] is not entity:
        return None
    mapper = inspect(entity)
    if len(mapper.primary_key) != 1:
        return None
    attribute: QueryableAttribute[Any] = getattr(entity, mapper.get_property_by_column(mapper.primary_key[0]).key)
    return attribute


def page_of(model: type[M], listing: Listing[Any], params: PageParams, convert: Callable[[Any], M] | None = None) -> Page[M]:
    """The API page of a listing: each row turned into `model` (by attributes unless `convert` is given)."""
    make = convert or model.model_validate
    return Page[model](  # type: ignore[valid-type]  # a page class per model, built at run time for FastAPI
        items=[make(row) for row in listing.rows], total=listing.total, page=params.page, per_page=params.per_page
    )
