"""Authentication and per-endpoint role checks (FastAPI dependencies)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import select

from spoton.api.state import AppState, get_state
from spoton.db import User
from spoton.errors import AuthenticationError, PermissionDeniedError
from spoton.security import Role, role_allows

__all__ = [
    "INT32_MAX",
    "DbId",
    "FrameNo",
    "Principal",
    "TaskId",
    "authenticate_token",
    "require",
    "require_admin",
    "require_operator",
    "require_viewer",
]


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    token_id: str
    client_ip: str | None


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("missing bearer token (Authorization: Bearer <token>)")
    return token.strip()


async def authenticate_token(state: AppState, token: str, client_ip: str | None) -> Principal:
    """Verify the token, then that its user still exists, is active and still has that role."""
    claims = state.tokens.verify(token)
    async with state.db.session() as session:
        user = (await session.execute(select(User).where(User.username == claims.subject))).scalar_one_or_none()
    if user is None or not user.is_active:
        raise AuthenticationError("the token's user no longer exists or is disabled")
    if user.role != claims.role.value:
        raise AuthenticationError("the user's role changed since the token was issued; log in again")
    return Principal(user.username, Role(user.role), claims.token_id, client_ip)


def require(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        state = get_state(request)
        principal = await authenticate_token(state, _bearer(request), request.client.host if request.client else None)
        if not role_allows(principal.role, role):
            raise PermissionDeniedError(f"this action needs the {role.value} role; you are {principal.role.value}")
        return principal

    dependency.__name__ = f"require_{role.value}"
    return dependency


require_viewer = require(Role.VIEWER)
require_operator = require(Role.OPERATOR)
require_admin = require(Role.ADMIN)

Viewer = Annotated[Principal, Depends(require_viewer)]
Operator = Annotated[Principal, Depends(require_operator)]
Admin = Annotated[Principal, Depends(require_admin)]
State = Annotated[AppState, Depends(get_state)]

INT32_MAX = 2_147_483_647  # ids and frame numbers are 32-bit in every backend
DbId = Annotated[int, Path(ge=1, le=INT32_MAX)]
FrameNo = Annotated[int, Path(ge=0, le=INT32_MAX)]
TaskId = Annotated[str, Path(min_length=1, max_length=64)]
