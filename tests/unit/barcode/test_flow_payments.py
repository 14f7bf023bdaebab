"""The flows in-process on a FixedClock: 付款扫码 and 收款扫码, the switch and its obligations,
limits per grade and Shanghai day, 259号, refunds and their cap, recovery after a crash, and
exactly-once ledger postings (docs/standards/barcode.md §1.2, §1.4, §5; docs/standards/security.md
R24)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.codes.payment_code import PaymentCodeGenerator
from zhifu.barcode.model import Direction, PayeeKind, Payment, PaymentStatus, ScanSource
from zhifu.barcode.platform.orderbook import LimitKey
from zhifu.barcode.platform.orders import OrderStatus
from zhifu.barcode.platform.postings import (
    customer_account,
    merchant_account,
    payment_legs,
    system_account,
)
from zhifu.barcode.platform.refunds import close, query, recover, refund
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.barcode.platform.views import mpm_payload, order_dict
from zhifu.barcode.switch import Outcome
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.core.rng import SeededRandom
from zhifu.ledger import CreateTransferResult, Transfer

START = datetime(2026, 11, 25, 10, 0, 0, tzinfo=SHANGHAI)


@dataclass
class World:
    system: BarcodeSystem
    clock: FixedClock
    n: int = 0

    def merchant(
        self, institution: str = "zhifu", kind: PayeeKind = PayeeKind.MERCHANT, fee_bp: int = 38
    ) -> str:
        self.n += 1
        merchant_id = f"M{self.n:06d}"
        self.system.add_merchant(merchant_id, institution, "Shop", kind=kind, fee_bp=fee_bp)
        return merchant_id

    def wallet(
        self, institution: str = "zhifu", balance: int = 1_000_000, grade: str = "C"
    ) -> tuple[str, str, PaymentCodeGenerator]:
        self.n += 1
        customer, account = f"C{self.n:06d}", f"A{self.n:06d}"
        self.system.open_wallet(institution, customer, account)
        if balance:
            self.system.top_up(institution, account, balance, f"topup-{account}")
        handle, secret = self.system.enroll_device(institution, customer, account, grade=grade)
        return customer, account, self.system.phone(institution, handle, secret)

    def balance(self, institution: str, ledger_id: int) -> int:
        return self.system.node(institution).balance(ledger_id)

    def snapshot(self) -> tuple[object, ...]:
        """Every ledger balance and the whole order table: what a refusal must not change."""
        books = tuple(
            node.ledger.store.read(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending"
                " FROM accounts ORDER BY id"
            )
            for node in self.system.nodes.values()
        )
        orders = self.system.db.all("SELECT * FROM orders ORDER BY order_id")
        payments = self.system.db.all("SELECT * FROM payments ORDER BY payment_id")
        return books, orders, payments


@pytest.fixture
def world() -> Iterator[World]:
    clock = FixedClock(START)
    system = BarcodeSystem.open(clock=clock, rng=SeededRandom(7))
    yield World(system, clock)
    for node in system.nodes.values():
        assert node.ledger.check().balanced, node.id
    system.close()


def refused(code: str) -> pytest.RaisesContext[BarcodeError]:
    return pytest.raises(BarcodeError, match=f"^{code}:")


# --- 付款扫码 (micropay) ------------------------------------------------------------------------


def test_micropay_moves_the_money_and_the_fee(world: World) -> None:
    merchant = world.merchant()
    _, account, phone = world.wallet(balance=10_000)
    order = world.system.flows.micropay(merchant, "T1", phone.next_code(), 1234, "noodles")
    assert (order.status, order.fee, order.payer_institution) == (OrderStatus.PAID, 5, "zhifu")
    assert world.balance("zhifu", customer_account("zhifu", account)) == 10_000 - 1234
    assert world.balance("zhifu", merchant_account("zhifu", merchant)) == 1234 - 5
    assert world.balance("zhifu", system_account("zhifu", "fee_income")) == 5
    assert world.system.obligations() == []  # same institution: nothing to clear


def test_a_repeated_out_trade_no_answers_the_same_order_once(world: World) -> None:
    merchant = world.merchant()
    _, account, phone = world.wallet(balance=10_000)
    first = world.system.flows.micropay(merchant, "T1", phone.next_code(), 1000)
    again = world.system.flows.micropay(merchant, "T1", phone.next_code(), 1000)
    assert again.order_id == first.order_id
    assert world.balance("zhifu", customer_account("zhifu", account)) == 9_000
    with refused("out_trade_no_used"):
        world.system.flows.micropay(merchant, "T1", phone.next_code(), 999)


def test_a_used_code_is_refused_and_changes_nothing(world: World) -> None:
    merchant = world.merchant()
    _, _, phone = world.wallet()
    code = phone.next_code()
    world.system.flows.micropay(merchant, "T1", code, 100)
    before = world.snapshot()
    with refused("auth_code_used"):
        world.system.flows.micropay(merchant, "T2", code, 100)
    assert world.snapshot() == before


def test_an_expired_code_is_refused(world: World) -> None:
    merchant = world.merchant()
    _, _, phone = world.wallet()
    code = phone.next_code()
    world.clock.advance(61)
    before = world.snapshot()
    with refused("auth_code_expired"):
        world.system.flows.micropay(merchant, "T1", code, 100)
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("120061098828009406", "auth_code_issuer_not_connected"),  # WeChat's doc sample
        ("990000000000000000", "auth_code_unknown_issuer"),
        ("12345", "auth_code_malformed"),
        ("910000000000000000", "auth_code_unknown_device"),
    ],
)
def test_codes_the_switch_cannot_route(world: World, code: str, error: str) -> None:
    merchant = world.merchant()
    with refused(error):
        world.system.flows.micropay(merchant, "T1", code, 100)


def test_insufficient_funds_fails_the_order_and_gives_the_limit_back(world: World) -> None:
    merchant = world.merchant()
    customer, account, phone = world.wallet(balance=100)
    with refused("insufficient_funds"):
        world.system.flows.micropay(merchant, "T1", phone.next_code(), 1234)
    order = world.system.book.order_by_trade_no(merchant, "T1")
    assert order is not None and order.status is OrderStatus.FAILED
    key = LimitKey("zhifu", customer, account, START.date(), "C")
    assert world.system.book.limit_used(key) == 0
    assert world.balance("zhifu", customer_account("zhifu", account)) == 100


# --- limits --------------------------------------------------------------------------------


def test_one_factor_codes_stop_at_1000_yuan_a_day_exactly_at_the_limit_allowed(
    world: World,
) -> None:
    merchant = world.merchant()
    _, _, phone = world.wallet(grade="C")
    world.system.flows.micropay(merchant, "T1", phone.next_code(), 60_000)
    world.system.flows.micropay(merchant, "T2", phone.next_code(), 40_000)  # exactly 1,000.00
    before = world.snapshot()
    with refused("limit_exceeded"):
        world.system.flows.micropay(merchant, "T3", phone.next_code(), 1)
    assert world.snapshot() == before


def test_the_limit_resets_at_shanghai_midnight(world: World) -> None:
    world.clock.advance((datetime(2026, 11, 25, 23, 59, 30, tzinfo=SHANGHAI) - START).seconds)
    merchant = world.merchant()
    _, _, phone = world.wallet(grade="C")
    world.system.flows.micropay(merchant, "T1", phone.next_code(), 100_000)
    with refused("limit_exceeded"):
        world.system.flows.micropay(merchant, "T2", phone.next_code(), 1)
    world.clock.advance(31)  # 2026-11-26 00:00:01 in Shanghai
    assert world.system.flows.micropay(merchant, "T3", phone.next_code(), 1).status.paid


def test_two_factor_devices_reach_5000(world: World) -> None:
    merchant = world.merchant()
    _, _, phone = world.wallet(grade="B")
    world.system.flows.micropay(merchant, "T1", phone.next_code(), 500_000)
    with refused("limit_exceeded"):
        world.system.flows.micropay(merchant, "T2", phone.next_code(), 1)


def test_limits_are_per_account(world: World) -> None:
    merchant = world.merchant()
    customer, _, phone = world.wallet(grade="C")
    world.system.open_wallet("zhifu", customer, "CARD2")
    world.system.top_up("zhifu", "CARD2", 200_000, "card2")
    code = world.system.start_binding("zhifu", customer)  # a second device: the step-up
    handle, secret = world.system.enroll_device("zhifu", customer, "CARD2", step_up=code)
    card_phone = world.system.phone("zhifu", handle, secret)
    world.system.flows.micropay(merchant, "T1", phone.next_code(), 100_000)
    assert world.system.flows.micropay(merchant, "T2", card_phone.next_code(), 100_000).status.paid


# --- 收款扫码 (collection codes) ------------------------------------------------------------


def test_static_codes_count_as_grade_d(world: World) -> None:
    merchant = world.merchant()
    url = world.system.issue_static_code(merchant)
    customer, account, _ = world.wallet()
    flows = world.system.flows
    pay = {"factors": ["password", "fingerprint"], "scan_source": ScanSource.CAMERA}
    flows.pay_collection("zhifu", url, customer, account, amount=30_000, **pay)  # type: ignore[arg-type]
    flows.pay_collection("zhifu", url, customer, account, amount=20_000, **pay)  # type: ignore[arg-type]
    with refused("limit_exceeded"):
        flows.pay_collection("zhifu", url, customer, account, amount=1, **pay)  # type: ignore[arg-type]
    with refused("amount_required"):
        flows.pay_collection("zhifu", url, customer, account, **pay)  # type: ignore[arg-type]


@pytest.mark.parametrize("source", [ScanSource.ALBUM, ScanSource.LINK])
def test_a_personal_code_is_refused_for_remote_payment(world: World, source: ScanSource) -> None:
    person = world.merchant(kind=PayeeKind.PERSONAL)
    url = world.system.issue_static_code(person)
    assert "/qr/p/" in url
    customer, account, _ = world.wallet()
    before = world.snapshot()
    with refused("personal_code_remote"):
        world.system.flows.pay_collection(
            "zhifu", url, customer, account, factors=[], scan_source=source, amount=100
        )
    assert world.snapshot() == before
    paid = world.system.flows.pay_collection(
        "zhifu", url, customer, account, factors=[], scan_source=ScanSource.CAMERA, amount=100
    )
    assert paid.status.paid


def test_a_merchant_static_code_from_the_album_is_allowed(world: World) -> None:
    merchant = world.merchant()
    url = world.system.issue_static_code(merchant)
    customer, account, _ = world.wallet()
    paid = world.system.flows.pay_collection(
        "zhifu", url, customer, account, factors=[], scan_source=ScanSource.ALBUM, amount=100
    )
    assert paid.status.paid


def test_dynamic_order_paid_across_institutions_leaves_an_obligation(world: World) -> None:
    merchant = world.merchant("zhifu")
    customer, account, _ = world.wallet("huanyu", balance=5_000)
    order = world.system.flows.create_order(merchant, "T1", 2_000, "tea", expire_seconds=600)
    url = order_dict(order)["code_url"]
    assert url.startswith("https://pay.zhifu.test/qr/o/")
    _, shown, _ = world.system.flows.resolve(url)
    assert shown is not None and shown.amount == 2_000
    paid = world.system.flows.pay_collection(
        "huanyu", url, customer, account, factors=["password"], scan_source=ScanSource.CAMERA
    )
    assert (paid.status, paid.payer_institution) == (OrderStatus.PAID, "huanyu")
    (ob,) = world.system.obligations(START.date())
    assert (ob.payer, ob.payee, ob.amount, ob.order_id) == ("huanyu", "zhifu", 2_000, paid.order_id)
    assert world.balance("huanyu", customer_account("huanyu", account)) == 3_000
    assert world.balance("huanyu", system_account("huanyu", "issuer_clearing")) == 2_000
    assert world.balance("zhifu", system_account("zhifu", "acquirer_clearing")) == -2_000
    assert world.balance("zhifu", merchant_account("zhifu", merchant)) == 2_000 - 8
    with refused("order_paid"):
        world.system.flows.pay_collection(
            "huanyu", url, customer, account, factors=["password"], scan_source=ScanSource.CAMERA
        )


def test_dynamic_order_refusals(world: World) -> None:
    merchant = world.merchant()
    customer, account, _ = world.wallet()
    flows = world.system.flows
    order = flows.create_order(merchant, "T1", 500, expire_seconds=60)
    url = order_dict(order)["code_url"]
    camera = ScanSource.CAMERA
    with refused("verification_required"):
        flows.pay_collection("zhifu", url, customer, account, factors=[], scan_source=camera)
    with refused("amount_mismatch"):
        flows.pay_collection(
            "zhifu", url, customer, account, factors=["sms"], scan_source=camera, amount=499
        )
    with refused("collection_code_unknown"):
        flows.pay_collection(
            "zhifu", url[:-4] + "ZZZZ", customer, account, factors=["sms"], scan_source=camera
        )
    with refused("collection_code_refused"):
        flows.pay_collection(
            "zhifu",
            url.replace("pay.zhifu.test", "pay.zhifu.test.evil.example"),
            customer,
            account,
            factors=["sms"],
            scan_source=camera,
        )
    world.clock.advance(60)
    with refused("order_expired"):
        flows.pay_collection("zhifu", url, customer, account, factors=["sms"], scan_source=camera)
    assert query(flows, merchant, order.order_id).status is OrderStatus.CLOSED


def test_close_an_unpaid_order_and_not_a_paid_one(world: World) -> None:
    merchant = world.merchant()
    customer, account, phone = world.wallet()
    flows = world.system.flows
    order = flows.create_order(merchant, "T1", 500)
    assert close(flows, merchant, order.order_id).status is OrderStatus.CLOSED
    assert close(flows, merchant, order.order_id).status is OrderStatus.CLOSED
    with refused("order_closed"):
        flows.pay_collection(
            "zhifu",
            order_dict(order)["code_url"],
            customer,
            account,
            factors=["sms"],
            scan_source=ScanSource.CAMERA,
        )
    paid = flows.micropay(merchant, "T2", phone.next_code(), 100)
    with refused("order_paid"):
        close(flows, merchant, paid.order_id)
    with refused("order_not_found"):
        query(flows, world.merchant(), paid.order_id)  # another merchant's order


# --- refunds --------------------------------------------------------------------------------


def test_several_partial_refunds_up_to_the_cap(world: World) -> None:
    merchant = world.merchant()
    _, account, phone = world.wallet(balance=10_000)
    flows = world.system.flows
    order = flows.micropay(merchant, "T1", phone.next_code(), 1234)
    first = refund(flows, merchant, order.order_id, "R1", 600)
    assert query(flows, merchant, order.order_id).status is OrderStatus.PARTIALLY_REFUNDED
    assert refund(flows, merchant, order.order_id, "R1", 600) == first  # idempotent by number
    with refused("out_refund_no_used"):
        refund(flows, merchant, order.order_id, "R1", 601)
    with refused("refund_exceeds_remaining"):
        refund(flows, merchant, order.order_id, "R2", 635)
    last = refund(flows, merchant, order.order_id, "R2", 634)
    assert first.fee_refund + last.fee_refund == order.fee
    assert query(flows, merchant, order.order_id).status is OrderStatus.REFUNDED
    with refused("refund_exceeds_remaining"):
        refund(flows, merchant, order.order_id, "R3", 1)
    assert world.balance("zhifu", customer_account("zhifu", account)) == 10_000
    assert world.balance("zhifu", merchant_account("zhifu", merchant)) == 0
    assert world.balance("zhifu", system_account("zhifu", "fee_income")) == 0


def test_an_unpaid_order_cannot_be_refunded(world: World) -> None:
    merchant = world.merchant()
    order = world.system.flows.create_order(merchant, "T1", 500)
    with refused("order_not_paid"):
        refund(world.system.flows, merchant, order.order_id, "R1", 1)


def test_concurrent_refunds_never_pass_the_cap(world: World) -> None:
    merchant = world.merchant()
    _, _, phone = world.wallet()
    flows = world.system.flows
    order = flows.micropay(merchant, "T1", phone.next_code(), 1_000)
    outcomes: list[str] = []

    def one(i: int) -> None:
        try:
            refund(flows, merchant, order.order_id, f"R{i}", 200)
            outcomes.append("ok")
        except BarcodeError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] * 5 + ["refund_exceeds_remaining"] * 5
    assert query(flows, merchant, order.order_id).status is OrderStatus.REFUNDED


def test_a_cross_institution_refund_goes_back_through_the_switch(world: World) -> None:
    merchant = world.merchant("zhifu")
    _, account, phone = world.wallet("qingniao", balance=5_000)
    flows = world.system.flows
    order = flows.micropay(merchant, "T1", phone.next_code(), 2_000)
    done = refund(flows, merchant, order.order_id, "R1", 500)
    obligations = world.system.obligations(START.date())
    assert [(o.payer, o.payee, o.amount) for o in obligations] == [
        ("qingniao", "zhifu", 2_000),
        ("zhifu", "qingniao", 500),
    ]
    assert obligations[1].reference == done.refund_id
    assert world.balance("qingniao", customer_account("qingniao", account)) == 3_500


def test_a_refund_the_merchant_cannot_fund_fails_and_changes_nothing(world: World) -> None:
    merchant = world.merchant(fee_bp=0)
    _, _, phone = world.wallet()
    flows = world.system.flows
    order = flows.micropay(merchant, "T1", phone.next_code(), 1_000)
    node = world.system.node("zhifu")
    payout = Transfer(
        77,
        merchant_account("zhifu", merchant),
        system_account("zhifu", "acquirer_clearing"),
        900,
        156,
        9,
    )
    assert node.apply([payout]) == [CreateTransferResult.OK]  # settled out to the merchant
    with refused("refund_failed"):
        refund(flows, merchant, order.order_id, "R1", 500)
    after = query(flows, merchant, order.order_id)
    assert (after.status, after.refunded) == (OrderStatus.PAID, 0)
    assert refund(flows, merchant, order.order_id, "R2", 100).amount == 100


# --- exactly once, recovery ---------------------------------------------------------------


def test_posting_a_payment_again_answers_exists(world: World) -> None:
    merchant = world.merchant()
    _, account, phone = world.wallet(balance=10_000)
    order = world.system.flows.micropay(merchant, "T1", phone.next_code(), 1234)
    assert order.payment_id is not None
    legs = payment_legs(
        order.payment_id,
        issuer="zhifu",
        acquirer="zhifu",
        account_id=account,
        merchant_id=merchant,
        amount=1234,
        fee=5,
    )
    results = world.system.node("zhifu").apply(legs[0].transfers)
    assert results == [CreateTransferResult.EXISTS, CreateTransferResult.LINKED_EVENT_FAILED]
    assert world.system.switch.post(legs).outcome is Outcome.DONE  # looked up: all there
    assert world.balance("zhifu", customer_account("zhifu", account)) == 10_000 - 1234


def test_recovery_finishes_a_payment_cut_off_before_its_ledger_legs(world: World) -> None:
    merchant = world.merchant()
    customer, account, _ = world.wallet(balance=10_000)
    flows = world.system.flows
    shop = world.system.directory.merchant(merchant)
    assert shop is not None
    order = flows._new_order(shop, "T1", Direction.MICROPAY, 700, "")  # as micropay records it
    payment = Payment(
        "P-CRASH",
        order.order_id,
        "zhifu",
        "zhifu",
        customer,
        account,
        700,
        3,
        "C",
        START.date(),
        PaymentStatus.PROCESSING,
        START,
    )
    key = LimitKey("zhifu", customer, account, START.date(), "C")
    world.system.book.begin_payment(payment, key, 100_000, new_order=order)  # then: crash
    assert world.system.book.order(order.order_id).status is OrderStatus.PAYING  # type: ignore[union-attr]
    assert recover(flows) == (1, 0)
    assert world.system.book.order(order.order_id).status is OrderStatus.PAID  # type: ignore[union-attr]
    assert recover(flows) == (0, 0)
    assert world.balance("zhifu", customer_account("zhifu", account)) == 10_000 - 700


def test_recovery_after_the_ledger_moved_does_not_move_it_twice(world: World) -> None:
    merchant = world.merchant()
    customer, account, _ = world.wallet("huanyu", balance=10_000)
    shop = world.system.directory.merchant(merchant)
    assert shop is not None
    flows = world.system.flows
    order = flows._new_order(shop, "T1", Direction.MICROPAY, 700, "")
    payment = Payment(
        "P-CRASH2",
        order.order_id,
        "huanyu",
        "zhifu",
        customer,
        account,
        700,
        3,
        "C",
        START.date(),
        PaymentStatus.PROCESSING,
        START,
    )
    key = LimitKey("huanyu", customer, account, START.date(), "C")
    world.system.book.begin_payment(payment, key, 100_000, new_order=order)
    legs = payment_legs(
        "P-CRASH2",
        issuer="huanyu",
        acquirer="zhifu",
        account_id=account,
        merchant_id=merchant,
        amount=700,
        fee=3,
    )
    assert world.system.switch.post(legs).outcome is Outcome.DONE  # then: crash
    assert recover(flows) == (1, 0)
    assert world.system.book.order(order.order_id).status is OrderStatus.PAID  # type: ignore[union-attr]
    assert world.balance("huanyu", customer_account("huanyu", account)) == 10_000 - 700
    assert world.balance("zhifu", merchant_account("zhifu", merchant)) == 700 - 3
    assert [o.amount for o in world.system.obligations()] == [700]


def test_emvco_merchant_presented_codes_pay_like_urls(world: World) -> None:
    merchant = world.merchant("huanyu")
    customer, account, _ = world.wallet("zhifu", balance=10_000)
    flows = world.system.flows
    order = flows.create_order(merchant, "T1", 1_200)
    payload = order_dict(order)["code_emv"]
    assert payload.startswith("000201010212") and "test.huanyu.pay" in payload
    tampered = payload.replace("12.00", "12.01")
    with refused("collection_code_refused"):  # the CRC no longer matches
        flows.pay_collection(
            "zhifu", tampered, customer, account, factors=["sms"], scan_source=ScanSource.CAMERA
        )
    paid = flows.pay_collection(
        "zhifu", payload, customer, account, factors=["sms"], scan_source=ScanSource.CAMERA
    )
    assert paid.status is OrderStatus.PAID
    token = world.system.issue_static_code(merchant).rsplit("/", 1)[1]
    static = mpm_payload("huanyu", token)
    assert static.startswith("000201010211")
    assert flows.pay_collection(
        "zhifu", static, customer, account, factors=[], scan_source=ScanSource.CAMERA, amount=300
    ).status.paid
    assert [o.amount for o in world.system.obligations()] == [1_200, 300]


def test_an_unconnected_institution_cannot_pay(world: World) -> None:
    merchant = world.merchant()
    url = world.system.issue_static_code(merchant)
    with refused("principal_mismatch"):
        world.system.flows.pay_collection(
            "wechat", url, "C", "A", factors=[], scan_source=ScanSource.CAMERA, amount=1
        )
