"""Users (admin): create users with a password, set role and area scope, reset a password, revoke API tokens, and see
the last sign-in of each.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

import auth
from apitypes import Id
from broadcast import lists as broadcast_lists
from broadcast.models import Area
from db import SessionDep, utcnow
from errors import Conflict, Invalid, NotFound, ServiceError
from pagination import PageParams, Sort
from textclean import clean_name
from web.pages_documents import PageNo, Search, pages_of
from web.render import PageRoute, page, redirect
from web.security import Acting, SignedIn, Viewer

router = APIRouter(route_class=PageRoute)
PER_PAGE = 50
ROLES = tuple(role.value for role in auth.Role if role != auth.Role.station)  # stations have their own tokens
NAME = re.compile(r"^[\w.@-]{2,120}$")
AreaField = Annotated[str, Form(max_length=20)]


def area_options(session: Session) -> list[tuple[Area, int]]:
    """Every area with its depth in the tree, in tree order (names sorted), for a scope <select>."""
    out: list[tuple[Area, int]] = []

    def walk(nodes: list[broadcast_lists.AreaNode], depth: int) -> None:
        for node in nodes:
            out.append((node.area, depth))
            walk(node.children, depth + 1)

    walk(broadcast_lists.area_tree(session, params=PageParams(1, 100_000), sort=Sort("name", False)).rows, 0)
    return out


def _area_id(session: Session, value: str, who: Viewer) -> int | None:
    """The scope chosen in the form: empty for every area, else an existing area's id."""
    if not value.strip():
        return None
    if not value.strip().isdigit() or session.get(Area, int(value)) is None:
        raise Invalid(who._("Địa bàn đã chọn không tồn tại."))
    return int(value)


def _display(value: str, fallback: str | None, who: Viewer) -> str | None:
    """A display name on one line (controls removed), or the fallback when empty."""
    try:
        return clean_name(value)[:200] or fallback
    except ValueError as exc:
        raise Invalid(who._("Tên hiển thị không hợp lệ.")) from exc


def _role(value: str, who: Viewer) -> str:
    if value not in ROLES:
        raise Invalid(who._("Vai trò không hợp lệ."))
    return value


def _live_tokens(session: Session, user_ids: list[int]) -> dict[int, int]:
    now = utcnow()
    query = (
        select(auth.ApiToken.user_id, func.count())
        .where(
            auth.ApiToken.user_id.in_(user_ids or [-1]),
            auth.ApiToken.revoked.is_(False),
            or_(auth.ApiToken.expires_at.is_(None), auth.ApiToken.expires_at > now),
        )
        .group_by(auth.ApiToken.user_id)
    )
    return {user_id: int(n) for user_id, n in session.execute(query)}


def users_page(
    request: Request,
    session: Session,
    who: Viewer,
    *,
    q: str = "",
    role: str = "",
    page_no: int = 1,
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The users list with the creation form (also re-rendered with a refusal)."""
    query = select(auth.User).where(auth.User.role != auth.Role.station.value)
    if q.strip():
        query = query.where(
            auth.User.name.icontains(q.strip(), autoescape=True) | auth.User.display_name.icontains(q.strip(), autoescape=True)
        )
    if role in ROLES:
        query = query.where(auth.User.role == role)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    users = list(session.scalars(query.order_by(auth.User.name).offset((page_no - 1) * PER_PAGE).limit(PER_PAGE)))
    areas = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_({u.area_id for u in users if u.area_id})))}
    return page(
        request,
        who,
        "app/users.html",
        {
            "users": users,
            "areas": areas,
            "tokens": _live_tokens(session, [u.id for u in users]),
            "total": total,
            "q": q,
            "role": role,
            "page_no": page_no,
            "pages": pages_of(total, PER_PAGE),
            "roles": ROLES,
            "options": area_options(session),
            "error": error,
            "form": form or {},
            "now": utcnow(),
            "min_password": auth.MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/users")
def users(
    request: Request,
    session: SessionDep,
    who: SignedIn,
    q: Search = None,
    role: Annotated[str, Query(max_length=40)] = "",
    page_no: PageNo = 1,
) -> Response:
    """Every staff user: role, area scope, last sign-in, live API tokens; and a form to add one."""
    who.need("admin")
    return users_page(request, session, who, q=q or "", role=role, page_no=page_no)


@router.post("/users")
def create(
    request: Request,
    session: SessionDep,
    who: Acting,
    name: Annotated[str, Form(max_length=240)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=40)],
    display_name: Annotated[str, Form(max_length=400)] = "",
    area_id: AreaField = "",
) -> Response:
    """Create a user who signs in with this password."""
    who.need("admin")
    form = {"name": name, "display_name": display_name, "role": role, "area_id": area_id}
    try:
        name = name.strip()
        if not NAME.match(name):
            raise Invalid(who._("Tên đăng nhập cần 2–120 ký tự: chữ, số, dấu chấm, gạch ngang, gạch dưới hoặc @."))
        if auth.user_by_name(session, name) is not None:
            raise Conflict(who._("Tên đăng nhập %(name)s đã có người dùng.", name=name))
        if len(password) < auth.MIN_PASSWORD_LENGTH:
            raise Invalid(who._("Mật khẩu cần ít nhất %(n)s ký tự.", n=auth.MIN_PASSWORD_LENGTH))
        user = auth.create_user(session, name=name, role=_role(role, who), display_name=_display(display_name, None, who))
        user.area_id = _area_id(session, area_id, who)
        auth.set_password(session, user=user, password=password)
    except ServiceError as exc:
        session.rollback()
        return users_page(request, session, who, error=exc.detail, form=form, status_code=exc.status)
    session.commit()
    return redirect(f"/app/users/{user.id}", who._("Đã tạo người dùng %(name)s.", name=user.name))


def _user(session: Session, user_id: int, who: Viewer) -> auth.User:
    user = session.get(auth.User, user_id)
    if user is None or user.role == auth.Role.station.value:
        raise NotFound(who._("Không có người dùng %(id)s.", id=user_id))
    return user


def user_page(
    request: Request, session: Session, who: Viewer, user: auth.User, *, error: str = "", status_code: int = 200
) -> Response:
    """One user's page: role and scope, password reset, API tokens."""
    return page(
        request,
        who,
        "app/user.html",
        {
            "person": user,
            "area": session.get(Area, user.area_id) if user.area_id else None,
            "roles": ROLES,
            "options": area_options(session),
            "tokens": auth.tokens_of(session, user),
            "live": _live_tokens(session, [user.id]).get(user.id, 0),
            "error": error,
            "now": utcnow(),
            "min_password": auth.MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/users/{user_id}")
def user(user_id: Id, request: Request, session: SessionDep, who: SignedIn) -> Response:
    """A user's role, area scope, sign-in record and tokens."""
    who.need("admin")
    return user_page(request, session, who, _user(session, user_id, who))


def _attempt(request: Request, session: Session, who: Viewer, user: auth.User, change: Any, message: str) -> Response:
    """Apply a change to a user; a refusal shows the user's page with the reason."""
    try:
        change()
    except ServiceError as exc:
        session.rollback()
        return user_page(request, session, who, _user(session, user.id, who), error=exc.detail, status_code=exc.status)
    session.commit()
    return redirect(f"/app/users/{user.id}", message)


@router.post("/users/{user_id}")
def update(
    user_id: Id,
    request: Request,
    session: SessionDep,
    who: Acting,
    role: Annotated[str, Form(max_length=40)],
    display_name: Annotated[str, Form(max_length=400)] = "",
    area_id: AreaField = "",
) -> Response:
    """Set a user's role, display name and area scope (an admin cannot remove their own admin role)."""
    who.need("admin")
    person = _user(session, user_id, who)

    def change() -> None:
        if person.id == who.user.id and role != auth.Role.admin.value:
            raise Invalid(who._("Bạn không thể tự bỏ quyền quản trị của mình; hãy nhờ một quản trị viên khác."))
        person.role = _role(role, who)
        person.display_name = _display(display_name, person.name, who)
        person.area_id = _area_id(session, area_id, who)
        session.flush()

    return _attempt(request, session, who, person, change, who._("Đã lưu vai trò và địa bàn của %(name)s.", name=person.name))


@router.post("/users/{user_id}/password")
def reset_password(
    user_id: Id, request: Request, session: SessionDep, who: Acting, password: Annotated[str, Form(max_length=1024)]
) -> Response:
    """Set a new password: it also lifts a lock-out and signs the user out of every browser."""
    who.need("admin")
    person = _user(session, user_id, who)

    def change() -> None:
        if len(password) < auth.MIN_PASSWORD_LENGTH:
            raise Invalid(who._("Mật khẩu cần ít nhất %(n)s ký tự.", n=auth.MIN_PASSWORD_LENGTH))
        auth.set_password(session, user=person, password=password)

    return _attempt(
        request,
        session,
        who,
        person,
        change,
        who._("Đã đặt mật khẩu mới cho %(name)s; các phiên đăng nhập cũ đã kết thúc.", name=person.name),
    )


@router.post("/users/{user_id}/tokens/revoke")
def revoke(user_id: Id, session: SessionDep, who: Acting) -> Response:
    """Revoke every live API token of the user (clients using them get 401 at once)."""
    who.need("admin")
    person = _user(session, user_id, who)
    revoked = auth.revoke_tokens(session, user=person)
    session.commit()
    return redirect(
        f"/app/users/{person.id}", who._("Đã thu hồi %(n)s mã truy cập API của %(name)s.", n=revoked, name=person.name)
    )
