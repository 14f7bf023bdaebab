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
import multiprocessing
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")
ItemT = TypeVar("ItemT")
A = TypeVar("A")
R = TypeVar("R")
Call = tuple[Callable[[], Any], "asyncio.Future[Any]"]
Outcome = tuple["asyncio.Future[Any]", bool, Any]


class OffloadClosedError(RuntimeError):
    """The worker was stopped; nothing more is accepted."""


class TurnBatches(Generic[ItemT]):
    """What the tasks of an event loop submit during one turn of the loop, gathered per loop
    and handed to ``flush(loop, [(item, future), ...])`` at the end of that turn; whoever
    flushes settles the futures (:func:`resolve`).

    >>> flushed = []
    >>> batches = TurnBatches(lambda loop, batch: resolve((f, True, i * 2) for i, f in batch)
    ...                       or flushed.append(len(batch)))
    >>> async def main() -> list[int]:
    ...     return await asyncio.gather(*(batches.submit(i) for i in range(3)))
    >>> asyncio.run(main()), flushed
    ([0, 2, 4], [3])
    """

    def __init__(self, flush: Callable[[asyncio.AbstractEventLoop, list[Any]], Any]) -> None:
        self._flush = flush
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[ItemT, asyncio.Future[Any]]]]
        self._pending = {}

    async def submit(self, item: ItemT) -> Any:
        """Add ``item`` to this turn's batch; its result once the batch is flushed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        batch = self._pending.get(loop)
        if batch is None:
            batch = self._pending[loop] = []
            loop.call_soon(self._fire, loop)
        batch.append((item, future))
        return await future

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flush(loop, self._pending.pop(loop))


def resolve(outcomes: Iterable[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    """Settle futures on their loop: (future, ok, result or exception) each; a future whose
    waiting task was cancelled meanwhile is left alone."""
    for future, ok, value in outcomes:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def resolve_from_thread(
    loop: asyncio.AbstractEventLoop, outcomes: list[tuple[asyncio.Future[Any], bool, Any]]
) -> None:
    """:func:`resolve` from another thread: one wake-up of ``loop`` for all of them."""
    with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
        loop.call_soon_threadsafe(resolve, outcomes)


class Offload:
    """One worker thread serving event loops (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.batches = 0
        self._queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, list[Call]] | None]
        self._queue = queue.SimpleQueue()
        self._batches: TurnBatches[Callable[[], Any]] = TurnBatches(self._dispatch)
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the worker thread; its result (or exception) here."""
        if self._closed:
            raise OffloadClosedError("the worker thread was stopped")
        result: T = await self._batches.submit(fn)
        return result

    def close(self) -> None:
        """Finish the batches already sent, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _dispatch(self, loop: asyncio.AbstractEventLoop, batch: list[Call]) -> None:
        self._queue.put((loop, batch))

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
            resolve_from_thread(loop, outcomes)


class ProcessOffload(Generic[A, R]):
    """Batches for a function in one helper process, for work that holds the interpreter lock
    (SM2 verification): the calls of one turn of the event loop go as one list to
    ``batch_fn`` (a module-level function: list of arguments -> list of results) in the helper,
    and come back in one wake-up of the loop. The helper process starts at the first call
    (``spawn``: a fresh interpreter, safe beside threads).

    >>> import asyncio, operator
    >>> from zhifu.crypto.sm2_batch import verify_many
    >>> offload = ProcessOffload(verify_many)
    >>> async def main() -> list[bool]:
    ...     return await asyncio.gather(offload.call((b"\\x04" + bytes(64), b"m", b"")))
    >>> asyncio.run(main())
    [False]
    >>> offload.close()
    """

    def __init__(self, batch_fn: Callable[[list[A]], list[R]]) -> None:
        self.batch_fn = batch_fn
        self.batches = 0
        self._pool: ProcessPoolExecutor | None = None
        self._batches: TurnBatches[A] = TurnBatches(self._dispatch)
        self._lock = threading.Lock()
        self._closed = False

    async def call(self, argument: A) -> R:
        """``batch_fn([argument, ...])``'s result for this argument."""
        if self._closed:
            raise OffloadClosedError("the helper process was stopped")
        result: R = await self._batches.submit(argument)
        return result

    def close(self) -> None:
        """Stop the helper process (batches under way finish first)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _dispatch(
        self, loop: asyncio.AbstractEventLoop, batch: list[tuple[A, asyncio.Future[Any]]]
    ) -> None:
        try:
            done = self._executor().submit(self.batch_fn, [argument for argument, _ in batch])
        except Exception as exc:  # closed, or the helper died: the callers get the error
            _fail(batch, exc)
            return
        self.batches += 1
        done.add_done_callback(lambda f: _call_back(loop, batch, f))

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise OffloadClosedError("the helper process was stopped")
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(1, mp_context=context)
            return self._pool


def _call_back(
    loop: asyncio.AbstractEventLoop, batch: list[tuple[Any, asyncio.Future[Any]]], done: Any
) -> None:
    """On the executor's thread: the helper answered (or failed) for the whole batch."""
    try:
        results = done.result()
    except Exception as exc:  # the helper died or the function raised: every caller hears it
        resolve_from_thread(loop, [(future, False, exc) for _, future in batch])
        return
    pairs = zip(batch, results, strict=True)
    resolve_from_thread(loop, [(future, True, result) for (_, future), result in pairs])


def _fail(batch: list[tuple[Any, asyncio.Future[Any]]], exc: BaseException) -> None:
    resolve((future, False, exc) for _, future in batch)
