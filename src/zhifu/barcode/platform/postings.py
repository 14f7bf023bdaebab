"""The ledger transfers of a barcode payment or refund, with ids derived from the payment.

Every id here is a pure function of names (:func:`derive_id`: the first 128 bits of SM3 over
the parts), so sending a transfer set again after a timeout or a crash answers ``EXISTS`` and
moves nothing twice: the payment happens exactly once.

Each institution keeps its own ledger (ledger 156, CNY) with these accounts (chart codes of
:mod:`zhifu.ledger.chart`): per wallet account ``customer_reserve_funds`` 22411, per merchant
``merchant_settlement`` 22412 (待结算商户款), and the institution's ``fee_income_acquiring``
60211, ``acquirer_clearing`` 30011 (due from other institutions through the switch),
``issuer_clearing`` 30012 (due to other institutions) and ``reserve_funds_custody`` 10111 (the
backing of wallet balances, debited when a wallet is topped up).

Payment of ``amount`` with merchant fee ``fee`` (one linked chain per ledger, all or nothing):

- same institution: customer -> merchant ``amount``; merchant -> fee income ``fee``;
- across institutions: in the issuer's ledger customer -> issuer clearing ``amount``; in the
  acquirer's ledger acquirer clearing -> merchant ``amount``, merchant -> fee income ``fee``;
  and the switch records an obligation issuer -> acquirer of ``amount``.

A refund reverses it: fee income -> merchant ``fee_refund`` (the share of the fee refunded),
merchant -> customer (or -> acquirer clearing, then issuer clearing -> customer) ``amount``.

>>> fee_for(1234, 38), fee_for(100, 38), fee_for(0, 38)
(5, 0, 0)
>>> fee_refund_for(fee=5, amount=1234, refunded_before=0, refund=617)
2
>>> fee_refund_for(fee=5, amount=1234, refunded_before=617, refund=617)
3
>>> derive_id("zhifu", "pay", "P1", "principal") == derive_id("zhifu", "pay", "P1", "principal")
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

from zhifu.crypto.hashes import sm3
from zhifu.ledger import Transfer, TransferFlags
from zhifu.ledger.chart import LEDGER_CNY
from zhifu.ledger.model import ID_MAX

CODE_PAYMENT: Final = 1
CODE_FEE: Final = 2
CODE_REFUND: Final = 3
CODE_FEE_REFUND: Final = 4
CODE_TOP_UP: Final = 5

SYSTEM_ACCOUNTS: Final[dict[str, int]] = {
    "fee_income": 60211,
    "acquirer_clearing": 30011,
    "issuer_clearing": 30012,
    "reserve_custody": 10111,
}
"""role -> chart code of the accounts every institution's ledger opens."""
CUSTOMER_CODE: Final = 22411
MERCHANT_CODE: Final = 22412


def derive_id(*parts: str) -> int:
    """A 128-bit ledger id from names: SM3 of the parts joined by ``|``, first 16 bytes."""
    value = int.from_bytes(sm3("|".join(parts).encode("utf-8"))[:16], "big")
    return value if 0 < value < ID_MAX else 1 + (value % (ID_MAX - 1))


@functools.lru_cache(maxsize=4096)
def system_account(institution: str, role: str) -> int:
    return derive_id(institution, "system", role)


@functools.lru_cache(maxsize=65536)
def customer_account(institution: str, account_id: str) -> int:
    return derive_id(institution, "customer", account_id)


@functools.lru_cache(maxsize=65536)
def merchant_account(institution: str, merchant_id: str) -> int:
    return derive_id(institution, "merchant", merchant_id)


def fee_for(amount: int, fee_bp: int) -> int:
    """The merchant fee of ``amount`` at ``fee_bp`` basis points, rounded half up."""
    return (amount * fee_bp + 5_000) // 10_000


def fee_refund_for(*, fee: int, amount: int, refunded_before: int, refund: int) -> int:
    """The part of ``fee`` given back with ``refund``: proportional and cumulative, so the
    fee refunds of several partial refunds add up to exactly ``fee`` when all is refunded."""
    before = fee * refunded_before // amount
    after = fee * (refunded_before + refund) // amount
    return after - before


@dataclass(frozen=True, slots=True)
class Leg:
    """The transfers one institution's ledger must apply (a linked chain)."""

    institution: str
    transfers: tuple[Transfer, ...]


def _chain(pairs: list[tuple[int, int, int, int, int]], tag: int) -> tuple[Transfer, ...]:
    moving = [p for p in pairs if p[3] > 0]
    out = []
    for i, (tid, debit, credit, amount, code) in enumerate(moving):
        flags = TransferFlags.LINKED if i < len(moving) - 1 else TransferFlags.NONE
        out.append(Transfer(tid, debit, credit, amount, LEDGER_CNY, code, flags, user_data_128=tag))
    return tuple(out)


def payment_legs(
    payment_id: str,
    *,
    issuer: str,
    acquirer: str,
    account_id: str,
    merchant_id: str,
    amount: int,
    fee: int,
) -> tuple[Leg, ...]:
    """The legs of a payment: one (same institution) or two (issuer first, then acquirer)."""
    tag = derive_id("payment", payment_id)
    customer = customer_account(issuer, account_id)
    merchant = merchant_account(acquirer, merchant_id)
    fee_income = system_account(acquirer, "fee_income")
    fee_row = (derive_id(acquirer, "pay", payment_id, "fee"), merchant, fee_income, fee, CODE_FEE)
    if issuer == acquirer:
        principal = (derive_id(issuer, "pay", payment_id, "principal"), customer, merchant)
        return (Leg(issuer, _chain([(*principal, amount, CODE_PAYMENT), fee_row], tag)),)
    due_to = system_account(issuer, "issuer_clearing")
    due_from = system_account(acquirer, "acquirer_clearing")
    issuer_row = (derive_id(issuer, "pay", payment_id, "issuer"), customer, due_to)
    acquirer_row = (derive_id(acquirer, "pay", payment_id, "acquirer"), due_from, merchant)
    return (
        Leg(issuer, _chain([(*issuer_row, amount, CODE_PAYMENT)], tag)),
        Leg(acquirer, _chain([(*acquirer_row, amount, CODE_PAYMENT), fee_row], tag)),
    )


def refund_legs(
    refund_id: str,
    *,
    issuer: str,
    acquirer: str,
    account_id: str,
    merchant_id: str,
    amount: int,
    fee_refund: int,
) -> tuple[Leg, ...]:
    """The legs of a refund: the acquirer's first (it is the one that may lack funds)."""
    tag = derive_id("refund", refund_id)
    customer = customer_account(issuer, account_id)
    merchant = merchant_account(acquirer, merchant_id)
    fee_income = system_account(acquirer, "fee_income")
    fee_row = (
        derive_id(acquirer, "refund", refund_id, "fee"),
        fee_income,
        merchant,
        fee_refund,
        CODE_FEE_REFUND,
    )
    if issuer == acquirer:
        principal = (derive_id(acquirer, "refund", refund_id, "principal"), merchant, customer)
        return (Leg(acquirer, _chain([fee_row, (*principal, amount, CODE_REFUND)], tag)),)
    due_from = system_account(acquirer, "acquirer_clearing")
    due_to = system_account(issuer, "issuer_clearing")
    acquirer_row = (derive_id(acquirer, "refund", refund_id, "acquirer"), merchant, due_from)
    issuer_row = (derive_id(issuer, "refund", refund_id, "issuer"), due_to, customer)
    return (
        Leg(acquirer, _chain([fee_row, (*acquirer_row, amount, CODE_REFUND)], tag)),
        Leg(issuer, _chain([(*issuer_row, amount, CODE_REFUND)], tag)),
    )


def top_up(institution: str, account_id: str, amount: int, reference: str) -> Transfer:
    """Fund a wallet: reserve custody (asset) -> the customer's balance (what is owed)."""
    return Transfer(
        derive_id(institution, "top_up", reference),
        system_account(institution, "reserve_custody"),
        customer_account(institution, account_id),
        amount,
        LEDGER_CNY,
        CODE_TOP_UP,
    )
