"""The canary scan after the whole test suite: every file the tests left in their temporary
folders (data directories, SQLite databases, logs, exports, receipts, backups) is searched for a
clear card number — a Luhn-valid run of 16 to 19 digits starting with a BIN of the emulated
issuers (``ISSUER_BINS``, the card profiles' 622800-622802; a random run of digits that starts
with them and passes Luhn is one in 10^7) — and for track-2 data. Card images and copies of the
source tree hold card numbers by design and are left out; everything else must hold none."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ISSUER_BINS = (b"622800", b"622801", b"622802")
"""The BINs of the emulated issuers' card profiles (``zhifu/card/profiles``)."""
_BIN = b"|".join(ISSUER_BINS)
PAN = re.compile(rb"(?<![0-9])((?:" + _BIN + rb")\d{10,13})(?![0-9])")
TRACK2 = re.compile(rb"(?<![0-9])((?:" + _BIN + rb")\d{10,13})[=D]\d{4}")
BY_DESIGN = (b'"format": "zhifu-card/1"', b'"format": "zhifu-stripe/1"', b"zhifu-device-1")


def luhn(digits: str) -> bool:
    """The Luhn check of a card number."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _by_design(path: Path, head: bytes) -> bool:
    return path.suffix == ".py" or any(marker in head for marker in BY_DESIGN)


def public_pans(folder: Path) -> set[str]:
    """The card numbers of the public test vectors (published: not anyone's secret)."""
    found: set[str] = set()
    for path in folder.rglob("*"):
        if path.is_file():
            found |= {m.group(1).decode() for m in PAN.finditer(path.read_bytes())}
    return found


def leaks(root: Path, public: frozenset[str] = frozenset()) -> Iterator[tuple[Path, str]]:
    """(file, what) for every file under ``root`` holding a clear PAN or track 2 (the PANs of
    ``public``, the published test vectors, excepted)."""
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if _by_design(path, data[:400]):
            continue
        pans = {m.group(1).decode() for m in PAN.finditer(data)} - public
        if {m.group(1).decode() for m in TRACK2.finditer(data)} - public:
            yield path, "track 2 data"
        elif any(luhn(pan) for pan in pans):
            yield path, "a clear card number"
