"""Card operations of the security module: card keys, ARQC verification and ARPC generation.

The issuer master key (usage CARD_MASTER, 3DES or SM4) stays inside; a card's own key (UDK,
EMV option A) is derived on the fly for each check, or once with :meth:`derive_card_key` and
kept as a CARD key. The session key follows PBOC (default) or the EMV common session key;
ARPC is method 1 under the AC session key (docs/standards/card-terminal.md §2.1-2.4).

>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> from zhifu.security.keys import KeyAlgorithm
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> imk = hsm.generate_key(KeyUsage.CARD_MASTER, KeyAlgorithm.SM4)
>>> card = hsm.derive_card_key(imk, "6225881234566789", "01")
>>> card.usage
<KeyUsage.CARD: 'card'>
>>> hsm.verify_arqc(imk, pan="6225881234566789", psn="01", atc=1, data=b"...", arqc=bytes(8))
False
"""

from __future__ import annotations

import enum
import hmac
from typing import NamedTuple

from zhifu.core.errors import UsageError
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.cvn import card_verification_value
from zhifu.security.hsm.base import HandleLike, HsmBase, LoadedKey, pan_digits
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyOrigin, KeyUsage, compute_kcv
from zhifu.security.secrets import KeyMaterial, Pan

__all__ = ["ArpcResult", "CardMixin", "SessionKeyMethod"]


class SessionKeyMethod(enum.Enum):
    """How the AC session key comes from the card key and the ATC."""

    PBOC = "pboc"
    """PBOC: 3DES(UDK)[00×6‖ATC] ‖ 3DES(UDK)[00×6‖ATC⊕FFFF]; SM4 one block (CVN 01)."""
    EMV_CSK = "emv-csk"
    """EMV common session key, R = ATC ‖ 00×6 (3DES only)."""


class ArpcResult(NamedTuple):
    """The outcome of :meth:`CardMixin.verify_arqc_and_generate_arpc`.

    ``arpc`` is ``None`` when the ARQC did not verify (decline without issuer authentication).
    """

    ok: bool
    arpc: bytes | None


def _atc(atc: bytes | int) -> bytes:
    if isinstance(atc, int) and not isinstance(atc, bool):
        if not 0 <= atc <= 0xFFFF:
            raise UsageError("the ATC is 0 to 65535", argument="atc")
        return atc.to_bytes(2, "big")
    if isinstance(atc, bytes | bytearray) and len(atc) == 2:
        return bytes(atc)
    raise UsageError("the ATC (9F36) is 2 bytes or an integer", argument="atc")


def _session_key(cipher: Cipher, udk: bytes, atc: bytes, method: SessionKeyMethod) -> bytes:
    if method is SessionKeyMethod.PBOC:
        return emv.derive_pboc_session_key(cipher, udk, atc)
    if cipher is not Cipher.TDES:
        raise UsageError("the EMV common session key is defined for 3DES", argument="session")
    return emv.derive_common_session_key(udk, atc + bytes(6))


class CardMixin(HsmBase):
    """Card-key and cryptogram operations of :class:`~zhifu.security.hsm.soft.SoftHsm`."""

    def _udk(self, key: LoadedKey, pan: Pan | str, psn: str | None) -> bytes:
        """The card key: derived from a CARD_MASTER key, or the CARD key itself."""
        if key.info.usage is KeyUsage.CARD:
            return key.clear
        return emv.derive_icc_mk_a(key.info.algorithm.cipher, key.clear, pan_digits(pan), psn)

    def _ac_session_key(
        self,
        key: LoadedKey,
        pan: Pan | str,
        psn: str | None,
        atc: bytes | int,
        session: SessionKeyMethod,
    ) -> bytes:
        cipher = key.info.algorithm.cipher
        return _session_key(cipher, self._udk(key, pan, psn), _atc(atc), session)

    def derive_card_key(
        self,
        imk: HandleLike,
        pan: Pan | str,
        psn: str | None = "00",
        *,
        exportable: bool = False,
        label: str = "",
    ) -> KeyHandle:
        """Derive a card's master key (UDK, EMV option A) from an IMK and keep it as a CARD key.

        The key is not exportable unless asked for (card personalisation sends it wrapped).
        """
        with self._use(imk, KeyUsage.CARD_MASTER) as master:
            algorithm = master.info.algorithm
            udk = emv.derive_icc_mk_a(algorithm.cipher, master.clear, pan_digits(pan), psn)
        return self._store_key(
            KeyUsage.CARD, algorithm, KeyMaterial(udk), kcv=compute_kcv(algorithm, udk),
            length=len(udk), exportable=exportable, origin=KeyOrigin.DERIVED, label=label,
            detail=f"derived from {master.id}",
        )  # fmt: skip

    def verify_arqc(
        self,
        key: HandleLike,
        *,
        pan: Pan | str,
        psn: str | None,
        atc: bytes | int,
        data: bytes,
        arqc: bytes,
        session: SessionKeyMethod = SessionKeyMethod.PBOC,
    ) -> bool:
        """True when ``arqc`` is the cryptogram of ``data`` (the assembled CDOL1 data).

        ``key`` is an IMK (CARD_MASTER: the card key is derived from ``pan`` and ``psn``) or
        a CARD key (``pan``/``psn`` then unused). Constant-time comparison.
        """
        with self._use(key, (KeyUsage.CARD_MASTER, KeyUsage.CARD)) as card:
            sk = self._ac_session_key(card, pan, psn, atc, session)
            return emv.verify_ac(card.info.algorithm.cipher, sk, bytes(data), bytes(arqc))

    def generate_arpc(
        self,
        key: HandleLike,
        *,
        pan: Pan | str,
        psn: str | None,
        atc: bytes | int,
        arqc: bytes,
        arc: bytes,
        session: SessionKeyMethod = SessionKeyMethod.PBOC,
    ) -> bytes:
        """ARPC method 1 (8 bytes) under the AC session key, for the 2-byte ``arc``."""
        with self._use(key, (KeyUsage.CARD_MASTER, KeyUsage.CARD)) as card:
            sk = self._ac_session_key(card, pan, psn, atc, session)
            return emv.generate_arpc_method_1(card.info.algorithm.cipher, sk, arqc, arc)

    def verify_arqc_and_generate_arpc(
        self,
        key: HandleLike,
        *,
        pan: Pan | str,
        psn: str | None,
        atc: bytes | int,
        data: bytes,
        arqc: bytes,
        arc: bytes,
        session: SessionKeyMethod = SessionKeyMethod.PBOC,
    ) -> ArpcResult:
        """Verify the ARQC and, when it is right, generate the ARPC (method 1) for ``arc``.

        Returns ``ArpcResult(False, None)`` for a wrong ARQC.
        """
        with self._use(key, (KeyUsage.CARD_MASTER, KeyUsage.CARD)) as card:
            cipher = card.info.algorithm.cipher
            sk = self._ac_session_key(card, pan, psn, atc, session)
            if not emv.verify_ac(cipher, sk, bytes(data), bytes(arqc)):
                return ArpcResult(False, None)
            return ArpcResult(True, emv.generate_arpc_method_1(cipher, sk, bytes(arqc), arc))

    def generate_cvn(
        self, cvk: HandleLike, *, pan: Pan | str, expiry: str, service_code: str
    ) -> str:
        """The stripe's three-digit CVN under the CVK pair (:mod:`zhifu.crypto.cvn`)."""
        with self._use(cvk, KeyUsage.CVK, (KeyAlgorithm.TDES,)) as key:
            return card_verification_value(
                key.material.reveal()[:16], pan_digits(pan), expiry, service_code
            )

    def verify_cvn(
        self, cvk: HandleLike, *, pan: Pan | str, expiry: str, service_code: str, cvn: str
    ) -> bool:
        """True when ``cvn`` is the stripe's CVN (constant-time comparison)."""
        expected = self.generate_cvn(cvk, pan=pan, expiry=expiry, service_code=service_code)
        return hmac.compare_digest(expected.encode(), cvn.encode())

    def generate_script_mac(
        self,
        key: HandleLike,
        *,
        pan: Pan | str,
        psn: str | None,
        atc: bytes | int,
        arqc: bytes,
        header: bytes,
        data: bytes,
        length: int = 4,
    ) -> bytes:
        """The MAC of an issuer-script command under the script-integrity session key.

        ``key`` is the IMK-SMI (CARD_MASTER) or the card's MK-SMI (CARD); the session key is
        the PBOC one for ``atc``; ``header`` is CLA INS P1 P2 Lc with Lc counting the MAC
        (docs/standards/card-terminal.md §2.5).
        """
        with self._use(key, (KeyUsage.CARD_MASTER, KeyUsage.CARD)) as card:
            cipher = card.info.algorithm.cipher
            sk = self._ac_session_key(card, pan, psn, atc, SessionKeyMethod.PBOC)
            return emv.generate_script_mac(
                cipher, sk, header, atc=_atc(atc), arqc=bytes(arqc), data=bytes(data), length=length
            )
