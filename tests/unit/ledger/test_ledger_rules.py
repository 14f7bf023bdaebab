# ruff: noqa: E501 - the precedence table reads best one case per line
"""The result enums (frozen numbers, precedence) and the pure engine, event by event.

Precedence cases follow TigerBeetle's documented order of results (docs/reference/requests/
create_transfers.md, "Results are listed in this section in order of descending precedence").
"""

from __future__ import annotations

import pytest

from zhifu.ledger.engine import Batch, View
from zhifu.ledger.model import (
    AMOUNT_MAX,
    BALANCE_MAX,
    ID_MAX,
    NS_PER_SECOND,
    TIMESTAMP_MAX,
    Account,
    AccountFlags,
    Transfer,
    TransferFlags,
)
from zhifu.ledger.results import CreateAccountResult as A
from zhifu.ledger.results import CreateTransferResult as R

F = TransferFlags
DMNEC = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CMNED = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS

FROZEN_TRANSFER = {
    "OK": 0, "LINKED_EVENT_FAILED": 1, "LINKED_EVENT_CHAIN_OPEN": 2,
    "TIMESTAMP_MUST_BE_ZERO": 3, "RESERVED_FLAG": 4, "ID_MUST_NOT_BE_ZERO": 5,
    "ID_MUST_NOT_BE_INT_MAX": 6, "EXISTS_WITH_DIFFERENT_FLAGS": 7,
    "EXISTS_WITH_DIFFERENT_PENDING_ID": 8, "EXISTS_WITH_DIFFERENT_TIMEOUT": 9,
    "EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID": 10, "EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID": 11,
    "EXISTS_WITH_DIFFERENT_AMOUNT": 12, "EXISTS_WITH_DIFFERENT_USER_DATA_128": 13,
    "EXISTS_WITH_DIFFERENT_USER_DATA_64": 14, "EXISTS_WITH_DIFFERENT_USER_DATA_32": 15,
    "EXISTS_WITH_DIFFERENT_LEDGER": 16, "EXISTS_WITH_DIFFERENT_CODE": 17, "EXISTS": 18,
    "ID_ALREADY_FAILED": 19, "FLAGS_ARE_MUTUALLY_EXCLUSIVE": 20,
    "DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO": 21, "DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX": 22,
    "CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO": 23, "CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX": 24,
    "ACCOUNTS_MUST_BE_DIFFERENT": 25, "PENDING_ID_MUST_BE_ZERO": 26,
    "PENDING_ID_MUST_NOT_BE_ZERO": 27, "PENDING_ID_MUST_NOT_BE_INT_MAX": 28,
    "PENDING_ID_MUST_BE_DIFFERENT": 29, "TIMEOUT_RESERVED_FOR_PENDING_TRANSFER": 30,
    "LEDGER_MUST_NOT_BE_ZERO": 31, "CODE_MUST_NOT_BE_ZERO": 32, "DEBIT_ACCOUNT_NOT_FOUND": 33,
    "CREDIT_ACCOUNT_NOT_FOUND": 34, "ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER": 35,
    "TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS": 36, "PENDING_TRANSFER_NOT_FOUND": 37,
    "PENDING_TRANSFER_NOT_PENDING": 38, "PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID": 39,
    "PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID": 40,
    "PENDING_TRANSFER_HAS_DIFFERENT_LEDGER": 41, "PENDING_TRANSFER_HAS_DIFFERENT_CODE": 42,
    "EXCEEDS_PENDING_TRANSFER_AMOUNT": 43, "PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT": 44,
    "PENDING_TRANSFER_ALREADY_POSTED": 45, "PENDING_TRANSFER_ALREADY_VOIDED": 46,
    "PENDING_TRANSFER_EXPIRED": 47, "OVERFLOWS_DEBITS_PENDING": 48,
    "OVERFLOWS_CREDITS_PENDING": 49, "OVERFLOWS_DEBITS_POSTED": 50,
    "OVERFLOWS_CREDITS_POSTED": 51, "OVERFLOWS_DEBITS": 52, "OVERFLOWS_CREDITS": 53,
    "OVERFLOWS_TIMEOUT": 54, "EXCEEDS_CREDITS": 55, "EXCEEDS_DEBITS": 56,
}  # fmt: skip


def test_transfer_result_numbers_are_frozen_and_in_precedence_order() -> None:
    assert {r.name: r.value for r in R} == FROZEN_TRANSFER
    assert [r.value for r in R] == sorted(r.value for r in R)


def test_account_result_numbers_are_frozen() -> None:
    names = [r.name for r in A]
    assert names[:3] == ["OK", "LINKED_EVENT_FAILED", "LINKED_EVENT_CHAIN_OPEN"]
    assert [r.value for r in A] == list(range(len(names)))
    assert A.EXISTS == 13 and A.CODE_MUST_NOT_BE_ZERO == 20


def test_transient_results() -> None:
    assert {r for r in R if r.transient} == {
        R.DEBIT_ACCOUNT_NOT_FOUND,
        R.CREDIT_ACCOUNT_NOT_FOUND,
        R.PENDING_TRANSFER_NOT_FOUND,
        R.EXCEEDS_CREDITS,
        R.EXCEEDS_DEBITS,
    }
    assert not any(r.transient for r in A)


def _batch() -> Batch:
    batch = Batch(View(), timestamp=1_000_000)
    accounts = [
        Account(1, 156, 10, DMNEC),
        Account(2, 156, 20),
        Account(3, 156, 30, CMNED),
        Account(4, 840, 40),
        Account(5, 156, 50),
    ]
    assert set(batch.create_accounts(accounts)) == {A.OK}
    setup = [
        Transfer(90, 2, 1, 1_000, 156, 1),  # account 1 holds 1,000
        Transfer(91, 3, 2, 1, 156, 1),  # account 3 has debits of 1 only... (credits 0)
        Transfer(92, 1, 2, 300, 156, 7, F.PENDING, timeout=10),
        Transfer(93, 2, 5, 5, 156, 1),
    ]
    assert batch.create_transfers(setup) == [R.OK] * 4
    return batch


CASES = [
    ("ok", Transfer(100, 2, 1, 5, 156, 1), R.OK),
    ("timestamp", Transfer(0, 0, 0, 0, 0, 0, timestamp=5), R.TIMESTAMP_MUST_BE_ZERO),
    ("reserved flag", Transfer(0, 0, 0, 0, 0, 0, flags=1 << 4), R.RESERVED_FLAG),
    ("id zero", Transfer(0, 0, 0, 0, 0, 0, F.PENDING | F.POST_PENDING_TRANSFER), R.ID_MUST_NOT_BE_ZERO),
    ("id max", Transfer(ID_MAX, 0, 0, 0, 0, 0), R.ID_MUST_NOT_BE_INT_MAX),
    ("exists beats validation", Transfer(90, 2, 1, 1_000, 156, 1), R.EXISTS),
    ("exists flags", Transfer(90, 0, 0, 0, 0, 0, F.PENDING), R.EXISTS_WITH_DIFFERENT_FLAGS),
    ("exists pending_id", Transfer(90, 0, 0, 0, 0, 0, pending_id=3), R.EXISTS_WITH_DIFFERENT_PENDING_ID),
    ("exists timeout", Transfer(90, 0, 0, 0, 0, 0, timeout=3), R.EXISTS_WITH_DIFFERENT_TIMEOUT),
    ("exists debit", Transfer(90, 5, 0, 0, 0, 0), R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID),
    ("exists credit", Transfer(90, 2, 5, 0, 0, 0), R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID),
    ("exists amount", Transfer(90, 2, 1, 999, 0, 0), R.EXISTS_WITH_DIFFERENT_AMOUNT),
    ("exists ud128", Transfer(90, 2, 1, 1_000, 0, 0, user_data_128=1), R.EXISTS_WITH_DIFFERENT_USER_DATA_128),
    ("exists ud64", Transfer(90, 2, 1, 1_000, 0, 0, user_data_64=1), R.EXISTS_WITH_DIFFERENT_USER_DATA_64),
    ("exists ud32", Transfer(90, 2, 1, 1_000, 0, 0, user_data_32=1), R.EXISTS_WITH_DIFFERENT_USER_DATA_32),
    ("exists ledger", Transfer(90, 2, 1, 1_000, 840, 0), R.EXISTS_WITH_DIFFERENT_LEDGER),
    ("exists code", Transfer(90, 2, 1, 1_000, 156, 2), R.EXISTS_WITH_DIFFERENT_CODE),
    ("flags exclusive", Transfer(101, 0, 0, 0, 0, 0, F.PENDING | F.VOID_PENDING_TRANSFER), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
    ("post+void", Transfer(101, 0, 0, 0, 0, 0, F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
    ("debit zero", Transfer(101, 0, 0, 0, 0, 0), R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
    ("debit max", Transfer(101, ID_MAX, 0, 0, 0, 0), R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX),
    ("credit zero", Transfer(101, 1, 0, 0, 0, 0), R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
    ("credit max", Transfer(101, 1, ID_MAX, 0, 0, 0), R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX),
    ("same accounts", Transfer(101, 1, 1, 0, 0, 0, pending_id=5), R.ACCOUNTS_MUST_BE_DIFFERENT),
    ("pending_id on single", Transfer(101, 1, 2, 0, 0, 0, pending_id=5, timeout=1), R.PENDING_ID_MUST_BE_ZERO),
    ("timeout on single", Transfer(101, 1, 2, 0, 0, 0, timeout=1), R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
    ("ledger zero", Transfer(101, 1, 2, 0, 0, 0), R.LEDGER_MUST_NOT_BE_ZERO),
    ("code zero", Transfer(101, 1, 2, 0, 156, 0), R.CODE_MUST_NOT_BE_ZERO),
    ("debit not found", Transfer(101, 77, 78, 1, 156, 1), R.DEBIT_ACCOUNT_NOT_FOUND),
    ("credit not found", Transfer(101, 1, 78, 1, 156, 1), R.CREDIT_ACCOUNT_NOT_FOUND),
    ("ledgers differ", Transfer(101, 1, 4, 1, 156, 1), R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER),
    ("transfer ledger", Transfer(101, 1, 2, 1, 840, 1), R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS),
    ("overflow pending", Transfer(101, 5, 2, BALANCE_MAX, 156, 1, F.PENDING), R.OVERFLOWS_CREDITS_PENDING),
    ("overflow debits", Transfer(101, 2, 5, BALANCE_MAX - 1_000, 156, 1, F.PENDING), R.OVERFLOWS_DEBITS),
    ("overflow posted", Transfer(101, 2, 1, BALANCE_MAX, 156, 1), R.OVERFLOWS_DEBITS_POSTED),
    ("overflow amount", Transfer(101, 5, 2, AMOUNT_MAX, 156, 1), R.OVERFLOWS_DEBITS_POSTED),
    ("exceeds credits", Transfer(101, 1, 2, 701, 156, 1), R.EXCEEDS_CREDITS),
    ("exactly the credits", Transfer(101, 1, 2, 700, 156, 1), R.OK),
    ("exceeds debits", Transfer(101, 2, 3, 2, 156, 1), R.EXCEEDS_DEBITS),
    ("pending id zero", Transfer(101, 0, 0, 0, 0, 0, F.POST_PENDING_TRANSFER), R.PENDING_ID_MUST_NOT_BE_ZERO),
    ("pending id max", Transfer(101, 0, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=ID_MAX), R.PENDING_ID_MUST_NOT_BE_INT_MAX),
    ("pending id self", Transfer(101, 0, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=101), R.PENDING_ID_MUST_BE_DIFFERENT),
    ("post timeout", Transfer(101, 0, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=92, timeout=1), R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
    ("pending not found", Transfer(101, 0, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=55), R.PENDING_TRANSFER_NOT_FOUND),
    ("not pending", Transfer(101, 0, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=90), R.PENDING_TRANSFER_NOT_PENDING),
    ("pending debit", Transfer(101, 2, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=92), R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID),
    ("pending credit", Transfer(101, 1, 1, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=92), R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID),
    ("pending ledger", Transfer(101, 1, 2, 0, 840, 0, F.VOID_PENDING_TRANSFER, pending_id=92), R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER),
    ("pending code", Transfer(101, 1, 2, 0, 156, 8, F.VOID_PENDING_TRANSFER, pending_id=92), R.PENDING_TRANSFER_HAS_DIFFERENT_CODE),
    ("post too much", Transfer(101, 0, 0, 301, 0, 0, F.POST_PENDING_TRANSFER, pending_id=92), R.EXCEEDS_PENDING_TRANSFER_AMOUNT),
    ("void partial", Transfer(101, 0, 0, 299, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=92), R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT),
    ("post partial", Transfer(101, 0, 0, 299, 0, 0, F.POST_PENDING_TRANSFER, pending_id=92), R.OK),
    ("post zero", Transfer(101, 0, 0, 0, 0, 0, F.POST_PENDING_TRANSFER, pending_id=92), R.OK),
    ("post all", Transfer(101, 1, 2, AMOUNT_MAX, 156, 7, F.POST_PENDING_TRANSFER, pending_id=92), R.OK),
    ("void all", Transfer(101, 0, 0, 300, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=92), R.OK),
]  # fmt: skip


@pytest.mark.parametrize(
    ("transfer", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_precedence(transfer: Transfer, expected: R) -> None:
    batch = _batch()
    assert batch.create_transfers([transfer]) == [expected]
    batch.finish()  # asserts conservation and limits on what moved


def test_post_then_void_then_expiry_resolve_at_most_once() -> None:
    batch = _batch()
    post = Transfer(101, 0, 0, 100, 0, 0, F.POST_PENDING_TRANSFER, pending_id=92)
    again = Transfer(102, 0, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=92)
    assert batch.create_transfers([post, again]) == [R.OK, R.PENDING_TRANSFER_ALREADY_POSTED]
    one = batch.view.accounts[1]
    assert (one.debits_pending, one.debits_posted) == (0, 100)
    assert batch.create_transfers([post]) == [R.EXISTS]
    zeros = Transfer(101, 0, 0, 100, 0, 0, F.POST_PENDING_TRANSFER, pending_id=92)
    assert batch.create_transfers([zeros]) == [R.EXISTS]
    full = Transfer(101, 0, 0, AMOUNT_MAX, 0, 0, F.POST_PENDING_TRANSFER, pending_id=92)
    assert batch.create_transfers([full]) == [R.EXISTS_WITH_DIFFERENT_AMOUNT]


def test_expiry_releases_and_refuses_a_late_post() -> None:
    batch = _batch()
    pending = batch.view.pending[92]
    batch.timestamp_next = pending.expires_at  # exactly at expiry: expired
    assert batch.expire([92]) == 1
    late = Transfer(101, 0, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id=92)
    assert batch.create_transfers([late]) == [R.PENDING_TRANSFER_EXPIRED]
    assert batch.view.accounts[1].debits_pending == 0
    changes = batch.finish()
    assert [p.state for p in changes.pending_new] == [4]


def test_linked_chain_fails_as_a_whole_and_burns_only_the_failed_id() -> None:
    batch = _batch()
    chain = [
        Transfer(201, 2, 1, 10, 156, 1, F.LINKED),
        Transfer(202, 1, 2, 10_000, 156, 1, F.LINKED),  # exceeds credits: transient
        Transfer(203, 2, 1, 10, 156, 1),
        Transfer(204, 2, 1, 10, 156, 1),
    ]
    before = batch.view.accounts[1].balances()
    assert batch.create_transfers(chain) == [
        R.LINKED_EVENT_FAILED,
        R.EXCEEDS_CREDITS,
        R.LINKED_EVENT_FAILED,
        R.OK,
    ]
    assert batch.view.accounts[1].credits_posted == before[3] + 10
    assert batch.create_transfers([chain[0], chain[1], chain[2]]) == [
        R.LINKED_EVENT_FAILED,
        R.ID_ALREADY_FAILED,
        R.LINKED_EVENT_FAILED,
    ]
    assert [f[0] for f in batch.finish().failures] == [202]


def test_chain_open_at_the_end_and_linked_pending_rolled_back() -> None:
    batch = _batch()
    chain = [
        Transfer(301, 1, 2, 50, 156, 1, F.LINKED | F.PENDING),
        Transfer(302, 0, 0, 50, 0, 0, F.LINKED | F.POST_PENDING_TRANSFER, pending_id=301),
    ]
    assert batch.create_transfers(chain) == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]
    assert 301 not in batch.view.transfers and 301 not in batch.view.pending
    chain[1].flags = F.POST_PENDING_TRANSFER
    assert batch.create_transfers(chain) == [R.OK, R.OK]
    assert batch.view.accounts[1].debits_posted == 50
    batch.finish()


def test_account_results() -> None:
    batch = Batch(View(), timestamp=10)
    events = [
        Account(1, 156, 1),
        Account(1, 156, 1),
        Account(1, 156, 2),
        Account(1, 840, 1),
        Account(1, 156, 1, AccountFlags.HISTORY),
        Account(2, 156, 1, DMNEC | CMNED),
        Account(2, 156, 1, debits_posted=1),
        Account(2, 0, 1),
        Account(2, 156, 0),
        Account(0, 156, 1),
        Account(2, 156, 1, timestamp=1),
        Account(2, 156, 1, flags=1 << 9),
        Account(3, 156, 1, AccountFlags.LINKED),
        Account(4, 156, 0),
        Account(5, 156, 1, AccountFlags.LINKED),
    ]
    assert batch.create_accounts(events) == [
        A.OK,
        A.EXISTS,
        A.EXISTS_WITH_DIFFERENT_CODE,
        A.EXISTS_WITH_DIFFERENT_LEDGER,
        A.EXISTS_WITH_DIFFERENT_FLAGS,
        A.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        A.DEBITS_POSTED_MUST_BE_ZERO,
        A.LEDGER_MUST_NOT_BE_ZERO,
        A.CODE_MUST_NOT_BE_ZERO,
        A.ID_MUST_NOT_BE_ZERO,
        A.TIMESTAMP_MUST_BE_ZERO,
        A.RESERVED_FLAG,
        A.LINKED_EVENT_FAILED,
        A.CODE_MUST_NOT_BE_ZERO,
        A.LINKED_EVENT_CHAIN_OPEN,
    ]
    assert [a.id for a in batch.finish().accounts_new] == [1]


def test_timestamps_are_consecutive_and_failed_events_use_one() -> None:
    batch = _batch()
    first = batch.timestamp_next
    batch.create_transfers([Transfer(0, 0, 0, 0, 0, 0), Transfer(400, 2, 1, 1, 156, 1)])
    assert batch.view.transfers[400].timestamp == first + 1


def test_timeout_overflow() -> None:
    batch = Batch(View(), timestamp=TIMESTAMP_MAX - 10 * NS_PER_SECOND)
    batch.create_accounts([Account(1, 156, 1), Account(2, 156, 1)])
    hold = Transfer(9, 1, 2, 1, 156, 1, F.PENDING, timeout=11)
    assert batch.create_transfers([hold]) == [R.OVERFLOWS_TIMEOUT]
