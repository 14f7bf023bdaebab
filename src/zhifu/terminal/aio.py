"""``AsyncTerminal``: the terminal on asyncio streams, for many terminals in one event loop.

The same steps as :class:`~zhifu.terminal.core.Terminal` (:mod:`~zhifu.terminal.flow`): only
the wait for the host is awaited; the card, the security module and the state file work in
between, briefly. Fifty terminals sending purchases back to back in one process are fifty
``AsyncTerminal`` objects, each with its own state folder, gathered in one loop; one
terminal's calls take turns (an ``asyncio.Lock``).

>>> import asyncio, os, tempfile
>>> os.environ["ZHIFU_LMK"] = "4B" * 32
>>> folder = os.path.join(tempfile.mkdtemp(), "term")
>>> Terminal.init(folder, "898100012345678", "10000002",
...               ["0123456789ABCDEFFEDCBA9876543210", "1111111111111111222222222222222F"]).close()
>>> async def no_host():
...     async with AsyncTerminal(folder, timeout=1) as term:
...         return await term.sign_on("127.0.0.1:9")
>>> asyncio.run(no_host())
Traceback (most recent call last):
...
zhifu.terminal.link.NoAnswerError: cannot reach the host 127.0.0.1:9 (Connect call failed ...)
>>> del os.environ["ZHIFU_LMK"]
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any, TypeVar

from zhifu.core.errors import UsageError
from zhifu.iso8583 import Message
from zhifu.terminal.core import Terminal
from zhifu.terminal.download.kernel import kernel_options
from zhifu.terminal.flow import DEFAULT_KERNEL, Card, Steps
from zhifu.terminal.link import AsyncHostLink, NoAnswerError, parse_address
from zhifu.terminal.management import ManagementFlow
from zhifu.terminal.result import TransactionResult
from zhifu.terminal.state import TerminalState, open_hsm

__all__ = ["AsyncTerminal", "Terminal"]

T = TypeVar("T")


class AsyncTerminal(ManagementFlow):
    """A software POS terminal over a state folder, on an asyncio connection."""

    def __init__(self, folder: Path | str, *, timeout: float = 10.0) -> None:
        self.state = TerminalState.load(folder)
        self.hsm = open_hsm(folder)
        self.kernel = kernel_options(folder, DEFAULT_KERNEL)  # with what downloads brought
        self.timeout = timeout
        self.tls: ssl.SSLContext | None = None  # TLS to the host (zhifu.security.pki)
        self._link: AsyncHostLink | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        """Close the connection and the key store."""
        if self._link is not None:
            await self._link.close()
        self.hsm.store.close()

    async def __aenter__(self) -> AsyncTerminal:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _use(self, host: str | None) -> AsyncHostLink:
        chosen = host or self.state.host
        if not chosen:
            raise UsageError("no host yet: give --host HOST:PORT", argument="--host")
        if self._link is None or host:
            if self._link is not None:
                await self._link.close()
            self._link = AsyncHostLink(parse_address(chosen), self.timeout, tls=self.tls)
            self.state.host = chosen
        return self._link

    async def _run(self, steps: Steps[T], host: str | None = None) -> T:
        async with self._lock:
            link = await self._use(host)
            try:
                request, body = next(steps)
                while True:
                    try:
                        reply: Any = await link.exchange(request, body)
                    except NoAnswerError as exc:
                        reply = exc
                    request, body = steps.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result

    async def sign_on(self, host: str | None = None) -> Message:
        """0800: new working keys and batch."""
        return await self._run(self._sign_on_steps(), host)

    async def echo(self, host: str | None = None) -> Message:
        """0820 echo test."""
        return await self._run(self._echo_steps(), host)

    async def send_pending_reversal(self) -> bool | None:
        """Send the pending reversal (see :meth:`Terminal.send_pending_reversal`)."""
        return await self._run(self._reversal_steps())

    async def upload_offline(self) -> tuple[int, int]:
        """Send the offline approvals kept (60.1 = 36): (sent, still kept)."""
        return await self._run(self._upload_steps())

    async def settle(self) -> dict[str, Any]:
        """0500 with the batch's totals."""
        return await self._run(self._settle_steps())

    async def transact(
        self, kind: str, card: Card, *, pin: str | None = None, amount: int = 0,
        original: str | None = None, swipe: bool = False, tap: bool = False,
        fallback: bool = False,
    ) -> TransactionResult:  # fmt: skip
        """One card transaction (see :meth:`Terminal.transact`)."""
        steps = self._transaction_steps(
            kind,
            card,
            pin=pin,
            amount=amount,
            original=original,
            swipe=swipe,
            tap=tap,
            fallback=fallback,
        )
        return await self._run(steps)

    async def purchase(
        self, card: Card, pin: str | None, amount: int, *, swipe: bool = False
    ) -> TransactionResult:
        """A purchase of ``amount`` fen."""
        return await self.transact("purchase", card, pin=pin, amount=amount, swipe=swipe)
