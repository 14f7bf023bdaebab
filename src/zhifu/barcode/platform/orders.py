"""The order state table, as data: which event moves an order from which state to which.

::

    (start) --create_dynamic--> CREATED --pay_start--> PAYING --pay_ok--> PAID
    (start) --create_micropay-> PAYING                  PAYING --pay_fail--> CREATED (dynamic)
                                                        PAYING --pay_error-> FAILED (micropay)
    CREATED --close|expire--> CLOSED          FAILED --close--> CLOSED
    PAID | PARTIALLY_REFUNDED --refund_part--> PARTIALLY_REFUNDED
    PAID | PARTIALLY_REFUNDED --refund_all---> REFUNDED

A static collection code's order is created by the wallet's payment, so it starts like a
micropay (in PAYING) and fails to FAILED. Anything not in the table is refused with the error
code of :data:`REFUSALS` (e.g. closing a paid order is ``order_paid``).

>>> transition(OrderStatus.CREATED, "pay_start")
<OrderStatus.PAYING: 'PAYING'>
>>> transition(OrderStatus.PAID, "close")
Traceback (most recent call last):
...
zhifu.barcode.api.errors.BarcodeError: order_paid: the order is paid; refund it instead
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from zhifu.barcode.api.errors import BarcodeError


class OrderStatus(StrEnum):
    CREATED = "CREATED"  # waiting for the customer (dynamic collection code)
    PAYING = "PAYING"  # a payment is running (its ledger transfers may be in flight)
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"  # a micropay or static-code payment that did not go through
    CLOSED = "CLOSED"  # closed by the merchant, or expired unpaid

    @property
    def paid(self) -> bool:
        """True once money moved (refunds do not undo the payment itself)."""
        return self in _PAID_STATES


_PAID_STATES: Final = frozenset(
    {OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
)

START: Final = None
TRANSITIONS: Final[dict[tuple[OrderStatus | None, str], OrderStatus]] = {
    (START, "create_dynamic"): OrderStatus.CREATED,
    (START, "create_micropay"): OrderStatus.PAYING,
    (OrderStatus.CREATED, "pay_start"): OrderStatus.PAYING,
    (OrderStatus.CREATED, "close"): OrderStatus.CLOSED,
    (OrderStatus.CREATED, "expire"): OrderStatus.CLOSED,
    (OrderStatus.PAYING, "pay_ok"): OrderStatus.PAID,
    (OrderStatus.PAYING, "pay_fail"): OrderStatus.CREATED,
    (OrderStatus.PAYING, "pay_error"): OrderStatus.FAILED,
    (OrderStatus.FAILED, "close"): OrderStatus.CLOSED,
    (OrderStatus.PAID, "refund_part"): OrderStatus.PARTIALLY_REFUNDED,
    (OrderStatus.PAID, "refund_all"): OrderStatus.REFUNDED,
    (OrderStatus.PARTIALLY_REFUNDED, "refund_part"): OrderStatus.PARTIALLY_REFUNDED,
    (OrderStatus.PARTIALLY_REFUNDED, "refund_all"): OrderStatus.REFUNDED,
}
"""(state, event) -> next state. ``START`` is the state before the order exists."""

EVENTS: Final = frozenset(event for _, event in TRANSITIONS)

REFUSALS: Final[dict[OrderStatus, str]] = {
    OrderStatus.CREATED: "order_not_paid",
    OrderStatus.PAYING: "order_in_progress",
    OrderStatus.PAID: "order_paid",
    OrderStatus.PARTIALLY_REFUNDED: "order_paid",
    OrderStatus.REFUNDED: "order_paid",
    OrderStatus.FAILED: "order_closed",
    OrderStatus.CLOSED: "order_closed",
}
"""The error code for an event the table does not allow, by the order's current state."""


def transition(state: OrderStatus | None, event: str) -> OrderStatus:
    """The next state, or a :class:`BarcodeError` with the refusal code of ``state``."""
    if event not in EVENTS:
        raise KeyError(f"unknown order event {event!r}")
    found = TRANSITIONS.get((state, event))
    if found is None:
        if state is None:
            raise BarcodeError("order_not_found")
        raise BarcodeError(REFUSALS[state])
    return found


def allowed(state: OrderStatus, event: str) -> bool:
    """True if the table has (state, event)."""
    return (state, event) in TRANSITIONS
