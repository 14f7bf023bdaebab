"""Echo test (0820, 60.3 ``301``): nothing to do but answer ``00``.

>>> Echo().name
'Echo'
"""

from __future__ import annotations

from zhifu.acquirer.context import TxnContext
from zhifu.acquirer.pipeline import BaseParticipant, Verdict

__all__ = ["Echo"]


class Echo(BaseParticipant):
    """The host is alive and knows the terminal."""

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Nothing to commit."""
        return Verdict.NO_JOIN
