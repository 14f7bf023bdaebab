"""Run the acquirer beside something else that owns the main thread (``zhifu serve``).

:func:`start_in_background` starts the server on its own event loop in a daemon thread and
returns once it listens (or raises what stopped it from starting: a port in use, a wrong LMK).
``stop()`` shuts it down and joins the thread. The web app's uvicorn keeps its own loop.

>>> acquirer = start_in_background(AcquirerConfig(port=0))
>>> acquirer.port > 0, acquirer.running
(True, True)
>>> acquirer.stop()
>>> acquirer.running
False
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping

from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.host import AcquirerHost
from zhifu.acquirer.server import AcquirerServer, serve_acquirer
from zhifu.core.errors import ZhifuError

__all__ = ["BackgroundAcquirer", "start_in_background"]

_START_TIMEOUT_SECONDS = 30.0


class BackgroundAcquirer:
    """A running acquirer in a daemon thread; ``port`` and ``stop()``."""

    def __init__(self, config: AcquirerConfig, environ: Mapping[str, str] | None) -> None:
        self.config = config
        self._environ = environ
        self._loop = asyncio.new_event_loop()
        self._server: AcquirerServer | None = None
        self._error: BaseException | None = None
        self._started = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="zhifu-acquirer", daemon=True)

    @property
    def port(self) -> int:
        """The port the acquirer listens on."""
        return 0 if self._server is None else self._server.port

    @property
    def host(self) -> AcquirerHost:
        """The host being served (once started)."""
        if self._server is None:
            raise ZhifuError("the acquirer is not started")
        return self._server.host

    @property
    def running(self) -> bool:
        """True while the thread serves."""
        return self._thread.is_alive() and self._server is not None and self._server.running

    def start(self) -> BackgroundAcquirer:
        """Start the thread and wait until the server listens (or failed to)."""
        self._thread.start()
        if not self._started.wait(_START_TIMEOUT_SECONDS):
            raise ZhifuError("the acquirer did not start within 30 seconds")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and join the thread."""
        if self._thread.is_alive() and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        try:
            self._server = await serve_acquirer(self.config, environ=self._environ)
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        try:
            await self._stopped.wait()
        finally:
            await self._server.stop()


def start_in_background(
    config: AcquirerConfig, *, environ: Mapping[str, str] | None = None
) -> BackgroundAcquirer:
    """Start the acquirer of ``config`` in a daemon thread; returns once it listens."""
    return BackgroundAcquirer(config, environ).start()
