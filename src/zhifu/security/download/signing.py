"""Signing a package with the platform key, and the terminal's checks before anything is applied.

The platform's signing key is an SM2 or RSA key pair generated inside its security module
(:class:`~zhifu.security.hsm.soft.SoftHsm`, usage SIGNING); the terminal holds its public half
as a VERIFICATION key, installed at manufacture. Two signature algorithms:

* ``SM2-SM3`` — SM2 with e = SM3(ZA ‖ M), ZA over the GM/T 0009 default signer ID
  ``1234567812345678`` (GB/T 32918.2), signature ``r ‖ s`` (64 bytes);
* ``RSA-PSS-SHA256`` — RSASSA-PSS (RFC 8017) with SHA-256, MGF1-SHA-256 and a 32-byte salt,
  from an RSA-2048 key.

A key is named by its *key id*: the first 16 bytes (upper-case hex) of SM3 (SM2: over the point
``04‖x‖y``) or SHA-256 (RSA: over the SubjectPublicKeyInfo DER) of the public key.

:func:`verify_package` runs the terminal's checks in order: the signer is the installed key
(:class:`UnknownSignerError`), the signature holds over :attr:`Package.signed_bytes`
(:class:`SignatureError`), every entry's digest (:class:`DigestError`), every entry's content
rules (:class:`ContentError`).

>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> from zhifu.security.download.package import Op, decode_file, make_entry
>>> platform = SoftHsm(KeyStore.in_memory())
>>> signer = platform.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
>>> data = sign_package(platform, signer, terminal_id="10000001", kind=Kind.PARAMS,
...     version=1, base_version=0, created="2026-01-05T09:00:00+08:00",
...     entries=[make_entry(Op.ADD, "terminal", {"merchant_name": "湖畔面馆"})])
>>> terminal = SoftHsm(KeyStore.in_memory())
>>> trusted = terminal.import_public_key(platform.get_public_key(signer), KeyAlgorithm.SM2)
>>> verify_package(terminal, trusted, decode_file(data))
>>> verify_package(terminal, trusted, decode_file(data.replace("湖".encode(), "河".encode())))
Traceback (most recent call last):
...
zhifu...SignatureError: the signature of params version 1 (full) for terminal 10000001 does ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from zhifu.core.errors import UsageError
from zhifu.crypto.hashes import Hash, digest
from zhifu.security.download.errors import DigestError, UnknownSignerError
from zhifu.security.download.errors import SignatureError as _SignatureError
from zhifu.security.download.kinds import Kind, check_content
from zhifu.security.download.package import (
    MAGIC,
    Entry,
    Package,
    Signer,
    encode_body,
    encode_file,
    entry_digest,
)
from zhifu.security.hsm.base import HandleLike
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage

__all__ = ["ALGORITHM_NAMES", "key_id", "sign_package", "signer_of", "verify_package"]

ALGORITHM_NAMES: Final = {KeyAlgorithm.SM2: "SM2-SM3", KeyAlgorithm.RSA: "RSA-PSS-SHA256"}
"""The signature algorithm of a package signed with a key of each algorithm."""


def key_id(algorithm: KeyAlgorithm, public_key: bytes) -> str:
    """The id of a platform public key: 16 bytes of SM3 (SM2) or SHA-256 (RSA), upper-case hex.

    >>> key_id(KeyAlgorithm.RSA, b"")
    'E3B0C44298FC1C149AFBF4C8996FB924'
    """
    alg = Hash.SM3 if algorithm is KeyAlgorithm.SM2 else Hash.SHA256
    return digest(alg, public_key)[:16].hex().upper()


def signer_of(hsm: SoftHsm, handle: HandleLike) -> Signer:
    """The :class:`Signer` a SIGNING (or VERIFICATION) key of ``hsm`` stands for."""
    info = hsm.key_info(handle)
    return Signer(ALGORITHM_NAMES[info.algorithm], key_id(info.algorithm,
                                                          hsm.get_public_key(handle)))  # fmt: skip


def _sign(hsm: SoftHsm, handle: HandleLike, algorithm: str, data: bytes) -> bytes:
    if algorithm == "RSA-PSS-SHA256":
        return hsm.sign(handle, data, hash_alg=Hash.SHA256, padding="pss")
    return hsm.sign(handle, data)


def _verify(hsm: SoftHsm, handle: HandleLike, algorithm: str, data: bytes, signature: bytes
            ) -> bool:  # fmt: skip
    if algorithm == "RSA-PSS-SHA256":
        return hsm.verify_signature(handle, data, signature, hash_alg=Hash.SHA256, padding="pss")
    return hsm.verify_signature(handle, data, signature)


def sign_package(
    hsm: SoftHsm, handle: HandleLike, *, terminal_id: str, kind: Kind, version: int,
    base_version: int, created: str, entries: Sequence[Entry],
) -> bytes:  # fmt: skip
    """The package file of ``entries``, signed inside ``hsm`` with the SIGNING key ``handle``."""
    signer = signer_of(hsm, handle)
    body = encode_body(terminal_id, kind, version, base_version, created, signer, entries)
    for entry in entries:  # the platform refuses to sign what a terminal would refuse
        if entry.data is not None:
            check_content(kind, entry.id, entry.data)
    signature = _sign(hsm, handle, signer.algorithm, MAGIC + body + b"\n")
    return encode_file(body, signature)


def verify_package(hsm: SoftHsm, trusted: HandleLike, package: Package) -> None:
    """Check ``package`` against the platform key ``trusted`` (a VERIFICATION key in ``hsm``):
    signer, signature, entry digests, entry contents; raises the first refusal."""
    info = hsm.key_info(trusted)
    if info.usage is not KeyUsage.VERIFICATION:
        raise UsageError(f"key {info.handle.id} is not a platform (verification) key",
                         argument="trusted")  # fmt: skip
    expected = signer_of(hsm, trusted)
    what = package.describe()
    if package.signer != expected:
        raise UnknownSignerError(
            f"{what} is signed by key {package.signer.key_id} ({package.signer.algorithm}); this "
            f"terminal trusts platform key {expected.key_id} ({expected.algorithm}): ask the "
            "platform for a package signed with that key, or install the platform's new key "
            "(zhifu terminal download trust --replace)"
        )
    if not _verify(hsm, trusted, expected.algorithm, package.signed_bytes, package.signature):
        raise _SignatureError(
            f"the signature of {what} does not verify under platform key {expected.key_id}: "
            "the file was altered or damaged on the way; nothing was applied: fetch the "
            "package again"
        )
    for entry in package.entries:
        if entry_digest(entry.id, entry.op, entry.data) != entry.digest:
            raise DigestError(
                f"entry {entry.id} of {what} does not match its digest; nothing was applied: "
                "ask the platform to build the package again"
            )
    for entry in package.entries:
        if entry.data is not None:
            check_content(package.kind, entry.id, entry.data)
