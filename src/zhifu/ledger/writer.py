"""Group commit: one writer thread per ledger turns concurrent requests into one transaction.

Callers put their request on a queue and wait. The writer takes the first request, then every
request already waiting (up to :data:`GROUP_EVENTS_MAX` events), applies them all in one
database transaction, commits (the database syncs), and only then wakes each caller with its
own results. While one group commits, the next one gathers: the cost of a sync is shared by
every request in the group, which is where the throughput of TigerBeetle-style batching comes
from.

>>> from zhifu.core.clock import SystemClock
>>> from zhifu.ledger.model import Account
>>> from zhifu.ledger.store_sqlite import SqliteStore
>>> writer = GroupCommitWriter(SqliteStore(":memory:", SystemClock(), create=True))
>>> [r.name for r in writer.submit("accounts", [Account(1, 156, 10)])]
['OK']
>>> writer.close()
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any, Final

from zhifu.core.offload import resolve_from_thread
from zhifu.ledger.model import Account, Transfer
from zhifu.ledger.store import Request, Store

GROUP_EVENTS_MAX: Final = 8 * 8190
_STOP: Final = None


class LedgerClosedError(RuntimeError):
    """The ledger was closed; nothing more is accepted."""


class GroupCommitWriter:
    """The single writer thread of a ledger (see the module docstring)."""

    def __init__(self, store: Store, *, group_events_max: int = GROUP_EVENTS_MAX) -> None:
        assert group_events_max > 0
        self.store = store
        self.group_events_max = group_events_max
        self.groups = 0
        self.requests = 0
        self._queue: queue.SimpleQueue[tuple[Request, Waiter] | None] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="zhifu-ledger-writer", daemon=True)
        self._thread.start()

    def submit(self, kind: str, events: Sequence[Account] | Sequence[Transfer]) -> list[int]:
        """Apply one request and return its results once they are durable."""
        return self.enqueue(kind, events).result()

    def enqueue(
        self, kind: str, events: Sequence[Account] | Sequence[Transfer]
    ) -> Future[list[int]]:
        """Queue one request without waiting; the future resolves once it is durable."""
        future: Future[list[int]] = Future()
        self._put(Request(kind, events), future)
        return future

    async def submit_async(
        self, kind: str, events: Sequence[Account] | Sequence[Transfer]
    ) -> list[int]:
        """:meth:`submit` for a coroutine: no thread waits. After a commit the writer wakes
        each event loop once for all of its requests in the group, not once per request."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._put(Request(kind, events), _LoopWaiter(loop, future))
        return await future

    def _put(self, request: Request, waiter: Waiter) -> None:
        with self._close_lock:
            if self._closed:
                raise LedgerClosedError("the ledger is closed")
            self._queue.put((request, waiter))

    def close(self) -> None:
        """Finish the requests already queued, then stop the thread."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            group = [item]
            events = len(item[0].events)
            while events < self.group_events_max:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                group.append(more)
                events += len(more[0].events)
            self._apply(group)

    def _apply(self, group: list[tuple[Request, Waiter]]) -> None:
        requests = [request for request, _ in group]
        try:
            self.store.apply(requests)
        except Exception as exc:
            if len(group) > 1:  # isolate the request that failed: the others go on alone
                for one in group:
                    self._apply([one])
                return
            _deliver([(group[0][1], False, exc)])
            return
        self.groups += 1
        self.requests += len(group)
        for request, _ in group:
            assert len(request.results) == len(request.events)
        _deliver([(waiter, True, request.results) for request, waiter in group])


class _LoopWaiter:
    """A coroutine waiting on an event loop for its request's results."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[list[int]]) -> None:
        self.loop = loop
        self.future = future


Waiter = Future[list[int]] | _LoopWaiter
Outcome = tuple[Waiter, bool, Any]


def _deliver(outcomes: list[Outcome]) -> None:
    """Answer the waiters: threads through their futures, each event loop in one call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for waiter, ok, value in outcomes:
        if isinstance(waiter, _LoopWaiter):
            by_loop.setdefault(waiter.loop, []).append((waiter.future, ok, value))
        elif ok:
            waiter.set_result(value)
        else:
            waiter.set_exception(value)
    for loop, mine in by_loop.items():
        resolve_from_thread(loop, mine)
