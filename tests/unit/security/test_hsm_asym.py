"""SM2 and RSA signing keys inside the module; signatures checked with zhifu.crypto outside."""

from __future__ import annotations

import pytest

from zhifu.core.errors import UsageError
from zhifu.crypto import rsa, sm2
from zhifu.crypto.hashes import Hash
from zhifu.security.errors import KeyUsageError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyOrigin, KeyUsage, public_key_kcv

MESSAGE = b"settlement file 20261125 round 3"


def test_sm2_signature_verifies_outside(hsm: SoftHsm) -> None:
    signer = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2, label="platform SM2")
    public = hsm.get_public_key(signer)
    assert len(public) == 65
    assert signer.kcv == public_key_kcv(KeyAlgorithm.SM2, public)
    uid = b"zhifu@acquirer"
    signature = hsm.sign(signer, MESSAGE, uid=uid)
    point = sm2.Sm2PublicKey(public)
    assert sm2.verify(point, MESSAGE, signature, uid)
    assert not sm2.verify(point, MESSAGE, signature)  # default uid differs
    assert hsm.verify_signature(signer, MESSAGE, signature, uid=uid)
    assert not hsm.verify_signature(signer, MESSAGE + b"!", signature, uid=uid)
    info = hsm.key_info(signer)
    assert (info.exportable, info.length, info.origin) == (False, 32, KeyOrigin.GENERATED)


@pytest.mark.parametrize("padding", ["pkcs1v15", "pss"])
def test_rsa_signature_verifies_outside(hsm: SoftHsm, padding: str) -> None:
    signer = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.RSA, length=1024)
    public = rsa.public_key_from_der(hsm.get_public_key(signer))
    assert public.key.key_size == 1024
    signature = hsm.sign(signer, MESSAGE, padding=padding)  # type: ignore[arg-type]
    assert rsa.verify(public, MESSAGE, signature, Hash.SHA256, padding)  # type: ignore[arg-type]
    assert hsm.verify_signature(signer, MESSAGE, signature, padding=padding)  # type: ignore[arg-type]


def test_import_public_keys(hsm: SoftHsm) -> None:
    private, public = sm2.generate_keypair()
    peer = hsm.import_public_key(public.to_bytes("compressed"), KeyAlgorithm.SM2)
    assert hsm.get_public_key(peer) == public.to_bytes()
    assert hsm.verify_signature(peer, MESSAGE, sm2.sign(private, MESSAGE))
    rsa_key = rsa.generate_rsa_key(1024)
    rsa_peer = hsm.import_public_key(rsa.public_key_to_der(rsa_key.public_key), KeyAlgorithm.RSA)
    assert hsm.key_info(rsa_peer).length == 1024
    assert hsm.verify_signature(rsa_peer, MESSAGE, rsa.sign(rsa_key, MESSAGE))
    with pytest.raises(KeyUsageError, match="needs usage SIGNING"):
        hsm.sign(peer, MESSAGE)


@pytest.mark.parametrize(
    ("blob", "algorithm"),
    [(bytes(65), KeyAlgorithm.SM2), (b"\x30\x00", KeyAlgorithm.RSA), (bytes(16), KeyAlgorithm.SM4)],
)
def test_bad_public_keys_refused(hsm: SoftHsm, blob: bytes, algorithm: KeyAlgorithm) -> None:
    with pytest.raises(UsageError):
        hsm.import_public_key(blob, algorithm)
    assert hsm.list_keys() == []
