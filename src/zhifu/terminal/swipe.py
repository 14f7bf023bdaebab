"""Swiping a magnetic-stripe card (a ``zhifu-stripe/1`` file): tracks 2 and 3 as read.

:class:`StripeSession` stands where a :class:`~zhifu.terminal.chip.ChipSession` stands in the
flow when a stripe card is swiped: no chip, no cryptogram; the facts are track 2's PAN, expiry
and service code, with track 3 beside them (field 36). The service code's first digit 2 or 6
says the card has a chip: the terminal asks for it to be inserted (``docs/terminal.md``).

>>> from zhifu.codec.tracks import Track2
>>> from zhifu.card.stripe import StripeCard
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.json"
>>> _ = StripeCard(Track2("6228000100001117", "3012", "120", "1230000")).save(path)
>>> StripeSession(path).facts().track2
'6228000100001117D30121201230000'
"""

from __future__ import annotations

from pathlib import Path

from zhifu.card.stripe import StripeCard
from zhifu.codec.tracks import track2_equivalent_encode
from zhifu.terminal.chip import CardFacts, ChipSession, TerminalData

__all__ = ["StripeSession"]


class StripeSession(ChipSession):
    """A stripe card in the swipe slot."""

    def __init__(self, card: Path | str) -> None:
        self.card = StripeCard.load(card)
        self.choose = None
        self.aid = b""
        self.script_results = []
        self.kernel_result = None
        self.contactless = False
        self.online_pin = True
        self.offline_approved = False
        self.offline_pin_verified = False
        self._term = None
        self._facts = None

    def read(self, amount: int, transaction_type: int, data: TerminalData | None = None) -> None:
        """The swipe: the tracks as recorded."""
        track2 = self.card.track2
        nibbles = track2_equivalent_encode(track2).hex().upper().rstrip("F")
        track3 = self.card.track3
        self._facts = CardFacts(
            track2.pan, "000", track2.expiry or "", nibbles,
            track3=track3.encode(with_sentinels=False, with_lrc=False) if track3 else "",
        )  # fmt: skip

    def facts(self) -> CardFacts:
        """PAN, expiry and the tracks (after the swipe)."""
        if self._facts is None:
            self.read(0, 0)
        assert self._facts is not None
        return self._facts

    def close(self) -> None:
        """Nothing to release."""
