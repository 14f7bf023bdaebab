"""The software POS terminal: a PBOC contact flow on an emulated (or PC/SC) card, the POS
dialect to a host, reversal and settlement, over a state folder (``docs/terminal.md``).

:class:`Terminal` blocks (one call at a time, shareable by threads); :class:`AsyncTerminal`
runs the same steps on asyncio streams, for many terminals in one event loop.
"""

from zhifu.terminal.aio import AsyncTerminal
from zhifu.terminal.core import Terminal
from zhifu.terminal.link import HostLink, NoAnswerError
from zhifu.terminal.result import TransactionResult

__all__ = ["AsyncTerminal", "HostLink", "NoAnswerError", "Terminal", "TransactionResult"]
