"""What a payment-code issuer keeps: device secrets by handle, and the codes already spent.

Both are protocols so that the issuer can keep them in its database; the in-memory versions
here serve tests, simulations and a single-process host.

>>> from datetime import datetime, timezone
>>> used = InMemoryUsedCodes()
>>> until = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> used.claim("911234567:1:0", until), used.claim("911234567:1:0", until)
(True, False)
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from zhifu.core.clock import Clock
from zhifu.core.errors import UsageError


class DeviceDirectory(Protocol):
    """Handle -> device secret, as enrolled by the issuer."""

    def device_secret(self, handle: str) -> bytes | None:
        """The secret of an enrolled, active device, or None."""
        ...


class UsedCodeStore(Protocol):
    """Codes already spent. ``claim`` must be atomic: exactly one caller wins a key."""

    def claim(self, key: str, keep_until: datetime) -> bool:
        """Mark ``key`` spent; True if it was not spent before. It may be forgotten after
        ``keep_until`` (by then the issuer refuses the code as expired anyway)."""
        ...

    def is_used(self, key: str) -> bool:
        """True if ``key`` has been claimed (and not yet forgotten)."""
        ...


class InMemoryDevices:
    """A dict of device secrets (tests, simulations)."""

    def __init__(self, secrets: Mapping[str, bytes] | None = None) -> None:
        self._secrets: dict[str, bytes] = {}
        for handle, secret in (secrets or {}).items():
            self.enroll(handle, secret)

    def __repr__(self) -> str:  # never the secrets
        return f"InMemoryDevices({len(self._secrets)} devices)"

    def enroll(self, handle: str, secret: bytes) -> None:
        if len(secret) < 16:
            raise UsageError("a device secret needs at least 16 bytes", argument="secret")
        self._secrets[handle] = bytes(secret)

    def revoke(self, handle: str) -> None:
        self._secrets.pop(handle, None)

    def device_secret(self, handle: str) -> bytes | None:
        return self._secrets.get(handle)


class InMemoryUsedCodes:
    """A thread-safe set of spent codes; with a clock it forgets codes past their TTL."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self._keys: set[str] = set()
        self._expiry: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def claim(self, key: str, keep_until: datetime) -> bool:
        with self._lock:
            self._forget_old()
            if key in self._keys:
                return False
            self._keys.add(key)
            heapq.heappush(self._expiry, (keep_until, key))
            return True

    def is_used(self, key: str) -> bool:
        with self._lock:
            return key in self._keys

    def _forget_old(self) -> None:
        if self._clock is None:
            return
        now = self._clock.now()
        while self._expiry and self._expiry[0][0] <= now:
            _, key = heapq.heappop(self._expiry)
            self._keys.discard(key)
