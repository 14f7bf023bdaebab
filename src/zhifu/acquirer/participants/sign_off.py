"""Sign-off (0820, 60.3 ``002``): the terminal's working keys are deleted.

Until it signs on again, a request carrying a MAC from this terminal gets ``A0``.

>>> SignOff.__doc__
'Forget and delete the working keys at commit.'
"""

from __future__ import annotations

from zhifu.acquirer.context import TxnContext
from zhifu.acquirer.participants.sign_on import delete_keys
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.acquirer.services import Services

__all__ = ["SignOff"]


class SignOff(BaseParticipant):
    """Forget and delete the working keys at commit."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Nothing to undo: join the commit."""
        return Verdict.PREPARED

    def commit(self, ctx: TxnContext) -> None:
        """Drop the keys from the registry, then from the security module."""
        assert ctx.terminal is not None, "CheckTerminal runs first"
        old = self._services.registry.sign_off(ctx.terminal.terminal_id)
        if old is not None:
            delete_keys(self._services, old.handles)
        ctx.note("signed off")
