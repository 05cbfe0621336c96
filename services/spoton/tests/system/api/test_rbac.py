"""Every route of the app against every role: the matrix below must list each one exactly.

A new route fails `test_matrix_lists_every_route` until someone decides who may call it.
"""

from __future__ import annotations

import re
from typing import Any

from ..conftest import inner_fastapi

MATRIX: dict[tuple[str, str], str | None] = {
    ("POST", "/auth/token"): None,
    ("GET", "/auth/me"): "viewer",
    ("GET", "/admin/users"): "admin",
    ("POST", "/admin/users"): "admin",
    ("POST", "/admin/users/{user_id}/deactivate"): "admin",
    ("GET", "/admin/audit"): "admin",
    ("GET", "/environments"): "viewer",
    ("POST", "/environments"): "operator",
    ("POST", "/environments/demo"): "operator",
    ("GET", "/environments/{env_id}"): "viewer",
    ("PATCH", "/environments/{env_id}"): "operator",
    ("DELETE", "/environments/{env_id}"): "operator",
    ("GET", "/environments/{env_id}/cameras"): "viewer",
    ("POST", "/environments/{env_id}/cameras"): "operator",
    ("GET", "/environments/{env_id}/cameras/{cam_id}"): "viewer",
    ("PATCH", "/environments/{env_id}/cameras/{cam_id}"): "operator",
    ("DELETE", "/environments/{env_id}/cameras/{cam_id}"): "operator",
    ("POST", "/environments/{env_id}/cameras/{cam_id}/calibration"): "operator",
    ("POST", "/videos"): "operator",
    ("POST", "/tasks"): "operator",
    ("GET", "/tasks"): "viewer",
    ("GET", "/tasks/{task_id}"): "viewer",
    ("POST", "/tasks/{task_id}/stop"): "operator",
    ("GET", "/tasks/{task_id}/live"): "viewer",
    ("GET", "/tasks/{task_id}/detections"): "viewer",
    ("GET", "/tasks/{task_id}/frames/{frame}"): "viewer",
    ("GET", "/tasks/{task_id}/tracks"): "viewer",
    ("GET", "/tasks/{task_id}/persons"): "viewer",
    ("GET", "/tasks/{task_id}/persons/{person_id}/trajectory"): "viewer",
    ("GET", "/analytics/tasks/{task_id}/zone-events"): "viewer",
    ("GET", "/analytics/tasks/{task_id}/dwell"): "viewer",
    ("GET", "/analytics/tasks/{task_id}/occupancy"): "viewer",
    ("GET", "/analytics/tasks/{task_id}/tripwires"): "viewer",
    ("GET", "/analytics/tasks/{task_id}/journeys"): "viewer",
    ("GET", "/analytics/tasks/{task_id}/speeds"): "viewer",
    ("GET", "/analytics/tasks/{task_id}/transitions"): "viewer",
    ("GET", "/analytics/tasks/{task_id}/heatmap"): "viewer",
    ("GET", "/tasks/{task_id}/links"): "viewer",
    ("POST", "/exports"): "operator",
    ("GET", "/exports/{export_id}"): "viewer",
    ("GET", "/exports/{export_id}/download"): "viewer",
    ("GET", "/gdpr/persons/{person_id}"): "admin",
    ("DELETE", "/gdpr/persons/{person_id}"): "admin",
    ("GET", "/system/performance/metrics"): "viewer",
    ("GET", "/system/performance/dashboard"): "viewer",
    ("GET", "/system/health/comprehensive"): "viewer",
    ("GET", "/system/alerts"): "viewer",
    ("POST", "/system/maintenance/garbage-collect"): "admin",
    ("POST", "/system/maintenance/clear-cache"): "admin",
}
RANK = {None: -1, "viewer": 0, "operator": 1, "admin": 2}


def _routes(app: Any, prefix: str) -> set[tuple[str, str]]:
    """Every HTTP route from the OpenAPI document (no route of ours is hidden from it)."""
    schema = inner_fastapi(app).openapi()
    return {(method.upper(), path.removeprefix(prefix)) for path, ops in schema["paths"].items() for method in ops}


async def test_matrix_lists_every_route(service) -> None:
    routes = _routes(service.app, service.prefix)
    assert routes == set(MATRIX)


async def test_each_route_enforces_its_role(service) -> None:
    """One app for the whole matrix (each request is independent: a dummy id never exists)."""
    wrong = []
    for (method, path), required in sorted(MATRIX.items()):
        url = service.prefix + re.sub(r"\{[^}]+\}", "999999", path)
        for role in (None, "viewer", "operator", "admin"):
            headers = service.auth(role) if role else {}
            body = {} if method != "GET" else None
            response = await service.client.request(method, url, headers=headers, json=body)
            status = response.status_code
            if required is None:
                ok = status not in (401, 403)
            elif role is None:
                ok = status == 401 and response.headers.get("www-authenticate") == "Bearer"
                ok = ok and response.json()["error"] == "not_authenticated"
            elif RANK[role] < RANK[required]:
                ok = status == 403 and response.json()["error"] == "forbidden"
            else:
                ok = status not in (401, 403)
            if not ok:
                wrong.append((method, path, role, status))
    assert wrong == []


async def test_admin_routes_disappear_when_disabled(service_factory) -> None:
    async with service_factory(ENABLE_ADMIN_ENDPOINTS=False, ENABLE_EXPORT_ENDPOINTS=False) as svc:
        routes = _routes(svc.app, svc.prefix)
        assert not any(path.startswith(("/admin", "/exports")) for _, path in routes)
        # Maintenance stays, admin-only, whatever the toggle.
        assert ("POST", "/system/maintenance/garbage-collect") in routes
