"""The read-only database role the service should connect as (the API never writes).

`reader_role_statements(role)` is what `indoormaps grant-reader ROLE` runs as the schema owner:
role-level defaults that hold on every connection, pooled or not (PgBouncer in transaction mode
rejects per-connection `options`), plus SELECT on the tables.
"""

from __future__ import annotations

import re

from indoormaps.errors import InvalidParameter

__all__ = ["reader_role_statements"]

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def reader_role_statements(role: str, *, statement_timeout_ms: int = 5000) -> list[str]:
    if not _ROLE.match(role):
        raise InvalidParameter("role", "expected a lowercase PostgreSQL identifier")
    if not 10 <= statement_timeout_ms <= 600_000:
        raise InvalidParameter("statement_timeout_ms", "must lie in [10, 600000]")
    return [
        f"ALTER ROLE {role} SET default_transaction_read_only = on",
        f"ALTER ROLE {role} SET statement_timeout = {int(statement_timeout_ms)}",
        f"ALTER ROLE {role} SET idle_in_transaction_session_timeout = {max(int(statement_timeout_ms) * 2, 10_000)}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
    ]
