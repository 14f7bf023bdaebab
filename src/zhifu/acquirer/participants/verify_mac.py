"""MAC check of requests that carry one (:mod:`zhifu.iso8583.mac`): bad or missing MAC -> ``A0``.

The MAC block is taken from the request bytes exactly as received (MTI up to field 64) and
the MAC computed inside the security module with the terminal's MAK
(:func:`zhifu.iso8583.mac.hsm_mac_fn`, the POS "ECB" algorithm). A message type that carries
a MAC (0200, 0400 ...) without field 64 fails too; management messages without one pass.
``A0`` tells the terminal to sign on again (its working keys are out of step).

>>> VerifyMac.__doc__.splitlines()[0]
'Verify field 64 with the terminal MAK; A0 when it does not match.'
"""

from __future__ import annotations

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.acquirer.services import Services
from zhifu.core.errors import ZhifuError
from zhifu.iso8583.mac import carries_mac, hsm_mac_fn, verify
from zhifu.security.hsm.data import MacAlgorithm

__all__ = ["VerifyMac"]


class VerifyMac(BaseParticipant):
    """Verify field 64 with the terminal MAK; A0 when it does not match.

    Runs after :class:`~zhifu.acquirer.participants.CheckTerminal` (it needs the terminal).
    """

    def __init__(self, services: Services, algorithm: MacAlgorithm = MacAlgorithm.CUP_ECB) -> None:
        self._hsm = services.hsm
        self._algorithm = algorithm

    def prepare(self, ctx: TxnContext) -> Verdict:
        """NO_JOIN when there is nothing to check or the MAC matches; else ABORTED."""
        if "64" not in ctx.request:
            if carries_mac(ctx.mti):
                ctx.fail(Result.MAC_FAILED, f"an {ctx.mti} must carry field 64")
                return Verdict.ABORTED
            return Verdict.NO_JOIN
        terminal = ctx.terminal
        if terminal is None or terminal.working_keys is None:
            ctx.fail(Result.MAC_FAILED, "field 64 given but the terminal is not signed on")
            return Verdict.ABORTED
        mac_fn = hsm_mac_fn(self._hsm, terminal.working_keys.mak, self._algorithm)
        try:
            good = verify(ctx.frame.message, mac_fn)
        except ZhifuError as exc:
            ctx.fail(Result.SECURITY_FAILED, f"MAC check failed: {type(exc).__name__}")
            return Verdict.ABORTED
        if not good:
            ctx.fail(Result.MAC_FAILED, "field 64 does not match the MAC of the request")
            return Verdict.ABORTED
        ctx.note("MAC verified")
        return Verdict.NO_JOIN
