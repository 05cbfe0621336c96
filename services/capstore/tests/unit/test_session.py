from __future__ import annotations

import base64
import hmac
import json

import pytest
from capstore.errors import InvalidSessionToken
from capstore.session import SessionSigner, SessionToken

SECRET = "0123456789abcdef-test-secret"


def test_round_trip_and_merge_keeps_the_newest_id_per_origin() -> None:
    signer = SessionSigner(SECRET)
    token = SessionToken().merged("g1", "100-0").merged("g2", "5-1").merged("g1", "99-9").merged("g1", "")
    assert token.origins == {"g1": "100-0", "g2": "5-1"}
    assert signer.decode(signer.encode(token)) == token
    assert token.merged("g1", "100-1").origins["g1"] == "100-1"
    assert signer.decode(signer.encode(SessionToken())) == SessionToken()  # the empty token too


@pytest.mark.parametrize("origins", [{}, {"db_g1": "1795454503954-0"}, {"g2": "5-1", "g1": "100-0", "a_b-9": "0-0"}])
def test_payload_is_the_canonical_json_of_the_origins(origins: dict[str, str]) -> None:
    payload = SessionSigner(SECRET).encode(SessionToken(origins)).split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert decoded == json.dumps({"o": origins}, sort_keys=True, separators=(",", ":")).encode()


def test_tampered_or_foreign_tokens_are_rejected() -> None:
    signer = SessionSigner(SECRET)
    text = signer.encode(SessionToken({"g1": "100-0"}))
    _, mac = text.split(".")
    forged = signer.encode(SessionToken({"g1": "1-0"})).split(".")[0] + "." + mac
    with pytest.raises(InvalidSessionToken, match="signature"):
        signer.decode(forged)
    with pytest.raises(InvalidSessionToken, match="signature"):
        SessionSigner("another-secret-of-16+bytes").decode(text)
    for bad in ["", "no-dot", "a.b.c", "x" * 5000, "é.é", "e30.AAAA\u00e9"]:
        with pytest.raises(InvalidSessionToken):
            signer.decode(bad)


def test_signed_garbage_payload_is_rejected_precisely() -> None:
    signer = SessionSigner(SECRET)
    payload = "bm90IGpzb24"  # "not json"
    with pytest.raises(InvalidSessionToken, match="JSON"):
        signer.decode(f"{payload}.{signer._mac(payload)}")


def test_short_secret_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        SessionSigner("short")


@pytest.mark.parametrize("secret", ["s" * 16, "a-secret-of-exactly-64-bytes-".ljust(64, "x"), "k" * 200])
def test_signature_is_standard_hmac_sha256(secret: str) -> None:
    signer = SessionSigner(secret)
    payload, mac = signer.encode(SessionToken({"db_g1": "1-0"})).split(".")
    expected = base64.urlsafe_b64encode(hmac.digest(secret.encode(), payload.encode(), "sha256")).rstrip(b"=")
    assert mac == expected.decode()
