"""Users, roles and hashed API tokens, with FastAPI dependencies that check a role."""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy import ForeignKey, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from db import Base, SessionDep, rowcount, session_scope, utcnow
from errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from argon2 import PasswordHasher

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
    # Browser sign-in (the staff web application): an argon2 hash, never the password itself.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Failed sign-ins in a row, the last one, and until when the account is locked after too many (audit of attacks).
    failed_count: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Area scope: a commune officer or a district office sees only this area and what lies beneath it (None: all).
    # No ON DELETE SET NULL: losing the area must never widen a scoped user's view to every area.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
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
    expires_at: Mapped[datetime | None]
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


def issue_token(session: Session, *, user: User, expires_at: datetime | None = None) -> str:
    """Create an API token for a user and return it; it is shown only this once."""
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a timezone")
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), hint=token[:8], expires_at=expires_at))
    session.flush()
    return token


def revoke_tokens(session: Session, *, user: User) -> int:
    """Revoke every live token of a user; returns how many were revoked."""
    result = session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False)).values(revoked=True)
    )
    session.flush()
    return rowcount(result)


def rotate_token(session: Session, *, user: User, expires_at: datetime | None = None) -> str:
    """Revoke a user's tokens and issue a fresh one, shown only this once."""
    revoke_tokens(session, user=user)
    return issue_token(session, user=user, expires_at=expires_at)


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """A user's tokens, newest first (hashes only; the tokens themselves are never stored)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def user_by_name(session: Session, name: str) -> User | None:
    """The user with this name, if any."""
    return session.scalar(select(User).where(User.name == name))


# last_used_at is written at most this often per token, so reads do not turn every request into a write.
LAST_USED_EVERY = timedelta(seconds=60)


def user_for_token(session: Session, token: str) -> User | None:
    """The user a valid token belongs to: not revoked and not expired. Marks the token as used."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False)))
    if row is None:
        return None
    now = utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        _mark_used(row.id, now)
    return row.user


def _mark_used(token_id: int, now: datetime) -> None:
    """Record a token's use in a transaction of its own, so the request's session stays read-only.

    On SQLite a write in the request's session would hold the database's write lock for the whole request.
    """
    with session_scope() as own:
        own.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


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
        raise Unauthorized("Thiếu mã truy cập: gửi 'Authorization: Bearer <token>' (missing token)")
    user = user_for_token(session, token)
    if user is None:
        raise Unauthorized("Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi (invalid, expired or revoked token)")
    if user.role == Role.station:
        raise Forbidden(
            "Tài khoản trạm không dùng được /api; trạm chỉ lấy lịch ở /stations/{id}/... (station accounts cannot use the API)"
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """Dependency factory: the user must hold one of `roles` (admin always passes)."""
    allowed = {r.value for r in roles} | {Role.admin.value}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = ", ".join(sorted(allowed - {Role.admin.value}))
            raise Forbidden(f"Vai trò '{user.role}' không được phép; cần một trong: {names} (forbidden for this role)")
        return user

    return check


Editor = Annotated[User, Depends(require_roles(Role.editor))]
LegalReviewer = Annotated[User, Depends(require_roles(Role.legal_reviewer))]
Admin = Annotated[User, Depends(require_roles())]
Scheduler = Annotated[User, Depends(require_roles(Role.scheduler, Role.producer))]
Staff = Annotated[
    User,
    Depends(require_roles(Role.editor, Role.legal_reviewer, Role.producer, Role.scheduler)),
]
Maker = Annotated[User, Depends(require_roles(Role.editor, Role.producer))]


# --- passwords and browser sessions (the staff web application) ------------------------------------

MIN_PASSWORD_LENGTH = 8
MAX_FAILURES = 5  # failed sign-ins in a row before the account is locked
LOCK_FOR = timedelta(minutes=15)
SESSION_IDLE = timedelta(hours=8)  # a session unused this long ends
SESSION_MAX = timedelta(days=7)  # and none outlives this
SESSION_TOUCH_EVERY = timedelta(seconds=60)


class WebSession(Base):
    """A signed-in browser: only the SHA-256 of its random id is stored, with its CSRF token."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user: Mapped[User] = relationship()


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


# Verified against unknown names, so a wrong name takes as long as a wrong password.
_DUMMY_HASH: list[str] = []


def hash_password(password: str) -> str:
    """An argon2id hash of a password (refuses one shorter than MIN_PASSWORD_LENGTH)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự (password too short)")
    return _hasher().hash(password)


def set_password(session: Session, *, user: User, password: str) -> None:
    """Set a user's password, lift any lock-out, and end the user's browser sessions."""
    user.password_hash = hash_password(password)
    user.failed_count = 0
    user.locked_until = None
    end_sessions(session, user=user)
    session.flush()


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: `user` when it succeeded; otherwise why not."""

    user: User | None
    locked_until: datetime | None = None


def _verify(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_hasher().hash(secrets.token_hex(16)))
    try:
        return _hasher().verify(stored or _DUMMY_HASH[0], password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, *, name: str, password: str) -> SignIn:
    """Check a name and password; counts failures and locks the account for LOCK_FOR after MAX_FAILURES in a row."""
    user = user_by_name(session, name)
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        return SignIn(None, user.locked_until)
    if user is None or user.role == Role.station or not _verify(user.password_hash, password):
        if user is not None:
            expired_lock = user.locked_until is not None and user.locked_until <= now
            user.failed_count = 1 if expired_lock else user.failed_count + 1
            user.last_failed_at = now
            user.locked_until = now + LOCK_FOR if user.failed_count >= MAX_FAILURES else None
            session.flush()
            return SignIn(None, user.locked_until)
        return SignIn(None)
    if _hasher().check_needs_rehash(user.password_hash or ""):
        user.password_hash = _hasher().hash(password)
    user.failed_count = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return SignIn(user)


def start_session(session: Session, *, user: User) -> tuple[str, WebSession]:
    """Open a browser session for a user: the random id for the cookie (shown once) and its row."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))  # sessions that ended lie around no longer
    row = WebSession(
        token_hash=hash_token(raw),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_IDLE,
        csrf_token=secrets.token_urlsafe(32),
    )
    session.add(row)
    session.flush()
    return raw, row


def session_for(session: Session, raw: str) -> WebSession | None:
    """The live browser session with this cookie id (its user loaded), sliding its idle expiry; None if none."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(raw)))
    now = utcnow()
    if row is None or row.expires_at <= now or row.user.role == Role.station:
        return None
    if now - row.last_seen_at >= SESSION_TOUCH_EVERY:
        expires = min(row.created_at + SESSION_MAX, now + SESSION_IDLE)
        # Its own transaction, like a token's last use: page views stay read-only on SQLite.
        with session_scope() as own:
            own.execute(update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now, expires_at=expires))
    return row


def end_session(session: Session, raw: str) -> None:
    """Sign a browser out: its session row is deleted."""
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(raw)))
    session.flush()


def end_sessions(session: Session, *, user: User) -> None:
    """Sign a user out everywhere (after a password reset), and drop expired sessions of anyone."""
    session.execute(delete(WebSession).where((WebSession.user_id == user.id) | (WebSession.expires_at <= utcnow())))
