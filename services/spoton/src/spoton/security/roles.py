"""Three roles, strictly ordered: every operator may do what a viewer may, every admin what an operator may."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROLES", "Role", "role_allows"]


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


ROLES: tuple[Role, ...] = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)


def role_allows(actual: Role | str, required: Role) -> bool:
    try:
        rank = ROLES.index(Role(actual))
    except ValueError:
        return False
    return rank >= ROLES.index(required)
