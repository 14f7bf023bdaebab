"""The issuer's side of the books: accounts, transfer ids and the transfers of each kind.

Ids come from names (:func:`zhifu.ledger.ids.derive_id`): the card's account from its PAN key,
each transfer from the transaction id and what the transfer is, so a retry or a second host
computes the same id and the ledger answers ``EXISTS``. Transfer codes (the ledger's ``code``):

======  =======================================================
code    movement
======  =======================================================
1       opening deposit (issuer funding → cardholder)
2       purchase / offline sale (cardholder → issuer clearing)
3       pre-authorisation hold (pending), and its completion
4       void, refund, reversal (issuer clearing → cardholder)
5       e-cash load (cardholder → the card's e-cash pool), and back
======  =======================================================

>>> card_account("k1") == card_account("k1") != card_account("k2")
True
>>> txn = "10000001-000001-000001"
>>> transfer_id("purchase", txn) != transfer_id("reversal", txn)
True
"""

from __future__ import annotations

import functools
from typing import Final

from zhifu.ledger import Account, AccountFlags, Ledger, Transfer, TransferFlags
from zhifu.ledger.chart import BY_KEY, LEDGER_CNY
from zhifu.ledger.ids import derive_id
from zhifu.ledger.results import CreateAccountResult, CreateTransferResult

__all__ = [
    "CODE_ECASH",
    "CODE_HOLD",
    "CODE_OPENING",
    "CODE_PURCHASE",
    "CODE_RETURN",
    "HOLD_TIMEOUT_SECONDS",
    "ISSUER_CLEARING",
    "ISSUER_FUNDING",
    "card_account",
    "ecash_account",
    "open_system_accounts",
    "post",
    "transfer_id",
]

CODE_OPENING: Final = 1
CODE_PURCHASE: Final = 2
CODE_HOLD: Final = 3
CODE_RETURN: Final = 4
CODE_ECASH: Final = 5
HOLD_TIMEOUT_SECONDS: Final = 30 * 86_400
"""A pre-authorisation hold expires after 30 days unless completed or voided."""

ISSUER_CLEARING: Final = derive_id("issuer", "system", "issuer_clearing")
ISSUER_FUNDING: Final = derive_id("issuer", "system", "pboc_reserve")
_OK: Final = (CreateAccountResult.OK, CreateAccountResult.EXISTS)


@functools.lru_cache(maxsize=65_536)
def card_account(pan_key: str) -> int:
    """The cardholder account of a card."""
    return derive_id("issuer", "card", pan_key)


@functools.lru_cache(maxsize=65_536)
def ecash_account(pan_key: str) -> int:
    """The e-cash pool account of a card."""
    return derive_id("issuer", "ecash", pan_key)


def transfer_id(step: str, transaction_id: str) -> int:
    """The id of ``step`` (purchase, hold, completion, return, reversal...) of a transaction."""
    return derive_id("issuer", step, transaction_id)


def open_system_accounts(ledger: Ledger) -> None:
    """Open the issuer's clearing and funding accounts (idempotent)."""
    accounts = [
        Account(ISSUER_CLEARING, LEDGER_CNY, BY_KEY["issuer_clearing"].code),
        Account(ISSUER_FUNDING, LEDGER_CNY, BY_KEY["pboc_reserve"].code),
    ]
    results = ledger.create_accounts(accounts)
    if any(r not in _OK for r in results):
        raise RuntimeError(f"the issuer's system accounts did not open: {results}")


def open_card_accounts(ledger: Ledger, pan_key: str, chart_code: int, credit: bool) -> None:
    """Open a card's account and e-cash pool (idempotent)."""
    flags = AccountFlags.NONE if credit else AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    accounts = [
        Account(card_account(pan_key), LEDGER_CNY, chart_code, flags),
        Account(ecash_account(pan_key), LEDGER_CNY, BY_KEY["card_ecash_pool"].code,
                AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
    ]  # fmt: skip
    results = ledger.create_accounts(accounts)
    if any(r not in _OK for r in results):
        raise RuntimeError(f"the card's accounts did not open: {results}")


def post(ledger: Ledger, transfer: Transfer) -> CreateTransferResult:
    """Create one transfer; ``EXISTS`` counts as done."""
    result = ledger.create_transfers([transfer])[0]
    return CreateTransferResult.OK if result is CreateTransferResult.EXISTS else result


def movement(step: str, transaction_id: str, route: tuple[int, int, int], amount: int) -> Transfer:
    """A posted transfer of ``step`` for a transaction; ``route`` is (debit, credit, code)."""
    debit, credit, code = route
    return Transfer(transfer_id(step, transaction_id), debit, credit, amount, LEDGER_CNY, code)


def hold(transaction_id: str, debit: int, amount: int) -> Transfer:
    """The pending transfer of a pre-authorisation."""
    return Transfer(
        transfer_id("hold", transaction_id), debit, ISSUER_CLEARING, amount, LEDGER_CNY,
        CODE_HOLD, TransferFlags.PENDING, timeout=HOLD_TIMEOUT_SECONDS,
    )  # fmt: skip


def settle_hold(
    step: str, transaction_id: str, original_id: str, amount: int, *, post_it: bool
) -> Transfer:
    """Post (for ``amount``, at most the held amount) or void the hold of ``original_id``."""
    flag = TransferFlags.POST_PENDING_TRANSFER if post_it else TransferFlags.VOID_PENDING_TRANSFER
    return Transfer(
        transfer_id(step, transaction_id), 0, 0, amount, LEDGER_CNY, CODE_HOLD, flag,
        pending_id=transfer_id("hold", original_id),
    )  # fmt: skip
