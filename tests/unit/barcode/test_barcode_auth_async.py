"""``Authenticator.verify_async``: the signature is checked beside the event loop (RSA on a
thread, SM2 in a helper process) with the same answers as the synchronous check."""

from __future__ import annotations

import asyncio

import pytest

from zhifu.barcode.api.auth import Authenticator
from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.signing import SigningKey, VerifyingKey, sign_headers
from zhifu.barcode.platform.db import Database
from zhifu.barcode.platform.directory import Directory
from zhifu.barcode.platform.guards import Nonces
from zhifu.crypto import rsa, sm2

NOW = 1764050000


def _signed(key: SigningKey, body: bytes, nonce: str) -> dict[str, str]:
    headers = sign_headers(key, "POST", "/v1/micropay", body, timestamp=NOW, nonce=nonce)
    return {name.lower(): value for name, value in headers.items()}


@pytest.fixture(params=["SM2-SM3", "RSA-SHA256"])
def signer(request: pytest.FixtureRequest) -> tuple[Authenticator, SigningKey]:
    db = Database()
    directory = Directory(db)
    if request.param == "SM2-SM3":
        private, public = sm2.generate_keypair()
        directory.add_key(VerifyingKey("k1", "merchant:M1", "SM2-SM3", public))
        key = SigningKey("k1", "SM2-SM3", private)
    else:
        private_rsa = rsa.generate_rsa_key(2048)
        directory.add_key(VerifyingKey("k1", "merchant:M1", "RSA-SHA256", private_rsa.public_key))
        key = SigningKey("k1", "RSA-SHA256", private_rsa)
    return Authenticator(directory, Nonces(db), now=lambda: float(NOW)), key


def test_many_requests_in_one_turn_get_their_own_answers(
    signer: tuple[Authenticator, SigningKey],
) -> None:
    auth, key = signer
    bodies = [f'{{"n":{i}}}'.encode() for i in range(12)]
    requests = [(b, _signed(key, b, f"nonce-{i:012d}")) for i, b in enumerate(bodies)]
    tampered = {**requests[5][1]}
    requests[5] = (b'{"n":999}', tampered)  # a body the signature does not cover

    async def main() -> list[object]:
        calls = [auth.verify_async("POST", "/v1/micropay", h, b) for b, h in requests]
        return await asyncio.gather(*calls, return_exceptions=True)

    try:
        answers = asyncio.run(main())
    finally:
        auth.close()
    for i, answer in enumerate(answers):
        if i == 5:
            assert isinstance(answer, BarcodeError) and answer.code == "signature_invalid"
        else:
            assert not isinstance(answer, BaseException)
            assert answer[0].key_id == "k1" and answer[1] == f"nonce-{i:012d}"  # type: ignore[index]


def test_sm2_is_checked_here_when_the_helper_cannot_be_used() -> None:
    db = Database()
    directory = Directory(db)
    private, public = sm2.generate_keypair()
    directory.add_key(VerifyingKey("k1", "merchant:M1", "SM2-SM3", public))
    auth = Authenticator(directory, Nonces(db), now=lambda: float(NOW))
    key = SigningKey("k1", "SM2-SM3", private)
    auth.close()  # nothing started yet
    from zhifu.core.offload import ProcessOffload  # noqa: PLC0415
    from zhifu.crypto.sm2_batch import verify_many  # noqa: PLC0415

    broken: ProcessOffload[tuple[bytes, bytes, bytes], bool] = ProcessOffload(verify_many)
    broken.close()  # a helper that refuses every call
    auth._sm2 = broken
    good = asyncio.run(
        auth.verify_async("POST", "/v1/micropay", _signed(key, b"{}", "n" * 16), b"{}")
    )
    assert good[0].principal == "merchant:M1"
    with pytest.raises(BarcodeError, match="signature_invalid"):
        asyncio.run(auth.verify_async("POST", "/v1/micropay", _signed(key, b"{}", "m" * 16), b"[]"))
