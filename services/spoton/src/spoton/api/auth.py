"""Log in (password -> JWT) and who-am-I. Users are created by `spoton users create` or an admin."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from sqlalchemy import select

from spoton.api.deps import State, Viewer
from spoton.api.schemas import LoginIn, TokenOut
from spoton.db import User, record_audit
from spoton.errors import AuthenticationError
from spoton.security import Role

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut)
async def login(body: LoginIn, request: Request, state: State) -> TokenOut:
    client_ip = request.client.host if request.client else None
    async with state.db.session() as session:
        user = (await session.execute(select(User).where(User.username == body.username))).scalar_one_or_none()
        stored = user.password_hash if user is not None and user.is_active else None
        # argon2 is deliberately slow: keep it off the event loop.
        ok = await asyncio.get_running_loop().run_in_executor(None, state.hasher.verify, stored, body.password)
        if not ok or user is None:
            record_audit(session, actor=body.username[:64], action="auth.login_failed", client_ip=client_ip)
            await session.commit()
            raise AuthenticationError("wrong username or password")
        if state.hasher.needs_rehash(user.password_hash):
            user.password_hash = state.hasher.hash(body.password)
        record_audit(session, actor=user.username, action="auth.login", client_ip=client_ip)
        await session.commit()
    token, claims = state.tokens.issue(user.username, Role(user.role))
    return TokenOut(
        access_token=token, expires_in=int((claims.expires_at - claims.issued_at).total_seconds()), role=claims.role
    )


@router.get("/me")
async def me(user: Viewer) -> dict[str, str]:
    return {"username": user.username, "role": user.role.value}
