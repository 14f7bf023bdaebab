"""Refunds and obligations in the platform database (the refund half of the order book).

A refund is reserved against the cap (the order's amount minus the refunds before it,
succeeded or still running) in the same transaction that records it, so two refunds running
at once cannot pass the cap; its outcome is recorded with the obligation and the notification.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.model import Obligation, Order, Refund, RefundStatus
from zhifu.barcode.platform.db import Database, from_us, to_us
from zhifu.barcode.platform.orders import OrderEvent, OrderStatus, transition
from zhifu.barcode.platform.postings import fee_refund_for
from zhifu.barcode.platform.rows import (
    INSERT_REFUND,
    SELECT_REFUND,
    Event,
    insert_event,
    insert_obligation,
    locked_order,
    refund_from_row,
)


class RefundBook:
    """Refund and obligation tables (see the module docstring)."""

    db: Database

    def refunds(self, order_id: str) -> list[Refund]:
        rows = self.db.all(
            SELECT_REFUND + " WHERE order_id = ? ORDER BY created_us",
            (order_id,),
        )
        return [refund_from_row(r) for r in rows]

    def refund_by_no(self, order_id: str, out_refund_no: str) -> Refund | None:
        row = self.db.one(
            SELECT_REFUND + " WHERE order_id = ? AND out_refund_no = ?",
            (order_id, out_refund_no),
        )
        return None if row is None else refund_from_row(row)

    def refunds_in(self, status: RefundStatus) -> list[Refund]:
        rows = self.db.all(SELECT_REFUND + " WHERE status = ?", (status,))
        return [refund_from_row(r) for r in rows]

    def processing_refunds(self, created_before: datetime) -> list[Refund]:
        """Refunds still PROCESSING that were recorded at or before ``created_before`` (a partial
        index holds only refunds under way)."""
        rows = self.db.all(
            SELECT_REFUND + " WHERE status = 'processing' AND created_us <= ? ORDER BY created_us",
            (to_us(created_before),),
        )
        return [refund_from_row(r) for r in rows]

    def obligations(self, business_date: date | None = None) -> list[Obligation]:
        """The obligations of one Shanghai business date (all of them without a date)."""
        sql = (
            "SELECT obligation_id, payer, payee, amount, order_id, reference, business_date,"
            " created_us FROM obligations"
        )
        params: tuple[str, ...] = ()
        if business_date is not None:
            sql, params = sql + " WHERE business_date = ?", (business_date.isoformat(),)
        rows = self.db.all(sql + " ORDER BY created_us, obligation_id", params)
        return [
            Obligation(r[0], r[1], r[2], r[3], r[4], r[5], date.fromisoformat(r[6]), from_us(r[7]))
            for r in rows
        ]

    def begin_refund(self, draft: Refund) -> tuple[Order, Refund]:
        """Reserve the refund against the cap (original minus earlier refunds), work out its
        share of the fee (:func:`~zhifu.barcode.platform.postings.fee_refund_for`) and record it."""

        def unit(cur: Any) -> tuple[Order, Refund]:
            order = locked_order(cur, draft.order_id)
            if not order.status.paid:
                transition(order.status, OrderEvent.REFUND_PART)  # raises the state's refusal
            remaining = order.amount - order.refunded
            if order.status is OrderStatus.REFUNDED or draft.amount > remaining:
                raise BarcodeError(
                    "refund_exceeds_remaining", f"{max(remaining, 0)} fen remain refundable"
                )
            fee_refund = fee_refund_for(
                fee=order.fee,
                amount=order.amount,
                refunded_before=order.refunded,
                refund=draft.amount,
            )
            refund = replace(draft, fee_refund=fee_refund)
            cur.execute(
                "UPDATE orders SET refunded = refunded + ? WHERE order_id = ?",
                (refund.amount, order.order_id),
            )
            cur.execute(
                INSERT_REFUND,
                (
                    refund.refund_id,
                    refund.order_id,
                    refund.merchant_id,
                    refund.out_refund_no,
                    refund.amount,
                    refund.fee_refund,
                    RefundStatus.PROCESSING.value,
                    to_us(refund.created_at),
                    refund.reason,
                ),
            )
            return order, refund

        return self.db.run(unit)

    def finish_refund(
        self,
        refund: Refund,
        *,
        ok: bool,
        when: datetime,
        obligation: Obligation | None = None,
        event: Event | None = None,
    ) -> Order:
        """Mark the refund; on success move the order (partly or fully refunded), on failure
        give the reserved amount back."""

        def unit(cur: Any) -> Order:
            order = locked_order(cur, refund.order_id)
            row = cur.execute(
                "SELECT status FROM refunds WHERE refund_id = ?", (refund.refund_id,)
            ).fetchone()
            if row is None or row[0] != RefundStatus.PROCESSING.value:
                return order
            status = RefundStatus.SUCCEEDED if ok else RefundStatus.FAILED
            cur.execute(
                "UPDATE refunds SET status = ? WHERE refund_id = ?",
                (status.value, refund.refund_id),
            )
            if ok:
                done = self._refunded_ok(cur, order.order_id) >= order.amount
                step = OrderEvent.REFUND_ALL if done else OrderEvent.REFUND_PART
                new = transition(order.status, step)
                cur.execute(
                    "UPDATE orders SET status = ? WHERE order_id = ?", (new, order.order_id)
                )
                insert_obligation(cur, obligation)
                insert_event(cur, event, when)
                return replace(order, status=new)
            cur.execute(
                "UPDATE orders SET refunded = refunded - ? WHERE order_id = ?",
                (refund.amount, order.order_id),
            )
            return replace(order, refunded=order.refunded - refund.amount)

        return self.db.run(unit)

    @staticmethod
    def _refunded_ok(cur: Any, order_id: str) -> int:
        row = cur.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE order_id = ? AND status = ?",
            (order_id, RefundStatus.SUCCEEDED.value),
        ).fetchone()
        return int(row[0])
