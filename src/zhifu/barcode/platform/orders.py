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
code of :data:`REFUSALS` (e.g. closing a paid order is ``order_paid``). The events are the
members of :class:`OrderEvent`; the code names them through it, never as bare strings.

>>> transition(OrderStatus.CREATED, OrderEvent.PAY_START)
<OrderStatus.PAYING: 'PAYING'>
>>> transition(OrderStatus.PAID, OrderEvent.CLOSE)
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


class OrderEvent(StrEnum):
    """What happens to an order: the events of :data:`TRANSITIONS`."""

    CREATE_DYNAMIC = "create_dynamic"  # the merchant created a dynamic order
    CREATE_MICROPAY = "create_micropay"  # a micropay or a static-code payment created it
    PAY_START = "pay_start"  # a wallet started paying a dynamic order
    PAY_OK = "pay_ok"  # the ledgers took the payment
    PAY_FAIL = "pay_fail"  # the payer's ledger declined a dynamic order's payment
    PAY_ERROR = "pay_error"  # ... a micropay's or static-code payment's
    CLOSE = "close"  # the merchant closed it
    EXPIRE = "expire"  # its validity ran out unpaid
    REFUND_PART = "refund_part"  # a refund left some of the amount
    REFUND_ALL = "refund_all"  # the refunds reached the amount


_PAID_STATES: Final = frozenset(
    {OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
)

START: Final = None
TRANSITIONS: Final[dict[tuple[OrderStatus | None, OrderEvent], OrderStatus]] = {
    (START, OrderEvent.CREATE_DYNAMIC): OrderStatus.CREATED,
    (START, OrderEvent.CREATE_MICROPAY): OrderStatus.PAYING,
    (OrderStatus.CREATED, OrderEvent.PAY_START): OrderStatus.PAYING,
    (OrderStatus.CREATED, OrderEvent.CLOSE): OrderStatus.CLOSED,
    (OrderStatus.CREATED, OrderEvent.EXPIRE): OrderStatus.CLOSED,
    (OrderStatus.PAYING, OrderEvent.PAY_OK): OrderStatus.PAID,
    (OrderStatus.PAYING, OrderEvent.PAY_FAIL): OrderStatus.CREATED,
    (OrderStatus.PAYING, OrderEvent.PAY_ERROR): OrderStatus.FAILED,
    (OrderStatus.FAILED, OrderEvent.CLOSE): OrderStatus.CLOSED,
    (OrderStatus.PAID, OrderEvent.REFUND_PART): OrderStatus.PARTIALLY_REFUNDED,
    (OrderStatus.PAID, OrderEvent.REFUND_ALL): OrderStatus.REFUNDED,
    (OrderStatus.PARTIALLY_REFUNDED, OrderEvent.REFUND_PART): OrderStatus.PARTIALLY_REFUNDED,
    (OrderStatus.PARTIALLY_REFUNDED, OrderEvent.REFUND_ALL): OrderStatus.REFUNDED,
}
"""(state, event) -> next state. ``START`` is the state before the order exists."""

EVENTS: Final = frozenset(OrderEvent)

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


def transition(state: OrderStatus | None, event: OrderEvent) -> OrderStatus:
    """The next state, or a :class:`BarcodeError` with the refusal code of ``state``; an
    ``event`` that is not an :class:`OrderEvent` (a bare string) is a bug (``KeyError``)."""
    if not isinstance(event, OrderEvent):
        raise KeyError(f"unknown order event {event!r}: name it through OrderEvent")
    found = TRANSITIONS.get((state, event))
    if found is None:
        if state is None:
            raise BarcodeError("order_not_found")
        raise BarcodeError(REFUSALS[state])
    return found


def allowed(state: OrderStatus, event: OrderEvent) -> bool:
    """True if the table has (state, event)."""
    return (state, event) in TRANSITIONS
