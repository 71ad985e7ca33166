"""Admin API for users and their API tokens: list, create, revoke, rotate (with an optional expiry)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import auth
from apitypes import Id
from db import SessionDep, utcnow
from errors import Conflict, Invalid, NotFound
from pagination import Page, Paging, Sort, fetch, order_by, page_of, sorting
from textclean import clean_optional_name

router = APIRouter(prefix="/api/users", tags=["users"])
MAX_TOKEN_DAYS = 3650


class TokenOut(BaseModel):
    """An API token as admins see it: never the token itself, only its first characters."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    hint: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool


class UserOut(BaseModel):
    """A user account with its role."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    display_name: str | None
    created_at: datetime
    last_used_at: datetime | None = None


class UserIn(BaseModel):
    """A new user."""

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._@-]+$")
    role: auth.Role
    # One line like every name: NUL refused (PostgreSQL cannot store it), control and bidi characters out.
    display_name: Annotated[str | None, AfterValidator(clean_optional_name)] = Field(default=None, max_length=200)


class RotateIn(BaseModel):
    """How long a new token lives; none means until revoked."""

    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_TOKEN_DAYS)


class NewToken(BaseModel):
    """A freshly issued token: shown only in this answer."""

    user: UserOut
    token: str
    expires_at: datetime | None
    revoked: int = 0


def _user(session: Session, user_id: int) -> auth.User:
    user = session.get(auth.User, user_id)
    if user is None:
        raise NotFound(f"Không có người dùng {user_id} (user not found)")
    return user


def _last_used(session: Session, user_ids: list[int]) -> dict[int, datetime]:
    rows = session.execute(
        select(auth.ApiToken.user_id, func.max(auth.ApiToken.last_used_at))
        .where(auth.ApiToken.user_id.in_(user_ids or [-1]))
        .group_by(auth.ApiToken.user_id)
    ).all()
    return {user_id: when for user_id, when in rows if when is not None}


def _expiry(days: int | None) -> datetime | None:
    return utcnow() + timedelta(days=days) if days else None


USER_SORTS = sorting(("name", "created_at", "role"), default="name")


@router.get("", response_model=Page[UserOut])
def list_users(
    session: SessionDep,
    admin: auth.Admin,
    paging: Paging,
    sort: Annotated[Sort, USER_SORTS],
    role: auth.Role | None = None,
) -> Page[UserOut]:
    """Every user, with when each last used a token (admin)."""
    query = select(auth.User)
    if role is not None:
        query = query.where(auth.User.role == role.value)
    columns = {"name": auth.User.name, "created_at": auth.User.created_at, "role": auth.User.role}
    listing = fetch(session, query, paging, order_by(sort, columns, auth.User.id))
    used = _last_used(session, [u.id for u in listing.rows])
    return page_of(
        UserOut, listing, paging, lambda u: UserOut.model_validate(u).model_copy(update={"last_used_at": used.get(u.id)})
    )


@router.post("", response_model=NewToken, status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, session: SessionDep, admin: auth.Admin) -> NewToken:
    """Create a user and its first API token."""
    if auth.user_by_name(session, body.name) is not None:
        raise Conflict(f"Người dùng '{body.name}' đã tồn tại (user exists)")
    user = auth.create_user(session, name=body.name, role=body.role, display_name=body.display_name)
    token = auth.issue_token(session, user=user)
    session.commit()
    return NewToken(user=UserOut.model_validate(user), token=token, expires_at=None)


@router.get("/{user_id}/tokens", response_model=list[TokenOut])
def list_tokens(user_id: Id, session: SessionDep, admin: auth.Admin) -> list[TokenOut]:
    """A user's tokens, newest first, with when each was last used."""
    return [TokenOut.model_validate(t) for t in auth.tokens_of(session, _user(session, user_id))]


@router.post("/{user_id}/tokens", response_model=NewToken, status_code=status.HTTP_201_CREATED)
def rotate_token(user_id: Id, session: SessionDep, admin: auth.Admin, body: RotateIn | None = None) -> NewToken:
    """Revoke a user's tokens and issue a new one (optionally expiring); the new token is shown once."""
    user = _user(session, user_id)
    if user.role == auth.Role.station:
        raise Invalid("Tài khoản trạm dùng mã trạm: xoay mã ở /api/stations/{id}/token (use the station token endpoint)")
    body = body or RotateIn()
    revoked = auth.revoke_tokens(session, user=user)
    expires_at = _expiry(body.expires_in_days)
    token = auth.issue_token(session, user=user, expires_at=expires_at)
    session.commit()
    return NewToken(user=UserOut.model_validate(user), token=token, expires_at=expires_at, revoked=revoked)


@router.delete("/{user_id}/tokens", response_model=list[TokenOut])
def revoke_tokens(user_id: Id, session: SessionDep, admin: auth.Admin) -> list[TokenOut]:
    """Revoke every token of a user at once (a lost laptop, a person who left)."""
    user = _user(session, user_id)
    auth.revoke_tokens(session, user=user)
    session.commit()
    return [TokenOut.model_validate(t) for t in auth.tokens_of(session, user)]
