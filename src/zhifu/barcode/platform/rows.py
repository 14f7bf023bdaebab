"""Rows of the order tables: column lists, row -> record, and the writes several books share.

>>> Event("EV-P1", "M1", "payment.succeeded", "http://127.0.0.1/n", {}).event_id
'EV-P1'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.model import Direction, Obligation, Order, Refund, RefundStatus
from zhifu.barcode.platform.db import from_us, opt_from_us, to_us
from zhifu.barcode.platform.orders import OrderStatus

ORDER_COLUMNS: Final = (
    "order_id, institution, merchant_id, out_trade_no, direction, amount, description, status,"
    " created_us, expires_us, code_token, paid_us, payment_id, payer_institution, fee,"
    " refunded, terminal_id"
)
REFUND_COLUMNS: Final = (
    "refund_id, order_id, merchant_id, out_refund_no, amount, fee_refund, status, created_us,"
    " reason"
)
SELECT_ORDER: Final = f"SELECT {ORDER_COLUMNS} FROM orders"  # noqa: S608 - constant columns
SELECT_REFUND: Final = f"SELECT {REFUND_COLUMNS} FROM refunds"  # noqa: S608 - constant columns
INSERT_ORDER: Final = f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES ({', '.join('?' * 17)})"  # noqa: S608
INSERT_REFUND: Final = f"INSERT INTO refunds ({REFUND_COLUMNS}) VALUES ({', '.join('?' * 9)})"  # noqa: S608


@dataclass(frozen=True, slots=True)
class LimitKey:
    """One running total: per institution, customer, account, Shanghai day and grade."""

    institution: str
    customer_id: str
    account_id: str
    business_date: date
    grade: str

    def params(self) -> tuple[str, str, str, str, str]:
        return (
            self.institution,
            self.customer_id,
            self.account_id,
            self.business_date.isoformat(),
            self.grade,
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A notification to send: its id (the merchant de-duplicates on it), type and payload."""

    event_id: str
    merchant_id: str
    type: str
    url: str
    payload: dict[str, Any]


def order_from_row(row: tuple[Any, ...]) -> Order:
    return Order(
        order_id=row[0],
        institution=row[1],
        merchant_id=row[2],
        out_trade_no=row[3],
        direction=Direction(row[4]),
        amount=row[5],
        description=row[6],
        status=OrderStatus(row[7]),
        created_at=from_us(row[8]),
        expires_at=opt_from_us(row[9]),
        code_token=row[10],
        paid_at=opt_from_us(row[11]),
        payment_id=row[12],
        payer_institution=row[13],
        fee=row[14],
        refunded=row[15],
        terminal_id=row[16],
    )


def refund_from_row(row: tuple[Any, ...]) -> Refund:
    return Refund(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        RefundStatus(row[6]),
        from_us(row[7]),
        row[8],
    )


def locked_order(cur: Any, order_id: str) -> Order:
    """The order, read inside a write transaction; ``order_not_found`` if absent."""
    row = cur.execute(SELECT_ORDER + " WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise BarcodeError("order_not_found")
    return order_from_row(row)


def insert_obligation(cur: Any, ob: Obligation | None) -> None:
    """Record an obligation (once: its id derives from the payment or refund)."""
    if ob is None:
        return
    assert ob.created_at is not None, "an obligation is recorded with its instant"
    cur.execute(
        "INSERT OR IGNORE INTO obligations (obligation_id, payer, payee, amount, order_id,"
        " reference, business_date, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ob.obligation_id,
            ob.payer,
            ob.payee,
            ob.amount,
            ob.order_id,
            ob.reference,
            ob.business_date.isoformat(),
            to_us(ob.created_at),
        ),
    )


def insert_event(cur: Any, event: Event | None, when: datetime) -> None:
    """Put a notification in the outbox (once: its id derives from the payment or refund)."""
    if event is None:
        return
    payload = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))
    cur.execute(
        "INSERT OR IGNORE INTO events (event_id, merchant_id, type, url, payload, status,"
        " attempts, next_us, created_us) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        (
            event.event_id,
            event.merchant_id,
            event.type,
            event.url,
            payload.encode(),
            to_us(when),
            to_us(when),
        ),
    )
