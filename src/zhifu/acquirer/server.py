"""The acquirer's TCP front door: asyncio, many terminals at once, pipelining per connection.

Each connection has a reader and a worker. The reader takes frames off the stream (2-byte
length; a length over ``max_frame_length`` or a stream cut inside a frame closes the
connection, since the stream is then out of step) and puts them in a bounded queue
(``queue_size``: a terminal that pipelines faster than the host answers is slowed down by
TCP, not buffered without limit). The worker answers them in order: it hands one frame at a
time to the server's batches and waits for its reply before the next.

The batches (:class:`_Batches`) gather the frames every connection handed over during one
turn of the event loop and run :meth:`~zhifu.acquirer.host.AcquirerHost.handle_many` on them
in a thread pool, so that the security module and the database never block the event loop:
one thread hand-off and two journal commits per batch instead of per frame. One batch (of
at most ``max_batch`` frames) runs at a time by default; what arrives meanwhile waits for
the next. More batches at once (``batches_in_flight``) only make threads take turns on the
interpreter lock and the one database connection, unless the work waits on something outside
the process. Whatever one connection sends, the others are served.

Sockets are cheap to open, so the server bounds them (:mod:`zhifu.acquirer.limits`): past
``max_connections`` in all, or ``max_connections_per_address`` from one source address, a
new connection is closed at once. A connection must send its first whole frame within
``first_frame_timeout_seconds`` (10 s by default); after that each frame may take
``idle_timeout_seconds`` (120 s). Refusals and silent connections are counted in
:attr:`AcquirerServer.stats` and logged at most once per kind every ten seconds.

>>> import asyncio
>>> async def demo() -> tuple[bool, bool]:
...     server = AcquirerServer(AcquirerConfig(port=0), AcquirerHost.in_memory())
...     await server.start()
...     running = server.port > 0
...     await server.stop()
...     return running, server.running
>>> asyncio.run(demo())
(True, False)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.host import AcquirerHost, Arrival, Reply
from zhifu.acquirer.limits import ConnectionLimits, Refusal, ThrottledLog
from zhifu.core.clock import Clock
from zhifu.core.errors import DecodeError, UsageError
from zhifu.iso8583.framing import read_frame_body
from zhifu.security.pki import server_context

__all__ = ["AcquirerServer", "event_loop_factory", "run_acquirer", "serve_acquirer"]

log = logging.getLogger("zhifu.acquirer.server")

STATS = ("accepted", "refused_full", "refused_per_address", "closed_silent", "closed_idle")
"""What :attr:`AcquirerServer.stats` counts: connections accepted; refused because the host
holds ``max_connections`` or the address ``max_connections_per_address``; closed because no
first frame came within ``first_frame_timeout_seconds`` or a later one within
``idle_timeout_seconds``."""

MAX_BATCH = 64
"""Default largest number of frames in one call of ``handle_many``."""

_Item = tuple[bytes, datetime, float]


class AcquirerServer:
    """The TCP server around an :class:`AcquirerHost`."""

    def __init__(
        self,
        config: AcquirerConfig,
        host: AcquirerHost,
        *,
        owns_host: bool = False,
        max_batch: int = MAX_BATCH,
        batches_in_flight: int = 1,
    ) -> None:
        """The server of ``host``; ``max_batch`` 1 hands the threads one frame at a time."""
        for name, value in (("max_batch", max_batch), ("batches_in_flight", batches_in_flight)):
            if value < 1:
                raise UsageError("must be at least 1", argument=name)
        self.config = config
        self.host = host
        self._owns_host = owns_host
        self._max_batch = max_batch
        self._in_flight = min(batches_in_flight, config.workers)
        self._server: asyncio.Server | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._batches: _Batches | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._port = config.port
        self._limits = ConnectionLimits(
            total=config.max_connections, per_address=config.max_connections_per_address
        )
        self._counts: Counter[str] = Counter()
        self._throttled = ThrottledLog.of(log)

    @property
    def port(self) -> int:
        """The port listened on (the real one when the configuration said 0)."""
        return self._port

    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._server is not None

    @property
    def connections(self) -> int:
        """Open connections."""
        return len(self._connections)

    @property
    def stats(self) -> dict[str, int]:
        """Connection counts so far, by the names of :data:`STATS`."""
        return {name: self._counts[name] for name in STATS}

    @property
    def batch_stats(self) -> tuple[int, int]:
        """Batches handed to the worker threads so far, and the frames they held."""
        batches = self._batches
        return (0, 0) if batches is None else (batches.batches, batches.frames)

    def count(self, event: str, log_line: str | None = None) -> None:
        """Add one to a count of :data:`STATS`; log ``log_line`` at most once per ten seconds."""
        self._counts[event] += 1
        if log_line is not None:
            self._throttled.emit(event, log_line)

    async def start(self) -> None:
        """Listen on ``config.host:config.port`` (no-op when already listening)."""
        if self._server is not None:
            return
        self._executor = ThreadPoolExecutor(
            max_workers=self.config.workers, thread_name_prefix="zhifu-acquirer"
        )
        self._batches = _Batches(
            self.host.handle_many, self._executor, self._max_batch, self._in_flight
        )
        tls = (
            server_context(self.config.tls_folder, client_auth=self.config.tls_client_auth)
            if self.config.tls_folder
            else None
        )
        if tls is None:
            self._server = await asyncio.start_server(
                self._on_connection, self.config.host, self.config.port
            )
        else:  # a handshake has 10 s; a peer that never says close_notify, 1 s
            self._server = await asyncio.start_server(
                self._on_connection, self.config.host, self.config.port, ssl=tls,
                ssl_handshake_timeout=10.0, ssl_shutdown_timeout=1.0,
            )  # fmt: skip
        self._port = int(self._server.sockets[0].getsockname()[1])
        config = self.config
        log.info(
            "acquirer listening on %s:%d (at most %d connections, %d per address; first frame "
            "within %gs, then %gs per frame)",
            config.host, self._port, config.max_connections, config.max_connections_per_address,
            config.first_frame_timeout_seconds, config.idle_timeout_seconds,
        )  # fmt: skip

    async def stop(self) -> None:
        """Stop listening, close every connection, release the worker threads."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._owns_host:
            self.host.close()
        log.info("acquirer stopped")

    async def serve_forever(self) -> None:
        """Start (if need be) and serve until cancelled."""
        await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    # --- connections --------------------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        address, peer = _peer_of(writer)
        refusal = self._limits.admit(address)
        if refusal is not None:
            self._refuse(refusal, address, peer)
            writer.close()
            return
        self.count("accepted")
        self._connections.add(task)
        try:
            await _Connection(self, reader, writer, peer).run()
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            self._limits.release(address)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError, asyncio.CancelledError):
                await writer.wait_closed()  # TLS: the peer's close_notify may never come

    def _refuse(self, refusal: Refusal, address: str, peer: str) -> None:
        if refusal is Refusal.FULL:
            event, why = "refused_full", f"{self._limits.open} connections open (max_connections)"
        else:
            event = "refused_per_address"
            why = (
                f"{self._limits.from_address(address)} connections open from {address} "
                "(max_connections_per_address)"
            )
        self.count(event, f"{peer} refused: {why}")

    async def call_host(
        self, body: bytes, peer: str, received_at: datetime, started: float
    ) -> Reply:
        """Run the host on one frame body in the worker threads (in the next batch)."""
        if self._batches is None:
            raise UsageError("the server is not started", argument="server")
        return await self._batches.submit(Arrival(body, peer, received_at, started))

    async def journal_dropped(self, peer: str, size: int, error: str) -> None:
        """Journal a frame that could not be read off the stream."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._executor, functools.partial(self.host.journal_dropped, peer, size, error)
        )


class _Connection:
    """One terminal's connection: a reader filling a bounded queue, a worker answering."""

    def __init__(
        self,
        server: AcquirerServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
    ) -> None:
        self._server = server
        self._reader = reader
        self._writer = writer
        self._peer = peer
        self._clock: Clock = server.host.clock
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue(server.config.queue_size)

    async def run(self) -> None:
        """Read until the end of the stream, then let the worker answer what is queued."""
        worker = asyncio.create_task(self._work())
        try:
            await self._read(worker)
            if not worker.done():
                await self._queue.put(None)
            await worker
        finally:
            if not worker.done():
                worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    async def _read(self, worker: asyncio.Task[None]) -> None:
        config = self._server.config
        timeout, spoken = config.first_frame_timeout_seconds, False
        while not worker.done():
            try:
                async with asyncio.timeout(timeout):
                    body = await read_frame_body(self._reader, max_length=config.max_frame_length)
            except TimeoutError:
                self._timed_out(spoken, timeout)
                return
            except DecodeError as exc:
                log.info("%s sent an unreadable frame (%s): closing", self._peer, exc)
                await self._server.journal_dropped(self._peer, 0, str(exc))
                return
            except ConnectionError:
                return
            if body is None:
                return
            timeout, spoken = config.idle_timeout_seconds, True
            await self._queue.put((body, self._clock.now(), time.perf_counter()))

    def _timed_out(self, spoken: bool, timeout: float) -> None:
        if spoken:
            self._server.count("closed_idle")
            log.info("%s idle for %gs: closing", self._peer, timeout)
            return
        line = f"{self._peer} sent no frame within {timeout:g}s: closing"
        self._server.count("closed_silent", line)

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            body, received_at, started = item
            try:
                reply = await self._server.call_host(body, self._peer, received_at, started)
            except Exception:
                log.exception("%s: the host failed on a frame: closing", self._peer)
                self._writer.close()
                return
            try:
                if reply.frame is not None:
                    self._writer.write(reply.frame)
                    await self._writer.drain()
            except ConnectionError:
                return
            if reply.close:
                self._writer.close()
                return


_Waiting = tuple[Arrival, "asyncio.Future[Reply]"]


class _Batches:
    """Frames of every connection, run through ``handle_many`` in batches on the threads."""

    def __init__(
        self,
        handle_many: Callable[[Sequence[Arrival]], list[Reply]],
        executor: ThreadPoolExecutor,
        max_batch: int,
        max_running: int,
    ) -> None:
        self._handle_many = handle_many
        self._executor = executor
        self._max_batch = max_batch
        self._max_running = max_running
        self._waiting: list[_Waiting] = []
        self._running = 0
        self._scheduled = False
        self.batches = 0
        self.frames = 0

    def submit(self, arrival: Arrival) -> asyncio.Future[Reply]:
        """The reply to ``arrival``, once the batch it joins has run."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reply] = loop.create_future()
        self._waiting.append((arrival, future))
        self._schedule(loop)
        return future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start batches at the end of this turn (what the turn hands over joins them)."""
        if not self._scheduled and self._waiting and self._running < self._max_running:
            self._scheduled = True
            loop.call_soon(self._start, loop)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        while self._waiting and self._running < self._max_running:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            arrivals = [arrival for arrival, _ in batch]
            self._running += 1
            self.batches += 1
            self.frames += len(batch)
            done = loop.run_in_executor(self._executor, self._handle_many, arrivals)
            done.add_done_callback(functools.partial(self._finished, loop, batch))

    def _finished(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Waiting], done: asyncio.Future[Any]
    ) -> None:
        self._running -= 1
        error = None if done.cancelled() else done.exception()
        replies: list[Reply] = [] if error is not None or done.cancelled() else done.result()
        for position, (_, future) in enumerate(batch):
            if future.done():  # its connection went away meanwhile
                continue
            if position < len(replies):
                future.set_result(replies[position])
            else:
                future.set_exception(error or ConnectionAbortedError("the batch was cancelled"))
        self._schedule(loop)


def _peer_of(writer: asyncio.StreamWriter) -> tuple[str, str]:
    """The source address (what the per-address limit counts) and ``address:port``."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), f"{peer[0]}:{peer[1]}"
    return str(peer or "?"), str(peer or "?")


async def serve_acquirer(
    config: AcquirerConfig,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    host: AcquirerHost | None = None,
) -> AcquirerServer:
    """Open the host of ``config`` (database, key store) and start listening; the server."""
    owns = host is None
    the_host = host or AcquirerHost.open(config, environ=environ, clock=clock)
    server = AcquirerServer(config, the_host, owns_host=owns)
    try:
        await server.start()
    except BaseException:
        if owns:
            the_host.close()
        raise
    return server


def run_acquirer(
    host: str = "127.0.0.1",
    port: int = 5800,
    db_path: str | None = None,
    *,
    home: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    settings: Mapping[str, object] | None = None,
) -> None:
    """Serve in the foreground until SIGINT or SIGTERM (``zhifu acquirer run``), on uvloop
    when it is installed.

    Database and key store are in the data directory (``ZHIFU_HOME`` or ``var/``) unless
    ``db_path`` names another database. ``settings`` overrides other
    :class:`AcquirerConfig` fields (``max_connections_per_address``...).
    """
    overrides: dict[str, object] = {**(settings or {}), "host": host, "port": port}
    if db_path is not None:
        overrides["db_path"] = db_path
    config = AcquirerConfig.local(home, environ=environ, **overrides)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_run_until_signal(config, environ))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (not on Windows), else None: the stock one.

    >>> event_loop_factory() is None or callable(event_loop_factory())
    True
    """
    try:
        import uvloop  # noqa: PLC0415 - optional: not built for every platform
    except ImportError:  # pragma: no cover - installed with zhifu where it is built
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _run_until_signal(config: AcquirerConfig, environ: Mapping[str, str] | None) -> None:
    server = await serve_acquirer(config, environ=environ)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
