"""The operations of the barcode API: what each request does once it is authenticated, as a
call of the platform with plain-Python arguments (path and query parameters are bound when the
operation is made). :class:`~zhifu.barcode.platform.requests.SignedRequests` runs them.

A key speaks for one principal (its ``principal``): a merchant's operations need
``merchant:<id>`` (and the body's ``merchant_id`` must be that merchant), a wallet's or the
switch's need ``institution:<id>``; anything else is ``principal_mismatch``. Answers are the
response Structs of :mod:`zhifu.barcode.api.schemas` (the micropay's is the same JSON as a
dict, without the conversion: :func:`~zhifu.barcode.platform.views.order_dict` has the
fields of ``OrderOut`` in its order, which a test checks).

>>> MICROPAY.kind.__name__, type(refund("O1")).__name__, type(order("O1")).__name__
('MicropayRequest', 'Call', 'Query')
>>> from zhifu.crypto import sm2
>>> key = VerifyingKey("k1", "merchant:M1", "SM2-SM3", sm2.generate_keypair()[1])
>>> merchant_of(key), merchant_of(key, "M1")
('M1', 'M1')
>>> institution_of(key)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.barcode.api.errors.BarcodeError: principal_mismatch: ...
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.schemas import (
    CloseRequest,
    CreateOrderRequest,
    HistoryEntryOut,
    MicropayRequest,
    ObligationList,
    ObligationOut,
    OrderOut,
    RefundList,
    RefundOut,
    RefundRequest,
    ResolveOut,
    ResolveRequest,
    WalletHistory,
    WalletPayRequest,
    out,
)
from zhifu.barcode.api.signing import VerifyingKey
from zhifu.barcode.model import Order, ScanSource
from zhifu.barcode.platform import refunds as after_payment
from zhifu.barcode.platform.flows import Started
from zhifu.barcode.platform.orders import OrderStatus
from zhifu.barcode.platform.postings import customer_account
from zhifu.barcode.platform.requests import Call, Payment, Query
from zhifu.barcode.platform.views import obligation_dict, order_dict, refund_dict
from zhifu.core.clock import SHANGHAI

if TYPE_CHECKING:
    from zhifu.barcode.platform.system import BarcodeSystem


def merchant_of(key: VerifyingKey, merchant_id: str | None = None) -> str:
    """The merchant a key speaks for (and must match ``merchant_id`` when given)."""
    kind, _, who = key.principal.partition(":")
    if kind != "merchant" or (merchant_id is not None and merchant_id != who):
        raise BarcodeError("principal_mismatch")
    return who


def institution_of(key: VerifyingKey) -> str:
    """The institution a key speaks for."""
    kind, _, who = key.principal.partition(":")
    if kind != "institution":
        raise BarcodeError("principal_mismatch")
    return who


def _order_out(order: Order) -> OrderOut:
    return out(OrderOut, order_dict(order))


# -- merchants -------------------------------------------------------------------------------


def _micropay(system: BarcodeSystem, key: VerifyingKey, req: MicropayRequest) -> Order | Started:
    merchant_of(key, req.merchant_id)
    return system.flows.start_micropay(
        req.merchant_id,
        req.out_trade_no,
        req.auth_code,
        req.amount,
        req.description,
        req.terminal_id,
    )


def _micropay_over(system: BarcodeSystem, req: MicropayRequest) -> bool:
    found = system.book.order_by_trade_no(req.merchant_id, req.out_trade_no)
    return found is not None and found.status is not OrderStatus.PAYING


MICROPAY: Final = Payment(MicropayRequest, _micropay, order_dict, _micropay_over)
"""付款扫码 (``POST /v1/micropay``): charge a scanned payment code."""


def _create(system: BarcodeSystem, key: VerifyingKey, req: CreateOrderRequest) -> OrderOut:
    merchant_of(key, req.merchant_id)
    return _order_out(
        system.flows.create_order(
            req.merchant_id, req.out_trade_no, req.amount, req.description, req.expire_seconds
        )
    )


CREATE_ORDER: Final = Call(CreateOrderRequest, _create)
"""收款扫码 (``POST /v1/orders``): an order with a dynamic collection code."""


def order(order_id: str) -> Query:
    """The merchant's order by zhifu's id (closed first if it expired unpaid)."""

    def run(system: BarcodeSystem, key: VerifyingKey) -> OrderOut:
        return _order_out(after_payment.query(system.flows, merchant_of(key), order_id))

    return Query(run)


def order_by_trade_no(out_trade_no: str) -> Query:
    """The merchant's order by its own order number."""

    def run(system: BarcodeSystem, key: VerifyingKey) -> OrderOut:
        found = after_payment.query_by_trade_no(system.flows, merchant_of(key), out_trade_no)
        return _order_out(found)

    return Query(run)


def close_order(order_id: str) -> Call:
    """Close an unpaid order."""

    def run(system: BarcodeSystem, key: VerifyingKey, _: CloseRequest) -> OrderOut:
        return _order_out(after_payment.close(system.flows, merchant_of(key), order_id))

    return Call(CloseRequest, run)


def refund(order_id: str) -> Call:
    """Refund part or all of a paid order."""

    def run(system: BarcodeSystem, key: VerifyingKey, req: RefundRequest) -> RefundOut:
        done = after_payment.refund(
            system.flows, merchant_of(key), order_id, req.out_refund_no, req.amount, req.reason
        )
        return out(RefundOut, refund_dict(done))

    return Call(RefundRequest, run)


def refunds_of(order_id: str) -> Query:
    """Every refund of the merchant's order, oldest first."""

    def run(system: BarcodeSystem, key: VerifyingKey) -> RefundList:
        found = after_payment.query(system.flows, merchant_of(key), order_id)
        return RefundList(
            [out(RefundOut, refund_dict(r)) for r in system.book.refunds(found.order_id)]
        )

    return Query(run)


# -- institutions ----------------------------------------------------------------------------


def _resolve(system: BarcodeSystem, key: VerifyingKey, req: ResolveRequest) -> ResolveOut:
    institution_of(key)
    merchant, found, kind = system.flows.resolve(req.code)
    return ResolveOut(
        kind=kind.value,
        merchant_id=merchant.merchant_id,
        merchant_name=merchant.name,
        payee_kind=merchant.kind.value,
        acquirer=merchant.institution,
        order=None if found is None else _order_out(found),
    )


RESOLVE: Final = Call(ResolveRequest, _resolve)
"""What a scanned collection code is (``POST /v1/wallet/resolve``)."""


def _pay(system: BarcodeSystem, key: VerifyingKey, req: WalletPayRequest) -> OrderOut:
    paid = system.flows.pay_collection(
        institution_of(key),
        req.code,
        req.customer_id,
        req.account_id,
        factors=req.factors,
        scan_source=ScanSource(req.scan_source),
        amount=req.amount,
        description=req.description,
    )
    return _order_out(paid)


WALLET_PAY: Final = Call(WalletPayRequest, _pay)
"""收款扫码 (``POST /v1/wallet/payments``): the signer's wallet pays a collection code."""


HISTORY_DAYS: Final = 366
"""How far back a customer's history reaches: at least a year (PBOC 2015 No. 43)."""
_KINDS: Final = {1: "payment", 2: "fee", 3: "refund", 4: "fee-refund", 5: "top-up"}


def _instant(ns: int) -> datetime:
    """A ledger timestamp (nanoseconds since the epoch) in Asia/Shanghai."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, SHANGHAI) + timedelta(microseconds=rest // 1000)


def wallet_history(account_id: str) -> Query:
    """A wallet account's payments, refunds and top-ups of the last :data:`HISTORY_DAYS` days,
    for the signing institution's own customer (``GET /v1/wallet/history``)."""

    def run(system: BarcodeSystem, key: VerifyingKey) -> WalletHistory:
        institution = institution_of(key)
        now = system.clock.now().astimezone(SHANGHAI)
        since = now - timedelta(days=HISTORY_DAYS)
        since_ns = int(since.timestamp()) * 1_000_000_000
        node = system.node(institution)
        mine = customer_account(institution, account_id)
        entries = [
            HistoryEntryOut(
                _instant(t.timestamp).isoformat(),
                "in" if t.credit_account_id == mine else "out",
                t.amount,
                _KINDS.get(t.code, "other"),  # type: ignore[arg-type]
            )
            for t in node.history(account_id, since_ns=since_ns)
        ]
        return WalletHistory(account_id, since.isoformat(timespec="seconds"), entries)

    return Query(run)


def obligations(business_date: str) -> Query:
    """The switch's obligations of an Asia/Shanghai business date (``YYYY-MM-DD``)."""

    def run(system: BarcodeSystem, key: VerifyingKey) -> ObligationList:
        institution_of(key)
        try:
            day = date.fromisoformat(business_date)
        except ValueError:
            raise BarcodeError("validation_error", "invalid query business_date") from None
        items = [out(ObligationOut, obligation_dict(o)) for o in system.obligations(day)]
        return ObligationList(day.isoformat(), items)

    return Query(run)
