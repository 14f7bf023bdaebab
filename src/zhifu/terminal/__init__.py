"""The software POS terminal: a PBOC contact flow on an emulated (or PC/SC) card, the POS
dialect to a host, reversal and settlement, over a state folder (``docs/terminal.md``).
"""

from zhifu.terminal.core import Terminal, TransactionResult
from zhifu.terminal.link import HostLink, NoAnswerError

__all__ = ["HostLink", "NoAnswerError", "Terminal", "TransactionResult"]
