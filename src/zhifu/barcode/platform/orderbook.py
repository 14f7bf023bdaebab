"""Orders, payments, refunds, obligations, daily limit totals and the notification outbox.

Each state change of the flows is one transaction here, checked against the order state table
(:mod:`zhifu.barcode.platform.orders`): :meth:`OrderBook.begin_payment` creates or locks the order,
reserves the payer's daily limit and records the payment; :meth:`OrderBook.finish_payment`
marks the outcome and, in the same transaction, writes the obligation and the notification
event. Refunds follow the same two steps, with the cap (original minus earlier refunds) checked
and reserved atomically.

>>> from datetime import date, datetime
>>> from zhifu.barcode.platform.db import Database
>>> from zhifu.core.clock import SHANGHAI
>>> book = OrderBook(Database())
>>> t = datetime(2026, 11, 25, 9, tzinfo=SHANGHAI)
>>> key = LimitKey("zhifu", "C1", "A1", date(2026, 11, 25), "D")
>>> book.limit_used(key)
0
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Final

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.model import Direction, Obligation, Order, Payment, PaymentStatus
from zhifu.barcode.platform.db import Database, from_us, to_us
from zhifu.barcode.platform.orders import OrderEvent, OrderStatus, transition
from zhifu.barcode.platform.refundbook import RefundBook
from zhifu.barcode.platform.rows import (
    INSERT_ORDER,
    ORDER_COLUMNS,
    SELECT_ORDER,
    Event,
    LimitKey,
    insert_event,
    insert_obligation,
    locked_order,
    order_from_row,
)

__all__ = ["Event", "LimitKey", "OrderBook"]


class OrderBook(RefundBook):
    """The order tables of the platform database (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- reads ---------------------------------------------------------------------------------

    def order(self, order_id: str) -> Order | None:
        row = self.db.one(SELECT_ORDER + " WHERE order_id = ?", (order_id,))
        return None if row is None else order_from_row(row)

    def order_by_trade_no(self, merchant_id: str, out_trade_no: str) -> Order | None:
        row = self.db.one(
            SELECT_ORDER + " WHERE merchant_id = ? AND out_trade_no = ?",
            (merchant_id, out_trade_no),
        )
        return None if row is None else order_from_row(row)

    def order_by_token(self, institution: str, token: str) -> Order | None:
        row = self.db.one(
            SELECT_ORDER + " WHERE code_token = ? AND institution = ?",
            (token, institution),
        )
        return None if row is None else order_from_row(row)

    def orders_in(self, status: OrderStatus) -> list[Order]:
        rows = self.db.all(SELECT_ORDER + " WHERE status = ?", (status,))
        return [order_from_row(r) for r in rows]

    def payment(self, payment_id: str) -> Payment | None:
        row = self.db.one(_SELECT_PAYMENT + " WHERE payment_id = ?", (payment_id,))
        return None if row is None else _payment_from_row(row)

    def refusal(self, order_id: str) -> str | None:
        """Why the last failed payment of an order was refused (its error code), or None (a
        partial index holds only failed payments)."""
        row = self.db.one(
            "SELECT failure FROM payments WHERE order_id = ? AND status = 'failed'"
            " ORDER BY created_us DESC LIMIT 1",
            (order_id,),
        )
        return None if row is None or row[0] is None else str(row[0])

    def processing_payments(self, created_before: datetime) -> list[Payment]:
        """Payments still PROCESSING that were recorded at or before ``created_before`` (a partial
        index keeps this cheap: only payments under way are in it)."""
        rows = self.db.all(
            _SELECT_PAYMENT
            + " WHERE status = 'processing' AND created_us <= ? ORDER BY created_us",
            (to_us(created_before),),
        )
        return [_payment_from_row(row) for row in rows]

    def limit_used(self, key: LimitKey) -> int:
        row = self.db.one(
            "SELECT used FROM limit_usage WHERE institution = ? AND customer_id = ?"
            " AND account_id = ? AND business_date = ? AND grade = ?",
            key.params(),
        )
        return 0 if row is None else int(row[0])

    # -- orders --------------------------------------------------------------------------------

    def create_order(self, order: Order) -> Order:
        """Insert a dynamic order (CREATED); ``out_trade_no_used`` if the number is taken."""
        created = replace(order, status=transition(None, OrderEvent.CREATE_DYNAMIC))
        self.db.run(lambda cur: self._insert_order(cur, created))
        return created

    @staticmethod
    def _insert_order(
        cur: Any, o: Order, status: OrderStatus | None = None, payment: Payment | None = None
    ) -> None:
        """Insert an order, in ``status`` with ``payment`` when given; ``out_trade_no_used``
        if the merchant's number is taken (the UNIQUE constraint says so; ids are unique)."""
        try:
            cur.execute(
                INSERT_ORDER,
                (
                    o.order_id,
                    o.institution,
                    o.merchant_id,
                    o.out_trade_no,
                    o.direction.value,
                    o.amount,
                    o.description,
                    o.status if status is None else status,
                    to_us(o.created_at),
                    None if o.expires_at is None else to_us(o.expires_at),
                    o.code_token,
                    None,
                    o.payment_id if payment is None else payment.payment_id,
                    o.payer_institution if payment is None else payment.issuer,
                    o.fee if payment is None else payment.fee,
                    0,
                    o.terminal_id,
                ),
            )
        except sqlite3.IntegrityError:
            raise BarcodeError("out_trade_no_used") from None

    def move(self, order_id: str, event: OrderEvent, *, expect: OrderStatus | None = None) -> Order:
        """Apply a table event to an order (close, expire) and return the new order."""

        def unit(cur: Any) -> Order:
            order = locked_order(cur, order_id)
            if expect is not None and order.status != expect:
                return order
            new = transition(order.status, event)
            cur.execute("UPDATE orders SET status = ? WHERE order_id = ?", (new, order_id))
            return replace(order, status=new)

        return self.db.run(unit)

    def begin_payment(
        self, payment: Payment, limit: LimitKey, cap: int, *, new_order: Order | None = None
    ) -> None:
        """Create the order in PAYING (``new_order``) or move the existing one there, reserve
        ``payment.amount`` of the limit (refusing ``limit_exceeded`` above ``cap``) and record
        the payment; all or nothing."""

        def unit(cur: Any) -> None:
            self._reserve(cur, limit, payment.amount, cap)
            if new_order is not None:  # inserted as PAYING with its payment, in one go
                self._insert_order(cur, new_order, _CREATE_PAYING, payment)
            else:
                order = locked_order(cur, payment.order_id)
                status = transition(OrderStatus(order.status), OrderEvent.PAY_START)
                cur.execute(
                    "UPDATE orders SET status = ?, payment_id = ?, payer_institution = ?,"
                    " fee = ? WHERE order_id = ?",
                    (status, payment.payment_id, payment.issuer, payment.fee, payment.order_id),
                )
            cur.execute(
                _INSERT_PAYMENT,
                (
                    payment.payment_id,
                    payment.order_id,
                    payment.issuer,
                    payment.acquirer,
                    payment.customer_id,
                    payment.account_id,
                    payment.amount,
                    payment.fee,
                    payment.grade,
                    payment.business_date.isoformat(),
                    PaymentStatus.PROCESSING.value,
                    to_us(payment.created_at),
                ),
            )

        self.db.run(unit)

    @staticmethod
    def _reserve(cur: Any, key: LimitKey, amount: int, cap: int) -> None:
        """Add ``amount`` to the day's total unless that passes ``cap`` (one statement: the
        first payment of the day inserts the total, later ones add to it)."""
        if amount > cap:
            raise BarcodeError("limit_exceeded", f"over the grade {key.grade} daily limit")
        cur.execute(
            "INSERT INTO limit_usage (institution, customer_id, account_id, business_date, grade,"
            " used) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
            " SET used = used + excluded.used WHERE used + excluded.used <= ?",
            (*key.params(), amount, cap),
        )
        if cur.rowcount != 1:
            raise BarcodeError("limit_exceeded", f"over the grade {key.grade} daily limit")

    def finish_payment(
        self,
        payment: Payment,
        *,
        ok: bool,
        paid_at: datetime,
        limit: LimitKey,
        failure: str | None = None,
        obligation: Obligation | None = None,
        event: Event | None = None,
    ) -> Order:
        """Record the outcome: PAID with obligation and event, or failed with the limit
        given back (a dynamic order goes back to CREATED, others to FAILED)."""

        def unit(cur: Any) -> Order:
            if ok:  # PAYING -> PAID in one statement, which also reads the order
                row = cur.execute(
                    _MARK_PAID,
                    (_PAID, to_us(paid_at), payment.order_id, _PAYING, payment.payment_id),
                ).fetchone()
                if row is None:  # already finished (a recovery ran first)
                    return locked_order(cur, payment.order_id)
                insert_obligation(cur, obligation)
                insert_event(cur, event, paid_at)
                _set_payment_status(cur, payment.payment_id, PaymentStatus.SUCCEEDED, None)
                return order_from_row(row)
            order = locked_order(cur, payment.order_id)
            if order.status != OrderStatus.PAYING or order.payment_id != payment.payment_id:
                return order  # already finished (a recovery ran first)
            dynamic = order.direction is Direction.DYNAMIC
            new = transition(order.status, OrderEvent.PAY_FAIL if dynamic else OrderEvent.PAY_ERROR)
            cur.execute(
                "UPDATE orders SET status = ?, payment_id = NULL, payer_institution = NULL,"
                " fee = 0 WHERE order_id = ?",
                (new, order.order_id),
            )
            cur.execute(
                "UPDATE limit_usage SET used = used - ? WHERE institution = ?"
                " AND customer_id = ? AND account_id = ? AND business_date = ? AND grade = ?",
                (payment.amount, *limit.params()),
            )
            _set_payment_status(cur, payment.payment_id, PaymentStatus.FAILED, failure)
            return replace(order, status=new, paid_at=None)

        return self.db.run(unit, savepoint=False)  # its refusals come before any write


_MARK_PAID: Final = (
    "UPDATE orders SET status = ?, paid_us = ? WHERE order_id = ? AND status = ?"  # noqa: S608 - constant columns
    f" AND payment_id = ? RETURNING {ORDER_COLUMNS}"
)
_PAYING: Final = OrderStatus.PAYING
_CREATE_PAYING: Final = transition(None, OrderEvent.CREATE_MICROPAY)
_PAID: Final = transition(OrderStatus.PAYING, OrderEvent.PAY_OK)


def _set_payment_status(
    cur: Any, payment_id: str, status: PaymentStatus, failure: str | None
) -> None:
    cur.execute(
        "UPDATE payments SET status = ?, failure = ? WHERE payment_id = ?",
        (status.value, failure, payment_id),
    )


_PAYMENT_COLUMNS: Final = (
    "payment_id, order_id, issuer, acquirer, customer_id, account_id, amount, fee, grade,"
    " business_date, status, created_us"
)
_SELECT_PAYMENT: Final = f"SELECT {_PAYMENT_COLUMNS}, failure FROM payments"  # noqa: S608 - constant columns
_INSERT_PAYMENT: Final = f"INSERT INTO payments ({_PAYMENT_COLUMNS}) VALUES ({', '.join('?' * 12)})"  # noqa: S608


def _payment_from_row(row: tuple[Any, ...]) -> Payment:
    return Payment(
        payment_id=row[0],
        order_id=row[1],
        issuer=row[2],
        acquirer=row[3],
        customer_id=row[4],
        account_id=row[5],
        amount=row[6],
        fee=row[7],
        grade=row[8],
        business_date=date.fromisoformat(row[9]),
        status=PaymentStatus(row[10]),
        created_at=from_us(row[11]),
        failure=row[12],
    )
