"""Users, roles and hashed API tokens, with FastAPI dependencies that check a role."""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from db import Base, SessionDep, utcnow

TOKEN_PREFIX = "lc_"


class Role(enum.StrEnum):
    """What a user may do; admin may do everything."""

    admin = "admin"
    editor = "editor"
    legal_reviewer = "legal_reviewer"
    producer = "producer"
    scheduler = "scheduler"
    station = "station"


class User(Base):
    """A person or system account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(Base):
    """An API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)
    user: Mapped[User] = relationship(back_populates="tokens")


def hash_token(token: str) -> str:
    """SHA-256 of a token; tokens are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token with a recognisable prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_user(session: Session, *, name: str, role: Role | str, display_name: str | None = None) -> User:
    """Create a user; the name must be unused."""
    role = Role(role)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise ValueError(f"Người dùng '{name}' đã tồn tại (user exists)")
    user = User(name=name, role=role.value, display_name=display_name or name)
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, *, user: User) -> str:
    """Create an API token for a user and return it; it is shown only this once."""
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), hint=token[:8]))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The user a valid, unrevoked token belongs to."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False))
    )
    return row.user if row else None


def bearer_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer ...`, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_user(request: Request, session: SessionDep) -> User:
    """Authenticate the request; 401 when the token is missing or wrong."""
    token = bearer_token(request)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Thiếu mã truy cập: gửi 'Authorization: Bearer <token>' (missing token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = user_for_token(session, token)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Mã truy cập không hợp lệ hoặc đã bị thu hồi (invalid or revoked token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """Dependency factory: the user must hold one of `roles` (admin always passes)."""
    allowed = {r.value for r in roles} | {Role.admin.value}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = ", ".join(sorted(allowed - {Role.admin.value}))
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"Vai trò '{user.role}' không được phép; cần một trong: {names} (forbidden for this role)",
            )
        return user

    return check


Editor = Annotated[User, Depends(require_roles(Role.editor))]
Reviewer = Annotated[User, Depends(require_roles(Role.editor, Role.legal_reviewer, Role.producer))]
Producer = Annotated[User, Depends(require_roles(Role.producer))]
Scheduler = Annotated[User, Depends(require_roles(Role.scheduler, Role.producer))]
Staff = Annotated[
    User,
    Depends(require_roles(Role.editor, Role.legal_reviewer, Role.producer, Role.scheduler)),
]
Maker = Annotated[User, Depends(require_roles(Role.editor, Role.producer))]
