"""Stop-payment (止付, PR21) and real-time reversal (冲正, PR22): the rules, as pure checks.

**Stop-payment** (beps.411 request / beps.412 answer). The bank that sent an ordinary or
periodic debit (the payee's bank, collecting) asks the centre to stop it; the centre forwards
the request to the payer's bank, which answers. The stop holds only while the debit still
awaits its receipt: once the payer's bank has sent a receipt the money moved (or was refused)
and the request fails. So:

* a request is accepted for a debit awaiting its receipt, from its sender; it changes nothing
  yet but marks the item (``stop_requested``);
* the payer's bank answers *agree* (the item becomes PR21, its receipt timer stops, a later
  receipt is refused) or *refuse* (the mark goes, the debit goes on);
* a receipt sent while the request is pending is the payer's bank's answer by deed: it is
  taken as usual and the request lapses.

**Reversal** (beps.413). The bank that sent a real-time credit or debit and got no receipt in
time (its own customer-side timeout) reverses it: the item becomes PR22, its receipt timer
stops, and a receipt arriving later is refused. A real-time item already netted is final
(netted business is irrevocable); its sender uses a return (退回) instead.

Neither request touches a position or a queue: a debit awaiting its receipt and a real-time item
awaiting its receipt have not netted, and a stopped or reversed item never will.

>>> from zhifu.clearing.codes import BusinessType
>>> stop_reason(BusinessType.ORDINARY_CREDIT, Status.AWAITING_RECEIPT, True)
<Reason.NOT_STOPPABLE: 'not_stoppable'>
>>> reversal_reason(BusinessType.REAL_TIME_DEBIT, Status.NETTED, True)
<Reason.ALREADY_NETTED: 'already_netted'>
"""

from __future__ import annotations

from typing import Final

from zhifu.clearing.codes import STATUS, BusinessType, Reason, Status

STOPPABLE: Final = frozenset({BusinessType.ORDINARY_DEBIT, BusinessType.PERIODIC_DEBIT})
REVERSIBLE: Final = frozenset({BusinessType.REAL_TIME_CREDIT, BusinessType.REAL_TIME_DEBIT})


def _state_reason(status: Status) -> Reason | None:
    if status is Status.AWAITING_RECEIPT:
        return None
    if STATUS[status].in_position or status is Status.QUEUED:
        return Reason.ALREADY_NETTED
    return Reason.RECEIPT_LATE if status is Status.EXPIRED else Reason.NOT_AWAITING


def stop_reason(business: BusinessType, status: Status, from_sender: bool) -> Reason | None:
    """Why a stop-payment request is refused (None: it is accepted)."""
    if business not in STOPPABLE:
        return Reason.NOT_STOPPABLE
    if not from_sender:
        return Reason.WRONG_BANK
    return _state_reason(status)


def stop_answer_reason(status: Status, pending: bool, from_receiver: bool) -> Reason | None:
    """Why the payer's bank's answer to a stop-payment request is refused."""
    if not from_receiver:
        return Reason.WRONG_BANK
    if not pending:
        return Reason.NO_STOP_REQUEST
    return _state_reason(status)


def reversal_reason(business: BusinessType, status: Status, from_sender: bool) -> Reason | None:
    """Why a reversal is refused (None: the item is reversed)."""
    if business not in REVERSIBLE:
        return Reason.NOT_REVERSIBLE
    if not from_sender:
        return Reason.WRONG_BANK
    return _state_reason(status)
