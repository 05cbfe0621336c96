"""Settings: ports by mode, separate databases, URLs pointed at fault proxies, fault admin defaults."""

from __future__ import annotations

import pytest
from capstore.config import Settings, fault_admin_check, node_url
from pydantic import ValidationError


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_port_follows_the_mode_unless_set() -> None:
    assert _settings(MODE="cp").PORT == 5001
    assert _settings(MODE="ap").PORT == 5002
    assert _settings(MODE="ap", PORT=9000).PORT == 9000
    assert _settings(MODE="ap").peer_url == "http://127.0.0.1:5001"


def test_each_mode_has_its_own_database() -> None:
    cp, ap = _settings(MODE="cp"), _settings(MODE="ap")
    assert cp.node_urls == {"db_g1": "redis://127.0.0.1:6381/0", "db_g2": "redis://127.0.0.1:6382/0"}
    assert ap.node_urls == {"db_g1": "redis://127.0.0.1:6381/1", "db_g2": "redis://127.0.0.1:6382/1"}
    with pytest.raises(ValidationError, match="must differ"):
        _settings(DB_INDEX_CP=3, DB_INDEX_AP=3)


def test_node_url_keeps_credentials_when_pointed_at_a_proxy() -> None:
    url = "rediss://user:p%40ss@db.example.org:6380/0?ssl_cert_reqs=none"
    assert node_url(url, 2) == "rediss://user:p%40ss@db.example.org:6380/2?ssl_cert_reqs=none"
    assert node_url(url, 1, host="127.0.0.1", port=4242) == "rediss://user:p%40ss@127.0.0.1:4242/1?ssl_cert_reqs=none"


@pytest.mark.parametrize("url", ["http://x:1/0", "redis://", "localhost:6379", "unix:///tmp/redis.sock"])
def test_node_urls_must_be_redis_urls(url: str) -> None:
    with pytest.raises(ValidationError, match="redis://"):
        _settings(DB_G1_URL=url)


def test_fault_admin_is_on_in_development_and_off_in_production() -> None:
    assert _settings().fault_admin_enabled is True
    assert _settings(PRODUCTION_MODE=True).fault_admin_enabled is False
    assert _settings(PRODUCTION_MODE=True, ENABLE_FAULT_ADMIN=True).fault_admin_enabled is True
    assert _settings(ENABLE_FAULT_ADMIN=False).fault_admin_enabled is False


def test_fault_admin_check() -> None:
    assert list(fault_admin_check(_settings())) == []  # not explicitly enabled: nothing to say
    weak = [m.id for m in fault_admin_check(_settings(ENABLE_FAULT_ADMIN=True, ADMIN_TOKEN="changeme"))]
    assert weak == ["CS.E001", "CS.W001"]
    strong = _settings(ENABLE_FAULT_ADMIN=True, ADMIN_TOKEN="Vb3!nM8@qW1#eR6$tY9%uI2^oP5&aS4*")
    assert [m.id for m in fault_admin_check(strong)] == ["CS.W001"]


def test_workers_are_not_recycled_by_default() -> None:
    # a recycled worker leaves a one-worker app without a server while the next one boots
    assert _settings(MODE="ap").MAX_REQUESTS == 0
    assert _settings(MODE="ap", MAX_REQUESTS=50_000).MAX_REQUESTS == 50_000
