"""The issuer's keys, held by the security module under fixed labels (handles only).

* ``issuer/imk-ac|imk-smi|imk-smc/<family>``: the issuer master keys (CARD_MASTER), 3DES and
  SM4 families; a card's keys are derived from them (EMV option A over PAN and PSN);
* ``issuer/pvk``: the PIN verification key (PVVs, never PINs);
* ``issuer/cvk``: the card verification key pair (the CVN of a magnetic stripe);
* ``issuer/pan-index`` (MAC) and ``issuer/pan-data`` (DATA): the keyed look-up hash and the
  encryption of the PAN in the issuer's database;
* ``zone/zpk``: the zone PIN key the acquirer translates PIN blocks to.

Personalisation: a card needs its own keys in the chip. :meth:`IssuerKeyring.card_keys`
derives them inside the module, exports each wrapped under a one-time transport key whose two
components go to the personalisation step only (in memory, never stored), and deletes the
transport key and the derived keys afterwards; this is how a bureau receives keys, and the only
place card keys exist outside the module (the emulated chip's file, as on a real chip).
"""

from __future__ import annotations

import threading
from typing import Final

from zhifu.card.image.model import KeySet
from zhifu.crypto.cipher import Cipher, decrypt_ecb
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage

__all__ = ["FAMILIES", "IssuerKeyring", "zone_pin_key"]

FAMILIES: Final = {"tdes": KeyAlgorithm.TDES, "sm4": KeyAlgorithm.SM4}
_ROLES: Final = ("imk-ac", "imk-smi", "imk-smc")
_SINGLE: Final[dict[str, tuple[KeyUsage, KeyAlgorithm]]] = {
    "issuer/pvk": (KeyUsage.PVK, KeyAlgorithm.TDES),
    "issuer/cvk": (KeyUsage.CVK, KeyAlgorithm.TDES),
    "issuer/pan-index": (KeyUsage.MAC, KeyAlgorithm.TDES),
    "issuer/pan-data": (KeyUsage.DATA, KeyAlgorithm.TDES),
    "zone/zpk": (KeyUsage.PIN, KeyAlgorithm.TDES),
}


class IssuerKeyring:
    """Finds (or, the first time, generates) the issuer's keys in ``hsm``."""

    def __init__(self, hsm: SoftHsm) -> None:
        self.hsm = hsm
        self._lock = threading.Lock()
        self._handles: dict[str, KeyHandle] = {}
        self.ensure()

    def ensure(self) -> None:
        """Load the handles by label; generate the keys that are missing."""
        with self._lock:
            found = {info.label: info.handle for info in self.hsm.list_keys() if info.label}
            wanted = dict(_SINGLE)
            for family, algorithm in FAMILIES.items():
                for role in _ROLES:
                    wanted[f"issuer/{role}/{family}"] = (KeyUsage.CARD_MASTER, algorithm)
            for label, (usage, algorithm) in wanted.items():
                handle = found.get(label)
                if handle is None:
                    handle = self.hsm.generate_key(usage, algorithm, label=label)
                self._handles[label] = handle

    def handle(self, label: str) -> KeyHandle:
        """The handle of a key by its label (``issuer/pvk``, ``zone/zpk``...)."""
        return self._handles[label]

    def imk(self, role: str, family: str) -> KeyHandle:
        """An issuer master key: ``role`` ac/smi/smc, ``family`` tdes/sm4."""
        return self._handles[f"issuer/imk-{role}/{family}"]

    @property
    def zpk(self) -> KeyHandle:
        """The zone PIN key shared with the acquirer."""
        return self._handles["zone/zpk"]

    def check_values(self) -> dict[str, str]:
        """Label -> KCV (hex) of every issuer key."""
        return {label: handle.kcv for label, handle in sorted(self._handles.items())}

    def card_keys(self, family: str, pan: str, psn: str) -> KeySet:
        """A card's MK-AC, MK-SMI and MK-SMC for personalisation (see the module text)."""
        transport = self.hsm.generate_key_components(
            KeyUsage.KEK, KeyAlgorithm.SM4, label="issuer/personalisation-transport"
        )
        parts = [component.material.reveal() for component in transport.components]
        kek = bytes(a ^ b for a, b in zip(*parts, strict=True))
        keys: list[bytes] = []
        try:
            for role in ("ac", "smi", "smc"):
                card_key = self.hsm.derive_card_key(
                    self.imk(role, family), pan, psn, exportable=True
                )
                try:
                    wrapped = self.hsm.export_key_wrapped(card_key, transport.handle)
                finally:
                    self.hsm.delete_key(card_key, reason="card personalised")
                keys.append(decrypt_ecb(Cipher.SM4, kek, wrapped.key_block)[:16])
        finally:
            self.hsm.delete_key(transport.handle, reason="personalisation done")
        return KeySet(*keys)


def zone_pin_key(hsm: SoftHsm) -> KeyHandle:
    """The zone PIN key (label ``zone/zpk``) in ``hsm``, generated the first time.

    The in-process acquirer translates terminal PIN blocks to it and the issuer verifies
    under it; both find it by its label.
    """
    for info in hsm.list_keys():
        if info.label == "zone/zpk":
            return info.handle
    return hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.TDES, label="zone/zpk")
