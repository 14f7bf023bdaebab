"""After the payment: query, close, refunds (full or partial, several, capped) and recovery.

A refund is capped at the order amount minus the refunds before it (those succeeded and those
still running), checked and reserved in one transaction, so concurrent refunds cannot pass the
cap. It gives back its share of the merchant fee (proportional and cumulative:
:func:`~zhifu.barcode.platform.postings.fee_refund_for`). Money goes back to the account that paid,
through the switch when the payer's institution is another one (an obligation acquirer ->
issuer). ``out_refund_no`` makes a refund idempotent: the same number and amount returns the
refund already made; the same number with another amount is ``out_refund_no_used``.

:func:`recover` finishes what a crash interrupted: every order left PAYING and every refund
left PROCESSING has its legs posted again (their ids derive from the payment or refund id, so
the ledgers answer ``EXISTS`` for what was done) and its outcome recorded.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import timedelta

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.model import Order, Refund, RefundStatus
from zhifu.barcode.platform.flows import Flows
from zhifu.barcode.platform.orderbook import Event
from zhifu.barcode.platform.orders import OrderEvent, OrderStatus
from zhifu.barcode.platform.postings import refund_legs
from zhifu.barcode.platform.views import order_dict, refund_dict
from zhifu.barcode.switch import Outcome


def query(flows: Flows, merchant_id: str, order_id: str) -> Order:
    """The merchant's order (closed first if it expired unpaid)."""
    order = flows.book.order(order_id)
    if order is None or order.merchant_id != merchant_id:
        raise BarcodeError("order_not_found")
    return flows.expire_if_due(order)


def query_by_trade_no(flows: Flows, merchant_id: str, out_trade_no: str) -> Order:
    order = flows.book.order_by_trade_no(merchant_id, out_trade_no)
    if order is None:
        raise BarcodeError("order_not_found")
    return flows.expire_if_due(order)


def close(flows: Flows, merchant_id: str, order_id: str) -> Order:
    """Close an unpaid order (closing a closed order answers it again)."""
    order = query(flows, merchant_id, order_id)
    if order.status is OrderStatus.CLOSED:
        return order
    return flows.book.move(order.order_id, OrderEvent.CLOSE)


def refund(  # noqa: PLR0917 - the refund's data elements, in their order
    flows: Flows,
    merchant_id: str,
    order_id: str,
    out_refund_no: str,
    amount: int,
    reason: str = "",
) -> Refund:
    """Refund ``amount`` of a paid order back to its payer (see the module docstring)."""
    order = query(flows, merchant_id, order_id)
    existing = flows.book.refund_by_no(order.order_id, out_refund_no)
    if existing is not None:
        if existing.amount != amount:
            raise BarcodeError("out_refund_no_used")
        return existing
    draft = Refund(
        refund_id=flows.new_id("R"),
        order_id=order.order_id,
        merchant_id=merchant_id,
        out_refund_no=out_refund_no,
        amount=amount,
        fee_refund=0,
        status=RefundStatus.PROCESSING,
        created_at=flows.clock.now(),
        reason=reason,
    )
    order, recorded = flows.book.begin_refund(draft)
    return settle_refund(flows, order, recorded)


def settle_refund(flows: Flows, order: Order, recorded: Refund) -> Refund:
    """Post a recorded refund's legs and record the outcome (also used by recovery)."""
    assert order.payment_id is not None
    payment = flows.book.payment(order.payment_id)
    assert payment is not None
    legs = refund_legs(
        recorded.refund_id,
        issuer=payment.issuer,
        acquirer=payment.acquirer,
        account_id=payment.account_id,
        merchant_id=order.merchant_id,
        amount=recorded.amount,
        fee_refund=recorded.fee_refund,
    )
    posted = flows.switch.post(legs)
    now = flows.clock.now()
    if posted.outcome is Outcome.DECLINED:
        flows.book.finish_refund(recorded, ok=False, when=now)
        raise BarcodeError("refund_failed")
    done = replace(recorded, status=RefundStatus.SUCCEEDED)
    obligation = flows.switch.obligation(
        payer=payment.acquirer,
        payee=payment.issuer,
        amount=recorded.amount,
        order_id=order.order_id,
        reference=recorded.refund_id,
        when=now,
    )
    merchant = flows.merchant(order.merchant_id)
    event = None
    if merchant.notify_url:
        after = replace(order, refunded=order.refunded + recorded.amount)
        payload = {
            "id": f"EV-{recorded.refund_id}",
            "type": "refund.succeeded",
            "created_at": now.isoformat(),
            "data": {"refund": refund_dict(done), "order": order_dict(after)},
        }
        event = Event(
            f"EV-{recorded.refund_id}",
            merchant.merchant_id,
            "refund.succeeded",
            merchant.notify_url,
            payload,
        )
    flows.book.finish_refund(recorded, ok=True, when=now, obligation=obligation, event=event)
    flows.on_event()
    return done


def recover(flows: Flows, older_than: timedelta | None = None) -> tuple[int, int]:
    """Finish interrupted payments and refunds (all of them, or those recorded more than
    ``older_than`` ago); (payments, refunds) finished.

    Safe beside the requests under way: the legs are idempotent by their ids, a declined id is
    burnt in the ledger (a second attempt is declined too), and the outcome is recorded once
    (the order must still be PAYING with this payment).
    """
    before = flows.clock.now() - (older_than or timedelta(0))
    if older_than is None:
        before += timedelta(days=1)  # at start-up: everything, even a clock step back
    payments = 0
    for payment in flows.book.processing_payments(before):
        order = flows.book.order(payment.order_id)
        if order is None or order.status != OrderStatus.PAYING:
            continue
        if order.payment_id != payment.payment_id:
            continue
        payments += 1
        with contextlib.suppress(BarcodeError):  # declined: recorded as failed by settle
            flows.settle(payment, flows.merchant(order.merchant_id))
    refunds = 0
    for pending in flows.book.processing_refunds(before):
        paid = flows.book.order(pending.order_id)
        if paid is None:
            continue
        refunds += 1
        with contextlib.suppress(BarcodeError):  # declined: recorded by settle_refund
            settle_refund(flows, paid, pending)
    return payments, refunds
