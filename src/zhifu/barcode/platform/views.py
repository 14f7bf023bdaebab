"""Orders, refunds and obligations as plain JSON-ready dicts: the API's answers and the payload
of notifications share them, so a merchant reads the same fields either way.

Amounts are integer fen; instants ISO 8601 with the +08:00 offset.

>>> from datetime import date
>>> from zhifu.barcode.model import Obligation
>>> d = obligation_dict(Obligation("OB-P1", "huanyu", "zhifu", 1234, "O1", "P1",
...                                  date(2026, 11, 25)))
>>> d["payer"], d["payee"], d["amount"], d["business_date"]
('huanyu', 'zhifu', 1234, '2026-11-25')
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zhifu.barcode.codes.collection_code import collection_url
from zhifu.barcode.codes.emvqr.mpm import build_mpm, merchant_fields
from zhifu.barcode.model import Obligation, Order, Refund
from zhifu.barcode.registry import CollectionKind
from zhifu.core.money import CNY, Money


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def code_url(order: Order) -> str | None:
    """The dynamic collection code (URL) of an order, if it has one."""
    if order.code_token is None:
        return None
    return collection_url(
        CollectionKind.DYNAMIC_ORDER, order.code_token, institution=order.institution
    )


def mpm_payload(
    institution: str, token: str, *, mcc: str = "5812", amount: int | None = None
) -> str:
    """zhifu's EMVCo merchant-presented form of a collection code [A] (static without an
    amount, dynamic with one): template 26 holds the institution's GUI and the token.

    >>> p = mpm_payload("zhifu", "7K3M9Q2X8P4R", amount=1234)
    >>> p[:12], "26340014test.zhifu.pay01127K3M9Q2X8P4R" in p, p[-8:-4]
    ('000201010212', True, '6304')
    """
    money = None if amount is None else Money(amount, CNY)
    fields = merchant_fields(
        gui=f"test.{institution}.pay",
        merchant_id=token,
        name="ZHIFU MERCHANT",
        city="SHANGHAI",
        mcc=mcc,
        amount=money,
    )
    return build_mpm(fields)


def order_dict(order: Order) -> dict[str, Any]:
    """The order as the API shows it to its merchant."""
    return {
        "order_id": order.order_id,
        "merchant_id": order.merchant_id,
        "out_trade_no": order.out_trade_no,
        "direction": order.direction.value,
        "status": str(order.status),
        "amount": order.amount,
        "currency": "CNY",
        "description": order.description,
        "fee": order.fee,
        "refunded": order.refunded,
        "acquirer": order.institution,
        "payer_institution": order.payer_institution,
        "payment_id": order.payment_id,
        "code_url": code_url(order),
        "code_emv": (
            None
            if order.code_token is None
            else mpm_payload(order.institution, order.code_token, amount=order.amount)
        ),
        "terminal_id": order.terminal_id,
        "created_at": _iso(order.created_at),
        "expires_at": _iso(order.expires_at),
        "paid_at": _iso(order.paid_at),
    }


def refund_dict(refund: Refund) -> dict[str, Any]:
    return {
        "refund_id": refund.refund_id,
        "order_id": refund.order_id,
        "out_refund_no": refund.out_refund_no,
        "status": refund.status.value,
        "amount": refund.amount,
        "fee_refund": refund.fee_refund,
        "reason": refund.reason,
        "created_at": _iso(refund.created_at),
    }


def obligation_dict(ob: Obligation) -> dict[str, Any]:
    return {
        "obligation_id": ob.obligation_id,
        "payer": ob.payer,
        "payee": ob.payee,
        "amount": ob.amount,
        "order_id": ob.order_id,
        "reference": ob.reference,
        "business_date": ob.business_date.isoformat(),
    }
