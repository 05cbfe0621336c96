from __future__ import annotations

import base64
import json

import pytest
from indoormaps.cursor import CursorCodec, CursorState
from indoormaps.errors import InvalidCursor

CODEC = CursorCodec(b"unit-test-secret-0123456789")
STATE = CursorState("rooms", 7, "abcd", (0.5, 42))


def test_round_trip_keeps_every_field() -> None:
    token = CODEC.encode(STATE)
    assert CODEC.decode(token, layer="rooms", fingerprint="abcd") == STATE


def test_cursor_is_opaque_but_signed() -> None:
    body, _, mac = CODEC.encode(STATE).partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["k"] = [0.5, 1]  # try to jump back in the keyset
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidCursor, match="signature"):
        CODEC.decode(f"{forged}.{mac}", layer="rooms", fingerprint="abcd")


def test_cursor_from_another_secret_is_rejected() -> None:
    other = CursorCodec(b"another-secret-0123456789xx").encode(STATE)
    with pytest.raises(InvalidCursor, match="signature"):
        CODEC.decode(other, layer="rooms", fingerprint="abcd")


@pytest.mark.parametrize("token", ["", "no-dot", "!!!.###", "a" * 600, "eyJ4IjoxfQ.AAAA"])
def test_garbage_is_a_typed_error(token: str) -> None:
    with pytest.raises(InvalidCursor):
        CODEC.decode(token, layer="rooms", fingerprint="abcd")


def test_cursor_is_bound_to_layer_and_filters() -> None:
    token = CODEC.encode(STATE)
    with pytest.raises(InvalidCursor, match="different"):
        CODEC.decode(token, layer="openings", fingerprint="abcd")
    with pytest.raises(InvalidCursor, match="different"):
        CODEC.decode(token, layer="rooms", fingerprint="other")


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        CursorCodec(b"short")
