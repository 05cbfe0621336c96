from __future__ import annotations

import json
import logging

import pytest
import structlog
from servicekit.clientip import TrustedProxies
from servicekit.logs import configure_logging


def scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 1234), "headers": headers}


def test_forwarded_for_is_trusted_only_from_configured_proxies() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    assert proxies.client_ip(scope("198.51.100.7", "1.2.3.4")) == "198.51.100.7"  # not a proxy: ignored
    assert proxies.client_ip(scope("10.1.1.1", "1.2.3.4")) == "1.2.3.4"
    # A client cannot prepend a fake hop: the rightmost untrusted address wins.
    assert proxies.client_ip(scope("10.1.1.1", "6.6.6.6, 1.2.3.4, 10.2.2.2")) == "1.2.3.4"
    assert proxies.client_ip(scope("10.1.1.1")) == "10.1.1.1"
    assert TrustedProxies([]).client_ip(scope("10.1.1.1", "1.2.3.4")) == "10.1.1.1"


def test_json_logs_carry_request_id_and_mask_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    configure_logging(level="INFO", json=True, service="unit", secret_values=[secret])
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        structlog.stdlib.get_logger("t").info("login", password="hunter2", note=f"token was {secret}")
        logging.getLogger("uvicorn.error").info("stdlib line mentions %s", secret)
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert lines[0]["event"] == "login"
    assert lines[0]["request_id"] == "req-1"
    assert lines[0]["service"] == "unit"
    assert lines[0]["password"] == "**********"
    assert secret not in json.dumps(lines)
    assert lines[1]["logger"] == "uvicorn.error"
    assert lines[1]["request_id"] == "req-1"


def test_loggers_made_at_import_time_follow_the_later_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    from servicekit.logs import get_logger

    early = get_logger("made.at.import")  # before configure_logging, as module-level loggers are
    configure_logging(level="INFO", json=True, service="unit")
    early.info("hello", answer=42)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "hello"
    assert line["logger"] == "made.at.import"
    assert line["service"] == "unit"


def test_uvicorn_skips_its_own_access_log_while_its_error_log_reaches_ours() -> None:
    import logging

    configure_logging(level="INFO", json=True, service="unit")
    # uvicorn formats an access line per response whenever this logger has a handler up its chain
    # (even one its level then filters out); the access-log middleware writes those lines already.
    assert not logging.getLogger("uvicorn.access").hasHandlers()
    assert logging.getLogger("uvicorn.error").hasHandlers()
    assert logging.getLogger("uvicorn.error").getEffectiveLevel() == logging.INFO
