"""A supervised part of a process: started, watched, and started again when it dies.

``zhifu serve`` runs the acquirer host beside the web app in one process. Should the
acquirer's thread end on its own (a bug, a resource gone), :class:`Supervised` notices within
``every`` seconds, logs it, and starts a new one after a back-off (1 s, doubling, at most
``max_backoff``), telling ``on_start`` of each new instance (the web app's view of the running
services follows it). ``stop()`` stops watching and stops the part.

>>> import threading
>>> starts = []
>>> class Part:
...     def __init__(self): self.alive = True
>>> def start():
...     part = Part(); starts.append(part); return part
>>> watched = Supervised("demo", start, alive=lambda p: p.alive, stop=lambda p: None,
...                      every=0.01, first_backoff=0.01)
>>> starts[0].alive = False          # it dies...
>>> watched.wait_restarts(1, timeout=5)  # ...and comes back
True
>>> watched.current is starts[1], watched.restarts
(True, 1)
>>> watched.stop()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Supervised"]

T = TypeVar("T")
log = logging.getLogger("zhifu.core.supervise")


class Supervised(Generic[T]):
    """One part, kept running (see the module docstring)."""

    def __init__(
        self, name: str, start: Callable[[], T], *, alive: Callable[[T], bool],
        stop: Callable[[T], None], on_start: Callable[[T], None] | None = None,
        every: float = 1.0, first_backoff: float = 1.0, max_backoff: float = 30.0,
    ) -> None:  # fmt: skip
        self.name = name
        self._start, self._alive, self._stop, self._on_start = start, alive, stop, on_start
        self._every, self._first, self._max = every, first_backoff, max_backoff
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self.restarts = 0
        self.current: T = start()  # the first start's error goes to the caller
        if on_start is not None:
            on_start(self.current)
        self._thread = threading.Thread(target=self._watch, name=f"watch-{name}", daemon=True)
        self._thread.start()

    def wait_restarts(self, count: int, timeout: float) -> bool:
        """Block until the part was started again ``count`` times (True) or ``timeout``."""
        with self._changed:
            return self._changed.wait_for(lambda: self.restarts >= count, timeout)

    def stop(self) -> None:
        """Stop watching, then stop the part."""
        self._stopping.set()
        self._thread.join()
        self._stop(self.current)

    def _watch(self) -> None:
        backoff = self._first
        while not self._stopping.wait(self._every):
            if self._alive(self.current):
                backoff = self._first
                continue
            log.error("%s stopped on its own: starting it again in %.0f s", self.name, backoff)
            try:
                self._stop(self.current)  # whatever it left (a loop, a socket)
            except Exception:
                log.exception("%s: stopping what was left failed", self.name)
            if self._stopping.wait(backoff):
                return
            try:
                fresh = self._start()
            except Exception:
                log.exception("%s could not be started again", self.name)
                backoff = min(backoff * 2, self._max)
                continue
            with self._changed:
                self.current, self.restarts = fresh, self.restarts + 1
                self._changed.notify_all()
            if self._on_start is not None:
                self._on_start(fresh)
            log.warning("%s started again (restart %d)", self.name, self.restarts)
            backoff = min(backoff * 2, self._max)
