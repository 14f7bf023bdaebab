"""Signed requests (SM2 with SM3 over ZA, RSA-SHA256 PKCS#1 v1.5), the authenticator's checks
in order, the nonce store and the idempotency store (docs/standards/security.md R23)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator

import pytest

from zhifu.barcode.api.auth import Authenticator
from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.signing import (
    SigningKey,
    VerifyingKey,
    canonical_request,
    load_private_key,
    load_public_key,
    parse_headers,
    public_key_pem,
    sign_headers,
)
from zhifu.barcode.platform.db import Database
from zhifu.barcode.platform.directory import Directory
from zhifu.barcode.platform.guards import Idempotency, IdemState, Nonces, fingerprint
from zhifu.core.errors import UsageError
from zhifu.crypto import rsa, sm2

NOW = 1_764_050_000
NONCE = "abcdefghijklmnop0123"
SM2_KEY = sm2.generate_keypair()
RSA_KEY = rsa.generate_rsa_key(2048)


@pytest.fixture
def db() -> Iterator[Database]:
    database = Database()
    yield database
    database.close()


def signers() -> list[tuple[SigningKey, VerifyingKey]]:
    return [
        (
            SigningKey("m-sm2", "SM2-SM3", SM2_KEY[0]),
            VerifyingKey("m-sm2", "merchant:M1", "SM2-SM3", SM2_KEY[1]),
        ),
        (
            SigningKey("m-rsa", "RSA-SHA256", RSA_KEY),
            VerifyingKey("m-rsa", "merchant:M1", "RSA-SHA256", RSA_KEY.public_key),
        ),
    ]


def test_canonical_string_layout() -> None:
    text = canonical_request("post", "/v1/micropay?x=1", "k1", NOW, NONCE, b'{"a":1}')
    assert text == (
        b'ZHIFU-SIGN-1\nPOST\n/v1/micropay?x=1\nk1\n1764050000\nabcdefghijklmnop0123\n{"a":1}'
    )
    with pytest.raises(UsageError):
        canonical_request("POST", "/v1\n/x", "k1", NOW, NONCE, b"")


@pytest.mark.parametrize(("signer", "verifier"), signers())
def test_sign_then_verify_and_tampering(signer: SigningKey, verifier: VerifyingKey) -> None:
    body = b'{"amount":1234}'
    headers = sign_headers(signer, "POST", "/v1/micropay", body, timestamp=NOW, nonce=NONCE)
    parts = parse_headers(headers)
    assert (parts.key_id, parts.timestamp, parts.nonce) == (signer.key_id, NOW, NONCE)
    message = canonical_request("POST", "/v1/micropay", parts.key_id, NOW, NONCE, body)
    assert verifier.verify(message, parts.signature)
    assert not verifier.verify(message.replace(b"1234", b"1235"), parts.signature)
    assert not verifier.verify(message, parts.signature[:-1] + bytes([parts.signature[-1] ^ 1]))
    assert not verifier.verify(message, b"")


def test_keys_cannot_do_the_other_algorithm() -> None:
    with pytest.raises(UsageError):
        SigningKey("k", "RSA-SHA256", SM2_KEY[0])
    with pytest.raises(UsageError):
        VerifyingKey("k", "merchant:M1", "SM2-SM3", RSA_KEY.public_key)
    assert "private" in repr(SigningKey("k", "SM2-SM3", SM2_KEY[0]))  # never the key itself


def test_pem_round_trip_for_both_algorithms() -> None:
    for private, public in ((SM2_KEY[0], SM2_KEY[1]), (RSA_KEY, RSA_KEY.public_key)):
        pem_private = (
            sm2.private_key_to_pem(private)
            if isinstance(private, sm2.Sm2PrivateKey)
            else rsa.private_key_to_pem(private)
        )
        algorithm, loaded = load_private_key(pem_private)
        assert algorithm == ("SM2-SM3" if isinstance(private, sm2.Sm2PrivateKey) else "RSA-SHA256")
        assert load_public_key(public_key_pem(public))[1] == public
        del loaded


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Zhifu-Nonce": None}, "signature_missing"),
        ({"Zhifu-Key-Id": "bad key id!"}, "key_unknown"),
        ({"Zhifu-Timestamp": "12:00"}, "timestamp_stale"),
        ({"Zhifu-Nonce": "short"}, "signature_invalid"),
        ({"Zhifu-Signature": "HMAC abc"}, "signature_invalid"),
        ({"Zhifu-Signature": "SM2-SM3 not*base64"}, "signature_invalid"),
    ],
)
def test_parse_headers_refusals(change: dict[str, str | None], code: str) -> None:
    headers = sign_headers(signers()[0][0], "GET", "/v1/x", b"", timestamp=NOW, nonce=NONCE)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(BarcodeError) as caught:
        parse_headers(headers)
    assert caught.value.code == code


def _auth(db: Database, now: float = NOW) -> tuple[Authenticator, SigningKey]:
    directory = Directory(db)
    signer, verifier = signers()[0]
    directory.add_key(verifier)
    return Authenticator(directory, Nonces(db), now=lambda: now), signer


def test_authenticator_accepts_once_then_refuses_the_replay(db: Database) -> None:
    auth, signer = _auth(db)
    headers = sign_headers(signer, "POST", "/v1/p", b"{}", timestamp=NOW, nonce=NONCE)
    assert auth.authenticate("POST", "/v1/p", headers, b"{}").principal == "merchant:M1"
    with pytest.raises(BarcodeError) as caught:
        auth.authenticate("POST", "/v1/p", headers, b"{}")
    assert caught.value.code == "nonce_reused"


@pytest.mark.parametrize("skew", [-301, 301, -10_000])
def test_authenticator_refuses_a_stale_timestamp(db: Database, skew: int) -> None:
    auth, signer = _auth(db)
    headers = sign_headers(signer, "GET", "/v1/p", b"", timestamp=NOW + skew, nonce=NONCE)
    with pytest.raises(BarcodeError) as caught:
        auth.authenticate("GET", "/v1/p", headers, b"")
    assert caught.value.code == "timestamp_stale"


@pytest.mark.parametrize("skew", [-300, 300, 0])
def test_authenticator_window_edges_are_accepted(db: Database, skew: int) -> None:
    auth, signer = _auth(db)
    headers = sign_headers(signer, "GET", "/v1/p", b"", timestamp=NOW + skew, nonce=NONCE)
    assert auth.authenticate("GET", "/v1/p", headers, b"").key_id == "m-sm2"


def test_a_bad_signature_does_not_burn_the_nonce(db: Database) -> None:
    auth, signer = _auth(db)
    good = sign_headers(signer, "POST", "/v1/p", b"{}", timestamp=NOW, nonce=NONCE)
    with pytest.raises(BarcodeError) as caught:
        auth.authenticate("POST", "/v1/p", good, b'{"x":1}')  # body changed after signing
    assert caught.value.code == "signature_invalid"
    assert auth.authenticate("POST", "/v1/p", good, b"{}").key_id == "m-sm2"


def test_the_signature_covers_path_and_method(db: Database) -> None:
    auth, signer = _auth(db)
    headers = sign_headers(signer, "POST", "/v1/orders/O1/close", b"{}", timestamp=NOW, nonce=NONCE)
    for method, path in (("POST", "/v1/orders/O2/close"), ("PUT", "/v1/orders/O1/close")):
        with pytest.raises(BarcodeError) as caught:
            auth.authenticate(method, path, headers, b"{}")
        assert caught.value.code == "signature_invalid"


def test_an_unknown_key_and_an_algorithm_swap_are_refused(db: Database) -> None:
    auth, signer = _auth(db)
    headers = sign_headers(signer, "GET", "/v1/p", b"", timestamp=NOW, nonce=NONCE)
    headers["Zhifu-Key-Id"] = "nobody"
    with pytest.raises(BarcodeError, match="key_unknown"):
        auth.authenticate("GET", "/v1/p", headers, b"")
    headers = sign_headers(signer, "GET", "/v1/p", b"", timestamp=NOW, nonce=NONCE)
    headers["Zhifu-Signature"] = "RSA-SHA256 " + headers["Zhifu-Signature"].split()[1]
    with pytest.raises(BarcodeError, match="signature_invalid"):
        auth.authenticate("GET", "/v1/p", headers, b"")


def test_nonces_are_per_key(db: Database) -> None:
    nonces = Nonces(db)
    assert nonces.claim("k1", NONCE, 1)
    assert not nonces.claim("k1", NONCE, 2)
    assert nonces.claim("k2", NONCE, 3)


def test_nonce_claims_race_to_exactly_one_winner(db: Database) -> None:
    nonces = Nonces(db)
    wins: list[bool] = []
    threads = [
        threading.Thread(target=lambda: wins.append(nonces.claim("k", NONCE, 1))) for _ in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 15 + [True]


def test_idempotency_states(db: Database) -> None:
    idem = Idempotency(db)
    a = fingerprint("POST", "/v1/micropay", b'{"amount":1}')
    b = fingerprint("POST", "/v1/micropay", b'{"amount":2}')
    assert idem.begin("merchant:M1", "k", a).state is IdemState.NEW
    assert idem.begin("merchant:M1", "k", a).state is IdemState.IN_FLIGHT
    assert idem.begin("merchant:M1", "k", b).state is IdemState.MISMATCH
    assert idem.begin("merchant:M2", "k", b).state is IdemState.NEW  # keys are per caller
    idem.complete("merchant:M1", "k", 402, b'{"error":{}}')
    replay = idem.begin("merchant:M1", "k", a)
    assert (replay.state, replay.status, replay.body) == (IdemState.REPLAY, 402, b'{"error":{}}')
    assert idem.begin("merchant:M1", "k", b).state is IdemState.MISMATCH


def test_a_released_key_runs_again_and_a_stale_lease_is_taken_over(db: Database) -> None:
    idem = Idempotency(db, lease_seconds=0)
    a = fingerprint("POST", "/p", b"{}")
    assert idem.begin("s", "k", a).state is IdemState.NEW
    assert idem.begin("s", "k", a).state is IdemState.NEW  # lease 0: the first one is gone
    idem.release("s", "k")
    assert idem.begin("s", "k", a).state is IdemState.NEW


def test_database_units_roll_back_alone(db: Database) -> None:
    def failing(cur: object) -> None:
        cur.execute("INSERT INTO used_codes (key, keep_until_us) VALUES ('a', 1)")  # type: ignore[attr-defined]
        raise BarcodeError("auth_code_used")

    with pytest.raises(BarcodeError):
        db.run(failing)
    db.run(lambda cur: cur.execute("INSERT INTO used_codes (key, keep_until_us) VALUES ('b', 1)"))
    assert db.all("SELECT key FROM used_codes ORDER BY key") == [("b",)]


def test_signature_header_is_base64_of_the_raw_signature() -> None:
    signer = signers()[1][0]
    headers = sign_headers(signer, "GET", "/v1/keys", b"", timestamp=NOW, nonce=NONCE)
    algorithm, b64 = headers["Zhifu-Signature"].split(" ")
    assert algorithm == "RSA-SHA256" and len(base64.b64decode(b64)) == 256
