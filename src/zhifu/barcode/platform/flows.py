"""The payment flows of both scan directions (付款扫码 and 收款扫码), on the switch.

Data elements (project-defined [A]; JR/T 0245 §6 tables were not available, so the fields are
those of the public micropay / native-pay APIs, renamed to zhifu's conventions):

- 付款扫码, :meth:`Flows.micropay` (the merchant scans the customer's payment code): merchant
  id, merchant order number ``out_trade_no``, payment code ``auth_code``, amount (fen),
  description, terminal id. Answer: the order (order id, status, payer institution, fee, paid
  time, payment id).
- 收款扫码, :meth:`Flows.create_order` (the merchant shows a dynamic code): merchant id,
  ``out_trade_no``, amount, description, validity. Answer: the order and its ``code_url``.
- 收款扫码, :meth:`Flows.pay_collection` (the customer's wallet pays a scanned code): the code
  (URL), the payer (institution, customer, account), the verification factors used, where the
  code was read (camera / album / link) and, for a static code, the amount typed.

Order of the checks, so that a refused payment changes nothing but the spent payment code:
merchant and ``out_trade_no`` -> route the code -> the issuer spends the code and names the
payer -> 259号 (personal code, remote) -> the grade's daily limit, reserved atomically with the
order's move to PAYING -> the ledger legs (issuer first) -> PAID with the obligation and the
notification event in one transaction. A decline by the payer's ledger (insufficient funds)
leaves the order FAILED (micropay, static code) or CREATED (dynamic order) and the limit
given back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from zhifu.barcode.api.errors import ERRORS, BarcodeError
from zhifu.barcode.codes.collection_code import new_token
from zhifu.barcode.model import (
    Direction,
    Merchant,
    Order,
    PayeeKind,
    Payer,
    Payment,
    PaymentStatus,
    ScanSource,
)
from zhifu.barcode.platform.directory import Directory
from zhifu.barcode.platform.limits import business_date, grade_for_factors, limit_for
from zhifu.barcode.platform.orderbook import Event, LimitKey, OrderBook
from zhifu.barcode.platform.orders import OrderEvent, OrderStatus
from zhifu.barcode.platform.postings import Leg, fee_for, payment_legs
from zhifu.barcode.platform.views import order_dict
from zhifu.barcode.registry import CollectionKind
from zhifu.barcode.switch import Outcome, Posted, Switch
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.rng import RandomSource, SystemRandomSource

ORDER_TTL: Final = timedelta(hours=2)
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # base32, in ASCII order
_SHIFTS: Final = tuple(range(75, -1, -5))  # 16 characters of 5 bits, most significant first
STATIC_KINDS: Final = (CollectionKind.STATIC_MERCHANT, CollectionKind.STATIC_PERSONAL)


class Flows:
    """Orders, payments and their notifications across the switch's institutions."""

    def __init__(
        self,
        directory: Directory,
        book: OrderBook,
        switch: Switch,
        *,
        clock: Clock | None = None,
        rng: RandomSource | None = None,
        on_event: Callable[[], None] | None = None,
    ) -> None:
        self.directory = directory
        self.book = book
        self.switch = switch
        self.clock = clock or SystemClock()
        self.rng = rng or SystemRandomSource()
        self.on_event = on_event or (lambda: None)
        self._last_id = 0  # new_id: ids of this instance only increase

    def new_id(self, prefix: str, now: datetime | None = None) -> str:
        """``prefix`` + Shanghai date + 16 Crockford base32 characters: 40 bits of the time
        of day in microseconds, then 40 random bits; each id is above the last one this instance
        made. Ids sort by creation, so new rows go to the end of their tables' B-trees (fewer
        pages written per commit).

        >>> from datetime import datetime
        >>> from zhifu.core.clock import SHANGHAI, FixedClock
        >>> from zhifu.core.rng import SeededRandom
        >>> flows = Flows.__new__(Flows)
        >>> flows.clock = FixedClock(datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI))
        >>> flows.rng, flows._last_id = SeededRandom(1), 0
        >>> a, b = flows.new_id("O"), flows.new_id("O")
        >>> a[:9], len(a), a[9:17] == b[9:17], a < b
        ('O20261125', 25, True, True)
        """
        now = now or self.clock.now()
        micros = ((now.hour * 60 + now.minute) * 60 + now.second) * 1_000_000 + now.microsecond
        value = micros << 40 | int.from_bytes(self.rng.bytes(5), "big")
        if value <= self._last_id:  # same microsecond (or a clock step back): still increasing
            value = self._last_id + 1
        self._last_id = value
        token = "".join([_CROCKFORD[value >> shift & 31] for shift in _SHIFTS])
        return f"{prefix}{now.year:04d}{now.month:02d}{now.day:02d}{token}"

    def merchant(self, merchant_id: str) -> Merchant:
        found = self.directory.merchant(merchant_id)
        if found is None:
            raise BarcodeError("merchant_unknown")
        return found

    # -- 付款扫码 ------------------------------------------------------------------------------

    def micropay(  # noqa: PLR0917 - the data elements of 付款扫码, in their order
        self,
        merchant_id: str,
        out_trade_no: str,
        auth_code: str,
        amount: int,
        description: str = "",
        terminal_id: str | None = None,
    ) -> Order:
        """The merchant scanned ``auth_code``: charge ``amount`` to the code's payer."""
        started = self.start_micropay(
            merchant_id, out_trade_no, auth_code, amount, description, terminal_id
        )
        return started if isinstance(started, Order) else self.complete(started)

    def start_micropay(  # noqa: PLR0917 - as micropay
        self,
        merchant_id: str,
        out_trade_no: str,
        auth_code: str,
        amount: int,
        description: str = "",
        terminal_id: str | None = None,
    ) -> Order | Started:
        """:meth:`micropay` up to the ledgers: the platform database's part only (so it can
        run as one unit of the database's group commit), then :meth:`complete` posts it. An
        order already there for ``out_trade_no`` comes back as it is."""
        merchant = self.merchant(merchant_id)
        existing = self.book.order_by_trade_no(merchant_id, out_trade_no)
        if existing is not None:
            return self._resume(_same_order(existing, amount, Direction.MICROPAY), merchant)
        issuer = self.switch.issuer_of(auth_code)
        payer = issuer.redeem(auth_code)
        order = self._new_order(
            merchant, out_trade_no, Direction.MICROPAY, amount, description, terminal_id
        )
        return self._begin(order, payer, merchant, new=True)

    def _resume(self, order: Order, merchant: Merchant) -> Order | Started:
        """A repeated micropay finds its order: if an earlier attempt was interrupted after
        recording the payment (order PAYING, payment PROCESSING), posting it again finishes
        it (the legs are idempotent by their ids, the outcome is recorded once). A micropay
        that failed answers the refusal it got (``insufficient_funds``...), whether it was
        declined under its request or by a recovery after a crash."""
        if order.status is OrderStatus.FAILED and order.direction is Direction.MICROPAY:
            reason = self.book.refusal(order.order_id)
            if reason in ERRORS:
                raise BarcodeError(reason)
        if order.status is not OrderStatus.PAYING or order.payment_id is None:
            return order
        payment = self.book.payment(order.payment_id)
        if payment is None or payment.status is not PaymentStatus.PROCESSING:
            return order
        return Started(payment, merchant)

    # -- 收款扫码 ------------------------------------------------------------------------------

    def create_order(
        self,
        merchant_id: str,
        out_trade_no: str,
        amount: int,
        description: str = "",
        expire_seconds: int | None = None,
    ) -> Order:
        """A dynamic order with its collection code (``code_url`` in :func:`order_dict`)."""
        merchant = self.merchant(merchant_id)
        existing = self.book.order_by_trade_no(merchant_id, out_trade_no)
        if existing is not None:
            return _same_order(existing, amount, Direction.DYNAMIC)
        ttl = ORDER_TTL if expire_seconds is None else timedelta(seconds=expire_seconds)
        order = self._new_order(merchant, out_trade_no, Direction.DYNAMIC, amount, description)
        order = replace(
            order, expires_at=order.created_at + ttl, code_token=new_token(self.rng, 20)
        )
        return self.book.create_order(order)

    def resolve(self, code: str) -> tuple[Merchant, Order | None, CollectionKind]:
        """What a wallet shows before the customer confirms: payee, order (dynamic), kind."""
        acquirer, found = self.switch.collection(code)
        if found.kind is CollectionKind.DYNAMIC_ORDER:
            order = self.book.order_by_token(acquirer.id, found.token)
            if order is None:
                raise BarcodeError("collection_code_unknown")
            return self.merchant(order.merchant_id), self.expire_if_due(order), found.kind
        entry = self.directory.collection_code(acquirer.id, found.token)
        if entry is None or found.kind not in STATIC_KINDS:
            raise BarcodeError("collection_code_unknown")
        return self.merchant(entry[0]), None, entry[1]

    def pay_collection(
        self,
        institution: str,
        code: str,
        customer_id: str,
        account_id: str,
        *,
        factors: Sequence[str],
        scan_source: ScanSource,
        amount: int | None = None,
        description: str = "",
    ) -> Order:
        """The wallet of ``institution`` pays a scanned collection code for its customer."""
        if institution not in self.switch.nodes:
            raise BarcodeError("principal_mismatch", "the institution is not connected")
        merchant, order, kind = self.resolve(code)
        personal = merchant.kind is PayeeKind.PERSONAL or kind is CollectionKind.STATIC_PERSONAL
        if personal and scan_source is not ScanSource.CAMERA:
            raise BarcodeError("personal_code_remote")
        static = order is None
        if not static and not factors:
            raise BarcodeError("verification_required")
        issuer = self.switch.node(institution)
        payer = issuer.payer(customer_id, account_id, grade_for_factors(factors, static=static))
        if order is None:
            if amount is None:
                raise BarcodeError("amount_required")
            trade_no = self.new_id("S")
            new = self._new_order(merchant, trade_no, Direction.STATIC, amount, description)
            return self._pay(new, payer, merchant, new=True)
        if amount is not None and amount != order.amount:
            raise BarcodeError("amount_mismatch")
        expired = order.expires_at is not None and self.clock.now() >= order.expires_at
        if order.status is OrderStatus.CLOSED and expired:
            raise BarcodeError("order_expired")
        return self._pay(order, payer, merchant, new=False)

    # -- the shared part -----------------------------------------------------------------------

    def _new_order(  # noqa: PLR0917 - an order's data elements
        self,
        merchant: Merchant,
        out_trade_no: str,
        direction: Direction,
        amount: int,
        text: str,
        terminal_id: str | None = None,
    ) -> Order:
        now = self.clock.now()
        return Order(
            order_id=self.new_id("O", now),
            institution=merchant.institution,
            merchant_id=merchant.merchant_id,
            out_trade_no=out_trade_no,
            direction=direction,
            amount=amount,
            description=text,
            status=OrderStatus.CREATED,
            created_at=now,
            terminal_id=terminal_id,
        )

    def expire_if_due(self, order: Order) -> Order:
        """The order, closed first if it is CREATED and past its validity."""
        expired = order.expires_at is not None and self.clock.now() >= order.expires_at
        if order.status is OrderStatus.CREATED and expired:
            return self.book.move(order.order_id, OrderEvent.EXPIRE, expect=OrderStatus.CREATED)
        return order

    def _pay(self, order: Order, payer: Payer, merchant: Merchant, *, new: bool) -> Order:
        return self.complete(self._begin(order, payer, merchant, new=new))

    def _begin(self, order: Order, payer: Payer, merchant: Merchant, *, new: bool) -> Started:
        """Record the payment: the order in PAYING, the limit reserved (or a refusal)."""
        issuer = self.switch.node(payer.institution)
        cap = limit_for(payer.grade, agreed=issuer.agreed_limit(payer.account_id))
        now = self.clock.now()
        payment = Payment(
            payment_id=self.new_id("P", now),
            order_id=order.order_id,
            issuer=payer.institution,
            acquirer=merchant.institution,
            customer_id=payer.customer_id,
            account_id=payer.account_id,
            amount=order.amount,
            fee=fee_for(order.amount, merchant.fee_bp),
            grade=payer.grade,
            business_date=business_date(now),
            status=PaymentStatus.PROCESSING,
            created_at=now,
        )
        limit = LimitKey(
            payer.institution,
            payer.customer_id,
            payer.account_id,
            payment.business_date,
            payer.grade,
        )
        if order.amount > cap:
            raise BarcodeError("limit_exceeded", f"over the grade {payer.grade} daily limit")
        self.book.begin_payment(payment, limit, cap, new_order=order if new else None)
        return Started(payment, merchant)

    def settle(self, payment: Payment, merchant: Merchant) -> Order:
        """Post a recorded payment's legs and record the outcome (also used by recovery)."""
        return self.complete(Started(payment, merchant))

    def complete(self, started: Started) -> Order:
        """Post the legs of a started payment, record the outcome, wake the notifier."""
        order = self.finish(started, self.switch.post(started.legs()))
        if started.merchant.notify_url:  # an event was written: deliver it now
            self.on_event()
        return order

    def finish(self, started: Started, posted: Posted) -> Order:
        """Record the outcome of the posted legs: PAID with the obligation and the event, or
        ``insufficient_funds`` with the order failed and the limit given back. The caller
        wakes the notifier once this is committed (:attr:`on_event`)."""
        payment, merchant = started.payment, started.merchant
        limit = LimitKey(
            payment.issuer,
            payment.customer_id,
            payment.account_id,
            payment.business_date,
            payment.grade,
        )
        now = self.clock.now()
        if posted.outcome is Outcome.DECLINED:
            self.book.finish_payment(
                payment, ok=False, paid_at=now, limit=limit, failure="insufficient_funds"
            )
            raise BarcodeError("insufficient_funds")
        obligation = self.switch.obligation(
            payer=payment.issuer,
            payee=payment.acquirer,
            amount=payment.amount,
            order_id=payment.order_id,
            reference=payment.payment_id,
            when=now,
        )
        order = self.book.finish_payment(
            payment,
            ok=True,
            paid_at=now,
            limit=limit,
            obligation=obligation,
            event=self._event(merchant, "payment.succeeded", payment.payment_id, payment, now),
        )
        return order

    def _event(
        self, merchant: Merchant, kind: str, reference: str, payment: Payment, now: datetime
    ) -> Event | None:
        if not merchant.notify_url:
            return None
        order = self.book.order(payment.order_id)
        assert order is not None
        data = order_dict(replace(order, status=OrderStatus.PAID, paid_at=now))
        event_id = f"EV-{reference}"
        payload = {"id": event_id, "type": kind, "created_at": now.isoformat(), "data": data}
        return Event(event_id, merchant.merchant_id, kind, merchant.notify_url, payload)


@dataclass(frozen=True, slots=True)
class Started:
    """A payment recorded in the platform database (order PAYING, limit reserved) whose legs
    are still to be posted to the ledgers."""

    payment: Payment
    merchant: Merchant

    def legs(self) -> tuple[Leg, ...]:
        """The ledger legs of the payment, issuer first."""
        p = self.payment
        return payment_legs(
            p.payment_id,
            issuer=p.issuer,
            acquirer=p.acquirer,
            account_id=p.account_id,
            merchant_id=self.merchant.merchant_id,
            amount=p.amount,
            fee=p.fee,
        )


def _same_order(existing: Order, amount: int, direction: Direction) -> Order:
    """A repeated ``out_trade_no``: the existing order if it is the same request."""
    if existing.amount != amount or existing.direction is not direction:
        raise BarcodeError("out_trade_no_used")
    return existing
