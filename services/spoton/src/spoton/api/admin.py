"""Admin-only user management and the audit trail (ENABLE_ADMIN_ENDPOINTS)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from spoton.api.deps import INT32_MAX, Admin, DbId, State
from spoton.api.schemas import UserIn, UserOut
from spoton.db import AuditEntry, User, record_audit
from spoton.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/admin", tags=["admin"])


def _user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


@router.get("/users", response_model=list[UserOut])
async def list_users(admin: Admin, state: State) -> list[UserOut]:
    async with state.db.session() as session:
        users = (await session.execute(select(User).order_by(User.id))).scalars().all()
    return [_user_out(u) for u in users]


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(body: UserIn, admin: Admin, state: State) -> UserOut:
    password_hash = state.hasher.hash(body.password)
    async with state.db.session() as session:
        user = User(username=body.username, password_hash=password_hash, role=body.role.value)
        session.add(user)
        record_audit(
            session, actor=admin.username, action="user.create", target=f"user:{body.username}",
            details={"role": body.role.value}, client_ip=admin.client_ip,
        )  # fmt: skip
        try:
            await session.commit()
        except IntegrityError:
            raise ConflictError(f"user {body.username!r} already exists") from None
        return _user_out(user)


@router.post("/users/{user_id}/deactivate", response_model=UserOut)
async def deactivate_user(user_id: DbId, admin: Admin, state: State) -> UserOut:
    async with state.db.session() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFoundError("user", user_id)
        if user.username == admin.username:
            raise InvalidInputError("you cannot deactivate yourself")
        user.is_active = False
        record_audit(session, actor=admin.username, action="user.deactivate", target=f"user:{user.username}",
                     client_ip=admin.client_ip)  # fmt: skip
        await session.commit()
        return _user_out(user)


@router.get("/audit")
async def audit_log(
    admin: Admin,
    state: State,
    limit: int = Query(default=100, ge=1, le=1000),
    before_id: int | None = Query(default=None, ge=1, le=INT32_MAX),
    action: str | None = Query(default=None, max_length=64),
) -> list[dict[str, Any]]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    async with state.db.session() as session:
        rows = (await session.execute(query)).scalars().all()
    return [
        {"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "action": r.action, "target": r.target,
         "details": r.details, "client_ip": r.client_ip}
        for r in rows
    ]  # fmt: skip
