"""Login, token tampering, revocation by role change or deactivation, key rotation over HTTP."""

from __future__ import annotations

import base64
import json

from spoton.db import AuditEntry, User
from sqlalchemy import select, update

from ..conftest import JWT_KEY, PASSWORD


async def test_login_issues_a_working_token_and_is_audited(service) -> None:
    p = service.prefix
    r = await service.client.post(f"{p}/auth/token", json={"username": "operator-user", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "operator"
    assert body["expires_in"] == 3600
    me = await service.client.get(f"{p}/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"username": "operator-user", "role": "operator"}
    bad = await service.client.post(f"{p}/auth/token", json={"username": "operator-user", "password": "nope" * 4})
    nobody = await service.client.post(f"{p}/auth/token", json={"username": "ghost", "password": PASSWORD})
    assert bad.status_code == nobody.status_code == 401
    assert bad.json()["detail"] == nobody.json()["detail"]  # no user enumeration
    async with service.state.db.session() as session:
        actions = (await session.execute(select(AuditEntry.action, AuditEntry.actor))).all()
    assert ("auth.login", "operator-user") in actions
    assert ("auth.login_failed", "ghost") in actions


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_tampered_tokens_get_401(service) -> None:
    header, payload, signature = service.tokens["viewer"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = [
        f"{header}.{_b64({**claims, 'role': 'admin'})}.{signature}",
        f"{header}.{_b64({**claims, 'sub': 'admin-user'})}.{signature}",
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        f"{header}.{payload}.{signature[::-1]}",
        "Bearer",
        "x" * 5000,
    ]
    for token in forged:
        r = await service.client.post(
            f"{service.prefix}/system/maintenance/clear-cache", headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 401, token
        assert r.json()["error"] == "not_authenticated"


async def test_role_change_and_deactivation_revoke_tokens(service) -> None:
    p = service.prefix
    async with service.state.db.session() as session:
        await session.execute(update(User).where(User.username == "operator-user").values(role="viewer"))
        await session.commit()
    r = await service.client.get(f"{p}/auth/me", headers=service.auth("operator"))
    assert r.status_code == 401
    assert "role changed" in r.json()["detail"]
    async with service.state.db.session() as session:
        viewer_id = (await session.execute(select(User.id).where(User.username == "viewer-user"))).scalar_one()
    r = await service.client.post(f"{p}/admin/users/{viewer_id}/deactivate", headers=service.auth("admin"))
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    assert (await service.client.get(f"{p}/auth/me", headers=service.auth("viewer"))).status_code == 401


async def test_admin_creates_users_without_default_passwords(service) -> None:
    p = service.prefix
    weak = await service.client.post(
        f"{p}/admin/users", json={"username": "op2", "password": "short", "role": "operator"},
        headers=service.auth("admin"),
    )  # fmt: skip
    assert weak.status_code == 422
    ok = await service.client.post(
        f"{p}/admin/users", json={"username": "op2", "password": "a sturdy passphrase 42", "role": "operator"},
        headers=service.auth("admin"),
    )  # fmt: skip
    assert ok.status_code == 201
    assert "password" not in ok.text
    again = await service.client.post(
        f"{p}/admin/users", json={"username": "op2", "password": "a sturdy passphrase 42", "role": "viewer"},
        headers=service.auth("admin"),
    )  # fmt: skip
    assert again.status_code == 409
    audit = await service.client.get(f"{p}/admin/audit?action=user.create", headers=service.auth("admin"))
    assert [e["target"] for e in audit.json()] == ["user:op2"]


async def test_key_rotation_keeps_old_tokens_during_the_grace_period(service_factory) -> None:
    new_key = "c0ffee" + JWT_KEY[6:][::-1]
    async with service_factory() as old:
        old_token = old.tokens["admin"]
    # Same database (same tmp dir), new key; the old one listed as previous.
    async with service_factory(JWT_SECRET_KEY=new_key, JWT_PREVIOUS_SECRET_KEYS=[JWT_KEY]) as rotated:
        headers = {"Authorization": f"Bearer {old_token}"}
        assert (await rotated.client.get(f"{rotated.prefix}/auth/me", headers=headers)).status_code == 200
    async with service_factory(JWT_SECRET_KEY=new_key) as retired:
        r = await retired.client.get(f"{retired.prefix}/auth/me", headers={"Authorization": f"Bearer {old_token}"})
        assert r.status_code == 401
