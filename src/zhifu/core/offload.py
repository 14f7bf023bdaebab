"""Run functions that release the interpreter lock (signature checks) on a worker thread,
batched per turn of the event loop.

An event loop's thread is the bottleneck of a Python server: whatever it can hand to another
core is throughput gained. :class:`Offload` takes the calls that the loop's tasks make during
one turn, sends them to its worker thread as one batch, and wakes the loop once with all the
results: one thread hand-off per batch, not per call. Only functions that spend their time
outside the interpreter lock gain (OpenSSL's RSA, for example); pure-Python work would only
move the lock around.

>>> import asyncio
>>> offload = Offload("doc-offload")
>>> async def main() -> list[int]:
...     return await asyncio.gather(*(offload.call(lambda i=i: i * i) for i in range(5)))
>>> asyncio.run(main())
[0, 1, 4, 9, 16]
>>> offload.batches
1
>>> offload.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Call = tuple[Callable[[], Any], "asyncio.Future[Any]"]
Outcome = tuple["asyncio.Future[Any]", bool, Any]


class OffloadClosedError(RuntimeError):
    """The worker was stopped; nothing more is accepted."""


class Offload:
    """One worker thread serving event loops (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.batches = 0
        self._queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, list[Call]] | None]
        self._queue = queue.SimpleQueue()
        self._pending: dict[asyncio.AbstractEventLoop, list[Call]] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the worker thread; its result (or exception) here."""
        if self._closed:
            raise OffloadClosedError("the worker thread was stopped")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        batch = self._pending.get(loop)
        if batch is None:
            batch = self._pending[loop] = []
            loop.call_soon(self._dispatch, loop)
        batch.append((fn, future))
        return await future

    def close(self) -> None:
        """Finish the batches already sent, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        self._queue.put((loop, self._pending.pop(loop)))

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            loop, batch = item
            outcomes: list[Outcome] = []
            for fn, future in batch:
                try:
                    outcomes.append((future, True, fn()))
                except Exception as exc:  # the caller's to handle, as if it ran there
                    outcomes.append((future, False, exc))
            self.batches += 1
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(_resolve, outcomes)


def _resolve(outcomes: list[Outcome]) -> None:
    for future, ok, value in outcomes:
        if future.done():  # the waiting task was cancelled
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
