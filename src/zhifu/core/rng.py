"""Randomness behind one small interface: the system CSPRNG, or a seeded source for tests.

Key material always comes from :class:`SystemRandomSource` (``secrets``/OpenSSL); a
:class:`SeededRandom` makes simulations and property tests repeatable.

>>> SeededRandom(7).bytes(4) == SeededRandom(7).bytes(4)
True
>>> len(SystemRandomSource().bytes(16))
16
"""

from __future__ import annotations

import random
import secrets
from typing import Protocol


class RandomSource(Protocol):
    """Where random bytes and numbers come from."""

    def bytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        ...

    def below(self, n: int) -> int:
        """A random integer in ``[0, n)``."""
        ...


class SystemRandomSource:
    """The operating system's CSPRNG (via ``secrets``)."""

    def bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def below(self, n: int) -> int:
        return secrets.randbelow(n)


class SeededRandom:
    """A repeatable source for tests and simulations; never for keys in production."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)  # noqa: S311 - deliberately deterministic

    def bytes(self, n: int) -> bytes:
        return self._random.randbytes(n)

    def below(self, n: int) -> int:
        return self._random.randrange(n)
