"""Build the response: MTI + 10, the request's echo fields, field 39 from the outcome, the
fields the group prepared (only when approved), the fields of an answer given either way
(a card transaction's RRN, ARPC...), and field 64 where the message type carries
one and the terminal has a MAK.

Field 39 is the code of the :class:`~zhifu.acquirer.context.Result`, whose values are rows of
the response-code table (:mod:`zhifu.iso8583.response_codes`). The header's processing requirement
(digit 6) tells the terminal what to do next: ``3`` sign on again after a code whose action is
to sign on (A0, 77, 99), else ``4`` / ``5`` while its CA public keys / IC parameters are older
than the host's tables, else ``0``.

>>> ECHO_FIELDS
('2', '3', '4', '11', '25', '41', '42', '49', '60')
"""

from __future__ import annotations

import logging
from typing import Final

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.acquirer.services import Services
from zhifu.core.errors import ZhifuError
from zhifu.iso8583.mac import carries_mac, hsm_mac_fn, sign_message
from zhifu.iso8583.message import Message
from zhifu.iso8583.response_codes import Action

__all__ = ["ECHO_FIELDS", "Respond"]

ECHO_FIELDS: Final = ("2", "3", "4", "11", "25", "41", "42", "49", "60")
"""Request fields copied into every response when present."""

log = logging.getLogger("zhifu.acquirer.respond")


class Respond(BaseParticipant):
    """The last participant of every group: answers on commit and on abort."""

    joins_abort = True

    def __init__(self, services: Services) -> None:
        self._services = services

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Join both phases."""
        return Verdict.PREPARED

    def commit(self, ctx: TxnContext) -> None:
        """Answer an approved request (or one a later commit failed)."""
        self._build(ctx)

    def abort(self, ctx: TxnContext) -> None:
        """Answer a failed request."""
        self._build(ctx)

    def _build(self, ctx: TxnContext) -> None:
        fields = {n: v for n in ECHO_FIELDS if (v := ctx.request.get(n)) is not None}
        if not ctx.failed:
            fields.update(ctx.response_fields)
        fields.update(ctx.answer_fields)
        fields["39"] = ctx.result.de39
        response = Message(ctx.response_mti, fields)
        ctx.processing_requirement = self._requirement(ctx)
        ctx.response = self._signed(ctx, response)

    def _requirement(self, ctx: TxnContext) -> str:
        if ctx.result.action is Action.SIGN_ON:
            return "3"
        terminal = ctx.terminal
        if terminal is None or ctx.result is not Result.APPROVED:
            return "0"
        tables = self._services.tables
        if terminal.capk_version < tables.version("capk"):
            return "4"
        if terminal.aid_version < tables.version("aid"):
            return "5"
        return "0"

    def _signed(self, ctx: TxnContext, response: Message) -> Message:
        terminal = ctx.terminal
        keys = terminal.working_keys if terminal is not None else None
        if ctx.new_keys is not None and not ctx.failed:
            keys = ctx.new_keys.keys
        if not carries_mac(response.mti) or keys is None or ctx.result is Result.MAC_FAILED:
            return response
        try:
            mac_fn = hsm_mac_fn(self._services.hsm, keys.mak)
            return sign_message(response, mac_fn, self._services.config.profile)
        except ZhifuError as exc:
            log.warning("response to %s sent without MAC: %s", ctx.mti, type(exc).__name__)
            return response
