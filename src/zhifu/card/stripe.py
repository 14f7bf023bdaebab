"""A magnetic-stripe card: tracks 2 and 3 in a small file, for swiping at a terminal.

The file (``zhifu-stripe/1``) holds the tracks as a reader gets them — with sentinels and LRC —
so a swipe reads exactly what a stripe reader would: ISO/IEC 7813 track 2 and ISO/IEC 4909
track 3 (:mod:`zhifu.codec.tracks`). Track 2's discretionary data start with the card's CVN
(three digits, :mod:`zhifu.crypto.cvn`), zhifu's layout. A stripe file is the card itself:
like a chip card file it holds what the card holds, and it is written only for tests and
demonstrations.

>>> from zhifu.codec.tracks import Track2
>>> card = StripeCard(Track2("6228000100001117", "3012", "120", "1230000"))
>>> StripeCard.from_json(card.to_json()).track2 == card.track2, card.cvn
(True, '123')
>>> card
StripeCard(622800******1117)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeGuard

from zhifu.codec.pan import mask_pan
from zhifu.codec.tracks import Track2, Track3
from zhifu.core.errors import DecodeError, UsageError

__all__ = ["FORMAT", "StripeCard", "is_stripe_file"]

FORMAT: Final = "zhifu-stripe/1"


@dataclass(frozen=True, repr=False)
class StripeCard:
    """Tracks 2 and 3 of one card."""

    track2: Track2
    track3: Track3 | None = None

    def __repr__(self) -> str:
        return f"StripeCard({mask_pan(self.track2.pan)})"

    @property
    def cvn(self) -> str:
        """The CVN the discretionary data of track 2 begin with."""
        return self.track2.discretionary[:3]

    def to_json(self) -> dict[str, Any]:
        """The file's object."""
        track3 = None if self.track3 is None else self.track3.encode()
        return {"format": FORMAT, "track2": self.track2.encode(), "track3": track3}

    @classmethod
    def from_json(cls, data: object) -> StripeCard:
        """Check and read a file's object (DecodeError naming the field)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DecodeError(f"not a {FORMAT} card file", field="format")
        track2, track3 = data.get("track2"), data.get("track3")
        if not isinstance(track2, str):
            raise DecodeError("the card has no track 2", field="track2")
        if track3 is not None and not isinstance(track3, str):
            raise DecodeError("track 3 is text", field="track3")
        return cls(Track2.decode(track2), None if track3 is None else Track3.decode(track3))

    def save(self, path: Path | str) -> Path:
        """Write the file (mode 600: it is the card)."""
        out = Path(path)
        out.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        out.chmod(0o600)
        return out

    @classmethod
    def load(cls, path: Path | str) -> StripeCard:
        """Read a stripe file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}", argument="card") from None
        except ValueError:
            raise DecodeError("not JSON", field=str(path)) from None
        return cls.from_json(data)


def is_stripe_file(card: object) -> TypeGuard[Path | str]:
    """Whether ``card`` names a stripe file (a path whose JSON says ``zhifu-stripe/1``)."""
    if not isinstance(card, str | Path):
        return False
    try:
        head = Path(card).read_text(encoding="utf-8")[:200]
    except (OSError, UnicodeDecodeError):
        return False
    return f'"{FORMAT}"' in head
