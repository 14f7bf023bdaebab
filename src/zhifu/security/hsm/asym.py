"""Public-key operations of the security module: SM2 and RSA key pairs, signing, verifying.

A SIGNING key is a private key generated inside the module; only its public half comes out
(:meth:`AsymmetricMixin.get_public_key`). A VERIFICATION key is another party's public key
imported to check its signatures.

>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> signer = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
>>> signature = hsm.sign(signer, b"settlement file 20261125")
>>> peer = hsm.import_public_key(hsm.get_public_key(signer), KeyAlgorithm.SM2)
>>> hsm.verify_signature(peer, b"settlement file 20261125", signature)
True
"""

from __future__ import annotations

from zhifu.core.errors import DecodeError, UsageError
from zhifu.crypto import rsa, sm2
from zhifu.crypto.hashes import Hash
from zhifu.crypto.rsa import SignPadding
from zhifu.security.hsm.base import HandleLike, HsmBase
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyOrigin, KeyUsage, public_key_kcv
from zhifu.security.secrets import KeyMaterial

__all__ = ["AsymmetricMixin", "new_keypair", "public_key_encoding"]

_PUBLIC_USAGES = (KeyUsage.SIGNING, KeyUsage.VERIFICATION)


def new_keypair(algorithm: KeyAlgorithm, size: int) -> tuple[KeyMaterial, bytes, str]:
    """A fresh key pair: the private key encoding, the public key encoding, the fingerprint.

    SM2: the 32-byte secret d and the 65-byte point ``04‖x‖y``. RSA: PKCS #8 DER and
    SubjectPublicKeyInfo DER.
    """
    if algorithm is KeyAlgorithm.SM2:
        private, public = sm2.generate_keypair()
        point = public.to_bytes()
        return KeyMaterial(private.to_bytes()), point, public_key_kcv(algorithm, point)
    key = rsa.generate_rsa_key(size)
    der = rsa.public_key_to_der(key.public_key)
    return KeyMaterial(rsa.private_key_to_der(key)), der, public_key_kcv(algorithm, der)


def public_key_encoding(algorithm: KeyAlgorithm, public_key: bytes) -> tuple[bytes, int]:
    """An imported public key checked and normalised to the stored encoding, and its size.

    SM2: any point form → ``04‖x‖y`` (size 32); RSA: SPKI or PKCS #1 DER → SPKI DER (size in
    bits, 1024 to 4096).
    """
    try:
        if algorithm is KeyAlgorithm.SM2:
            return sm2.Sm2PublicKey.from_bytes(public_key).to_bytes(), 32
        if algorithm is KeyAlgorithm.RSA:
            key = rsa.public_key_from_der(public_key)
            bits = key.key.key_size
            if not 1024 <= bits <= 4096:
                raise UsageError(
                    f"an RSA key is 1024 to 4096 bits, not {bits}", argument="public_key"
                )
            return rsa.public_key_to_der(key), bits
    except DecodeError as exc:
        raise UsageError(
            f"not an {algorithm.name} public key ({exc.reason})", argument="public_key"
        ) from None
    raise UsageError("a public key is SM2 or RSA", argument="algorithm")


class AsymmetricMixin(HsmBase):
    """Signing and verification operations of :class:`~zhifu.security.hsm.soft.SoftHsm`."""

    def get_public_key(self, handle: HandleLike) -> bytes:
        """The public key of a SIGNING or VERIFICATION key (SM2 point / RSA SPKI DER)."""
        with self._use(handle, _PUBLIC_USAGES) as key:
            assert key.public is not None
            return key.public

    def import_public_key(
        self, public_key: bytes, algorithm: KeyAlgorithm, *, label: str = ""
    ) -> KeyHandle:
        """Import another party's public key as a VERIFICATION key."""
        public, size = public_key_encoding(algorithm, bytes(public_key))
        return self._store_key(
            KeyUsage.VERIFICATION, algorithm, KeyMaterial(public),
            kcv=public_key_kcv(algorithm, public), length=size, exportable=False,
            origin=KeyOrigin.IMPORTED, label=label, public=public,
        )  # fmt: skip

    def sign(
        self,
        handle: HandleLike,
        message: bytes,
        *,
        uid: bytes = sm2.DEFAULT_UID,
        hash_alg: Hash = Hash.SHA256,
        padding: SignPadding = "pkcs1v15",
    ) -> bytes:
        """Sign ``message`` with a SIGNING key.

        SM2: SM3 with the signer ID ``uid`` (ZA, GB/T 32918.2), raw ``r‖s`` (64 bytes).
        RSA: ``hash_alg`` (SHA-256 or SHA-1) with ``padding`` PKCS #1 v1.5 or PSS.
        """
        with self._use(handle, KeyUsage.SIGNING) as key:
            if key.info.algorithm is KeyAlgorithm.SM2:
                return sm2.sign(sm2.Sm2PrivateKey(key.clear), bytes(message), uid)
            private = rsa.private_key_from_der(key.clear)
            return rsa.sign(private, bytes(message), hash_alg, padding)

    def verify_signature(
        self,
        handle: HandleLike,
        message: bytes,
        signature: bytes,
        *,
        uid: bytes = sm2.DEFAULT_UID,
        hash_alg: Hash = Hash.SHA256,
        padding: SignPadding = "pkcs1v15",
    ) -> bool:
        """True when ``signature`` is valid for ``message`` under the key's public half."""
        with self._use(handle, _PUBLIC_USAGES) as key:
            assert key.public is not None
            if key.info.algorithm is KeyAlgorithm.SM2:
                point = sm2.Sm2PublicKey(key.public)
                return sm2.verify(point, bytes(message), bytes(signature), uid)
            public = rsa.public_key_from_der(key.public)
            return rsa.verify(public, bytes(message), bytes(signature), hash_alg, padding)
