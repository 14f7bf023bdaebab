"""Personal financial data by class (JR/T 0171-2020), and how each class is kept.

:data:`CLASSES` is the table: **C3** (authentication data: tracks and the chip's equivalent,
CVN, expiry, PIN and PIN block, passwords, one-time codes) is never stored after authorisation;
**C2** (card and account numbers, ID and phone numbers, names, balances, transactions) is stored
as a :class:`Protected` trio — the value sealed with SM4-GCM under a data key of the security
module, a keyed hash (HMAC-SM3 under an index key) to look it up, and a masked copy to show;
**C1** (internal data) is ordinary. :data:`ISO8583_FIELDS` maps the message fields that carry
such data to their kind.

Keys are versioned by label (``protect data v1``, ``protect index v1``...):
:meth:`DataProtector.rotate` makes the next version; values sealed under an older one still
open, and :meth:`DataProtector.rewrap` / :meth:`DataProtector.reindex` move a stored value to
the current keys without the clear value leaving this class. Revealing a C2 value is a
privileged act: :meth:`DataProtector.reveal` needs the ``pan.unmask`` permission and writes an
audit record either way.

>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> protector = DataProtector(SoftHsm(KeyStore.in_memory()))
>>> kept = protector.protect("pan", "6228480000000000017")
>>> kept.masked, kept.sealed.startswith("d1:"), "6228480000000000017" in repr(kept)
('622848*********0017', True, False)
>>> kept.lookup == protector.lookup("pan", "6228480000000000017")
True
>>> protector.protect("cvn", "123")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: kind: cvn is C3 (authentication data): never stored after...
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from zhifu.core.errors import UsageError
from zhifu.security.access.errors import AccessError
from zhifu.security.access.permissions import Principal, allows
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage
from zhifu.security.secrets import mask_pan

__all__ = ["CLASSES", "ISO8583_FIELDS", "DataClass", "DataProtector", "Protected", "mask"]


class DataClass(enum.Enum):
    """The three classes of personal financial information of JR/T 0171-2020."""

    C3 = "C3"
    """Authentication data: never stored after authorisation."""
    C2 = "C2"
    """Identifies a person or their money: stored encrypted, looked up by keyed hash, masked."""
    C1 = "C1"
    """Internal data: ordinary."""


_C3, _C2, _C1 = DataClass.C3, DataClass.C2, DataClass.C1
CLASSES: Final[Mapping[str, DataClass]] = {
    "track1": _C3, "track2": _C3, "track3": _C3, "chip_data": _C3, "cvn": _C3, "cvn2": _C3,
    "expiry": _C3, "pin": _C3, "pin_block": _C3, "password": _C3, "payment_password": _C3,
    "otp": _C3, "biometric": _C3,
    "pan": _C2, "account_number": _C2, "id_number": _C2, "phone": _C2, "name": _C2,
    "login_name": _C2, "balance": _C2, "transaction": _C2, "address": _C2,
    "account_opened": _C1, "branch": _C1, "payment_token": _C1, "merchant_id": _C1,
    "terminal_id": _C1,
}  # fmt: skip
"""Each kind of data and its class."""

ISO8583_FIELDS: Final[Mapping[int, str]] = {
    2: "pan", 14: "expiry", 35: "track2", 36: "track3", 45: "track1", 52: "pin_block",
    55: "chip_data", 102: "account_number", 103: "account_number",
}  # fmt: skip
"""The ISO 8583 fields that carry C2/C3 data, and the kind each carries."""

REVEAL_PERMISSION: Final = "pan.unmask"
Audit = Callable[[str, str, str, str], object]


def mask(kind: str, value: str) -> str:
    """The masked copy shown for a C2 value: a card or account number first 6 + last 4, a
    phone number first 3 + last 4, an ID number first 1 + last 1, anything else ``***``.

    >>> mask("phone", "13812345678"), mask("id_number", "110101199003071234")
    ('138****5678', '1****************4')
    """
    if kind in {"pan", "account_number"} and len(value) >= 12:
        return mask_pan(value)
    keep = {"phone": (3, 4), "id_number": (1, 1)}.get(kind)
    if keep and len(value) > sum(keep):
        head, tail = keep
        return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]
    return "***"


@dataclass(frozen=True)
class Protected:
    """How a C2 value is stored: sealed, its look-up hash, its masked copy (no clear value)."""

    sealed: str
    lookup: str
    masked: str


def _class_of(kind: str) -> DataClass:
    found = CLASSES.get(kind)
    if found is None:
        raise UsageError(f"one of the kinds of zhifu.security.protect.CLASSES, not {kind}",
                         argument="kind")  # fmt: skip
    return found


class DataProtector:
    """Seals, looks up, masks and (when allowed) reveals C2 data (see the module docstring)."""

    def __init__(self, hsm: SoftHsm, *, audit: Audit | None = None) -> None:
        self.hsm = hsm
        self.audit: Audit = audit or (lambda *_: None)
        self._latest: dict[str, tuple[int, KeyHandle]] = {}

    def _versions(self, name: str, usage: KeyUsage) -> dict[int, KeyHandle]:
        prefix = f"protect {name} v"
        return {int(i.label[len(prefix):]): i.handle for i in self.hsm.list_keys()
                if i.label.startswith(prefix) and i.usage is usage}  # fmt: skip

    def _current(self, name: str, usage: KeyUsage) -> tuple[int, KeyHandle]:
        """The latest version (remembered: :meth:`rotate` in this object moves it on)."""
        found = self._latest.get(name)
        if found is None:
            versions = self._versions(name, usage)
            if not versions:
                label = f"protect {name} v1"
                versions = {1: self.hsm.generate_key(usage, KeyAlgorithm.SM4, label=label)}
            found = self._latest[name] = max(versions.items())
        return found

    @property
    def version(self) -> int:
        """The current data key's version."""
        return self._current("data", KeyUsage.DATA)[0]

    def rotate(self) -> tuple[int, int]:
        """Make the next data and index keys; their versions."""
        made = []
        for name, usage in (("data", KeyUsage.DATA), ("index", KeyUsage.MAC)):
            version = self._current(name, usage)[0] + 1
            label = f"protect {name} v{version}"
            self._latest[name] = (
                version,
                self.hsm.generate_key(usage, KeyAlgorithm.SM4, label=label),
            )
            made.append(version)
        return made[0], made[1]

    def seal(self, kind: str, value: str) -> str:
        """``d<version>:`` + base64 of the value sealed with its kind as associated data."""
        _class_of(kind)
        version, handle = self._current("data", KeyUsage.DATA)
        sealed = self.hsm.seal_gcm(handle, value.encode(), kind.encode())
        return f"d{version}:{base64.b64encode(sealed).decode()}"

    def unseal(self, kind: str, sealed: str) -> str:
        """The clear value, for the service that holds the record and needs it to work (the
        issuer checking its card's expiry); people see values through :meth:`reveal`."""
        return self._open(kind, sealed)

    def _open(self, kind: str, sealed: str) -> str:
        tag, _, body = sealed.partition(":")
        handle = self._versions("data", KeyUsage.DATA).get(int(tag[1:]) if tag[1:].isdigit() else 0)
        if not tag.startswith("d") or handle is None:
            raise UsageError("a value sealed by DataProtector.seal (d<version>:...)",
                             argument="sealed")  # fmt: skip
        return self.hsm.open_gcm(handle, base64.b64decode(body), kind.encode()).decode()

    def lookup(self, kind: str, value: str) -> str:
        """``i<version>:`` + the keyed hash of the value under the current index key."""
        version, handle = self._current("index", KeyUsage.MAC)
        return f"i{version}:{self.hsm.generate_hmac_sm3(handle, f'{kind}:{value}'.encode()).hex()}"

    def protect(self, kind: str, value: str) -> Protected:
        """The stored form of a C2 value (C3 is refused: it is never stored)."""
        found = _class_of(kind)
        if found is DataClass.C3:
            raise UsageError(f"{kind} is C3 (authentication data): never stored after "
                             "authorisation", argument="kind")  # fmt: skip
        return Protected(self.seal(kind, value), self.lookup(kind, value), mask(kind, value))

    def rewrap(self, kind: str, sealed: str) -> str:
        """The value sealed under the current data key."""
        return self.seal(kind, self._open(kind, sealed))

    def reindex(self, kind: str, sealed: str) -> str:
        """The value's look-up hash under the current index key."""
        return self.lookup(kind, self._open(kind, sealed))

    def reveal(self, kind: str, sealed: str, *, principal: Principal, reason: str) -> str:
        """The clear value, for a principal holding ``pan.unmask`` (audited either way)."""
        if not allows(principal, REVEAL_PERMISSION):
            self.audit(principal.name, "data.reveal", kind, f"refused: {reason}")
            raise AccessError("permission_denied")
        clear = self._open(kind, sealed)
        self.audit(principal.name, "data.reveal", f"{kind} {mask(kind, clear)}", f"ok: {reason}")
        return clear
