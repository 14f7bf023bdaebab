"""The terminal's secure module: key slots with a capacity, the PIN pad inside, management mode.

Around the terminal's security module (:class:`~zhifu.security.hsm.soft.SoftHsm` over
``keys.db``, every key sealed under the terminal's device key, its LMK):

* **Capacity.** Keys and certificates share :data:`CAPACITY_BYTES` (8 KiB, the mini terminal's
  6 KB and then some); a key that would not fit is refused with :class:`StoreFullError`, which
  says how much is used and what to do.
* **PIN pad.** :meth:`SecureModule.pin_pad` takes keypad digits one at a time inside the module;
  the screen gets only ``*`` per digit; confirm returns the PIN block enciphered under the PIK;
  correct deletes a digit, cancel forgets them. The digits never leave as text.
* **Management mode** (key loading, deleting keys, parameters) opens only after the
  administrator's password (kept as an scrypt hash in ``admin.json``, never the password) and
  closes after :data:`MANAGEMENT_TIMEOUT` seconds without a management command, or when told.

>>> from zhifu.core.clock import FixedClock
>>> from datetime import datetime, UTC
>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
>>> module = SecureModule(SoftHsm(KeyStore.in_memory()), clock=clock)
>>> module.set_admin_password("correct horse battery")
>>> module.management_open
False
>>> module.open_management("correct horse battery"); module.management_open
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Final

from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.crypto.pinblock import encode_pinblock_iso_2
from zhifu.security.hsm.base import HandleLike
from zhifu.security.hsm.pin import PinBlockFormat
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage
from zhifu.security.secrets import Pin
from zhifu.terminal.sealed import KeypadSeal

__all__ = [
    "CAPACITY_BYTES",
    "MANAGEMENT_TIMEOUT",
    "ManagementClosedError",
    "PinPad",
    "SecureModule",
    "SecureModuleError",
    "StoreFullError",
]

CAPACITY_BYTES: Final = 8 * 1024
MANAGEMENT_TIMEOUT: Final = 120.0
_SCRYPT: Final = {"n": 2**14, "r": 8, "p": 1}


class SecureModuleError(ZhifuError):
    """The secure module refused a command."""


class StoreFullError(SecureModuleError):
    """No room left for another key or certificate."""


class ManagementClosedError(SecureModuleError):
    """A management command while management mode is closed."""


def _size(length: int, algorithm: KeyAlgorithm) -> int:
    """Bytes a key takes in the slots (RSA lengths are in bits)."""
    return (length + 7) // 8 if algorithm is KeyAlgorithm.RSA else length


class SecureModule:
    """The terminal's secure module (see the module docstring)."""

    def __init__(
        self,
        hsm: SoftHsm,
        folder: Path | str | None = None,
        *,
        clock: Clock | None = None,
        capacity: int = CAPACITY_BYTES,
    ) -> None:
        self.hsm = hsm
        self.folder = Path(folder) if folder is not None else None
        self.clock: Clock = clock or SystemClock()
        self.capacity = capacity
        self._admin: dict[str, str] = self._load_admin()
        self._open_until: float | None = None

    # -- capacity ---------------------------------------------------------------------------
    def used_bytes(self) -> int:
        """Bytes the keys and certificates in the slots take."""
        return sum(_size(i.length, i.algorithm) for i in self.hsm.list_keys())

    def check_room(self, needed: int) -> None:
        """:class:`StoreFullError` unless ``needed`` more bytes fit."""
        used = self.used_bytes()
        if used + needed > self.capacity:
            raise StoreFullError(
                f"the key store is full ({used} of {self.capacity} bytes used, {needed} more "
                "needed): delete keys in management mode first"
            )

    # -- management mode -----------------------------------------------------------------
    def _admin_file(self) -> Path | None:
        return self.folder / "admin.json" if self.folder is not None else None

    def _load_admin(self) -> dict[str, str]:
        path = self._admin_file()
        if path is None or not path.exists():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return {"salt": str(data["salt"]), "hash": str(data["hash"])}

    def set_admin_password(self, password: str) -> None:
        """Set the administrator's password (at least 12 characters); keeps its scrypt hash."""
        if len(password) < 12:
            raise UsageError("at least 12 characters", argument="password")
        if self._admin:
            self.require_management()
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
        self._admin = {"salt": salt.hex(), "hash": digest.hex()}
        path = self._admin_file()
        if path is not None:
            path.write_text(json.dumps(self._admin), encoding="utf-8")
            path.chmod(0o600)

    def open_management(self, password: str) -> None:
        """Open management mode with the administrator's password (else an error, still closed)."""
        if not self._admin:
            raise SecureModuleError("no administrator password is set: set one at installation")
        digest = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(self._admin["salt"]), **_SCRYPT
        )
        if not hmac.compare_digest(digest.hex(), self._admin["hash"]):
            self._open_until = None
            raise SecureModuleError("wrong administrator password: management mode stays closed")
        self._open_until = self.clock.monotonic() + MANAGEMENT_TIMEOUT

    def close_management(self) -> None:
        self._open_until = None

    @property
    def management_open(self) -> bool:
        until = self._open_until
        return until is not None and self.clock.monotonic() < until

    def require_management(self) -> None:
        """:class:`ManagementClosedError` unless open; each command keeps it open longer."""
        if not self.management_open:
            self._open_until = None
            raise ManagementClosedError(
                "management mode is closed (or timed out): open it with the administrator's "
                "password"
            )
        self._open_until = self.clock.monotonic() + MANAGEMENT_TIMEOUT

    # -- key loading in management mode ----------------------------------------------------
    def load_key(
        self, wrapped: bytes, kek: KeyHandle, usage: KeyUsage, algorithm: KeyAlgorithm, *,
        kcv: str, label: str = "",
    ) -> KeyHandle:  # fmt: skip
        """Load a key that arrives wrapped under a KEK (management mode, room checked)."""
        self.require_management()
        self.check_room(len(wrapped))
        return self.hsm.import_key_wrapped(
            wrapped, kek, usage, algorithm, kcv=kcv, exportable=False, label=label
        )

    def delete_key(self, handle: KeyHandle) -> None:
        """Delete a key (management mode)."""
        self.require_management()
        self.hsm.delete_key(handle, reason="deleted in management mode")

    # -- the PIN pad ------------------------------------------------------------------------
    def pin_pad(self, pik: KeyHandle, pan: str) -> PinPad:
        """A PIN entry for one transaction under the PIN key ``pik``."""
        return PinPad(self.hsm, pik, pan)


class PinPad:
    """Keypad digits into the module; ``*`` out; the enciphered PIN block at confirm.

    A keypad outside the module sends its digits sealed (:mod:`zhifu.terminal.sealed`): the
    pad's :attr:`seal` makes the key pair on first use, :meth:`press_sealed` opens each one.
    """

    def __init__(self, hsm: SoftHsm, pik: HandleLike, pan: str) -> None:
        self._hsm, self._pik, self._pan = hsm, pik, pan
        self._digits = bytearray()
        self._seal: KeypadSeal | None = None

    @property
    def seal(self) -> KeypadSeal:
        """This entry's key pair for a keypad outside the module (made on first use)."""
        if self._seal is None:
            self._seal = KeypadSeal()
        return self._seal

    def press_sealed(self, sealed: bytes) -> str:
        """A digit sealed under :attr:`seal` (SealError if not the next one); the screen."""
        return self.press(self.seal.open(sealed))

    def __repr__(self) -> str:
        return f"PinPad({len(self._digits)} digits entered)"

    @property
    def screen(self) -> str:
        """What the screen shows: one ``*`` per digit."""
        return "*" * len(self._digits)

    def press(self, key: str) -> str:
        """A digit ``0``-``9``, ``correct`` or ``cancel``; the screen afterwards."""
        if key == "correct":
            if self._digits:
                self._digits.pop()
        elif key == "cancel":
            self._wipe()
        elif len(key) == 1 and key.isdigit() and len(self._digits) < 12:
            self._digits.append(ord(key))
        elif not (len(key) == 1 and key.isdigit()):
            raise UsageError("a digit, correct or cancel", argument="key")
        return self.screen

    def confirm(self) -> str:
        """The ISO format 0 PIN block under the PIK (hex); the digits are forgotten."""
        if not 4 <= len(self._digits) <= 12:
            raise UsageError("a PIN is 4 to 12 digits", argument="pin")
        try:
            pin = Pin(self._digits.decode("ascii"))
            block = self._hsm.encrypt_pin_block(
                pin, self._pik, self._pan, format=PinBlockFormat.ISO_0
            )
            return block.reveal().hex().upper()
        finally:
            self._wipe()

    def offline_block(self) -> bytes:
        """The ISO format 2 block the card's VERIFY takes (an offline PIN, which the card checks
        itself; P2 80 sends it as is, P2 88 enciphered); the digits are forgotten."""
        if not 4 <= len(self._digits) <= 12:
            raise UsageError("a PIN is 4 to 12 digits", argument="pin")
        try:
            return encode_pinblock_iso_2(self._digits.decode("ascii"))
        finally:
            self._wipe()

    def _wipe(self) -> None:
        for i in range(len(self._digits)):
            self._digits[i] = 0
        self._digits.clear()
