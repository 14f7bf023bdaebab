"""The validation rules of the engine, in precedence order, and its working state.

Each ``check_*`` function returns the first result that applies, following the declaration
order of :class:`~zhifu.ledger.results.CreateTransferResult` (0 when the event is acceptable).

>>> from zhifu.ledger.model import Transfer
>>> _R(check_header(Transfer(0, 1, 2, 5, 156, 1), 0)).name
'ID_MUST_NOT_BE_ZERO'
>>> _R(check_header(Transfer(7, 1, 2, 5, 156, 1, flags=1 << 9), 1 << 9)).name
'RESERVED_FLAG'
"""

from __future__ import annotations

from collections import defaultdict
from typing import Final

from zhifu.ledger.model import (
    ACCOUNT_FLAGS_KNOWN,
    AMOUNT_MAX,
    BALANCE_MAX,
    ID_MAX,
    NS_PER_SECOND,
    TIMESTAMP_MAX,
    TRANSFER_FLAGS_KNOWN,
    Account,
    AccountFlags,
    PendingState,
    Transfer,
    TransferFlags,
)
from zhifu.ledger.results import CreateAccountResult, CreateTransferResult
from zhifu.ledger.state import AccountState, Pending

_R = CreateTransferResult
_A = CreateAccountResult
NS: Final = NS_PER_SECOND
PENDING: Final = int(TransferFlags.PENDING)
POST: Final = int(TransferFlags.POST_PENDING_TRANSFER)
VOID: Final = int(TransferFlags.VOID_PENDING_TRANSFER)
POST_OR_VOID: Final = POST | VOID
_DMNEC: Final = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CMNED: Final = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
__all__ = ["BALANCE_MAX", "NS", "AccountState", "Pending"]


def check_account(a: Account, existing: AccountState | None) -> int:  # noqa: PLR0911 - a precedence chain: one return per result
    """The first result that applies to creating ``a``."""
    if a.timestamp:
        return _A.TIMESTAMP_MUST_BE_ZERO
    flags = int(a.flags)
    if flags & ~ACCOUNT_FLAGS_KNOWN:
        return _A.RESERVED_FLAG
    if a.id == 0:
        return _A.ID_MUST_NOT_BE_ZERO
    if a.id == ID_MAX:
        return _A.ID_MUST_NOT_BE_INT_MAX
    if existing is not None:
        return _compare_account(a, existing)
    if flags & _DMNEC and flags & _CMNED:
        return _A.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    if a.debits_pending:
        return _A.DEBITS_PENDING_MUST_BE_ZERO
    if a.debits_posted:
        return _A.DEBITS_POSTED_MUST_BE_ZERO
    if a.credits_pending:
        return _A.CREDITS_PENDING_MUST_BE_ZERO
    if a.credits_posted:
        return _A.CREDITS_POSTED_MUST_BE_ZERO
    if a.ledger == 0:
        return _A.LEDGER_MUST_NOT_BE_ZERO
    if a.code == 0:
        return _A.CODE_MUST_NOT_BE_ZERO
    return _A.OK


def _compare_account(a: Account, e: AccountState) -> int:  # noqa: PLR0911 - a precedence chain: one return per result
    if a.flags != e.flags:
        return _A.EXISTS_WITH_DIFFERENT_FLAGS
    if a.user_data_128 != e.user_data_128:
        return _A.EXISTS_WITH_DIFFERENT_USER_DATA_128
    if a.user_data_64 != e.user_data_64:
        return _A.EXISTS_WITH_DIFFERENT_USER_DATA_64
    if a.user_data_32 != e.user_data_32:
        return _A.EXISTS_WITH_DIFFERENT_USER_DATA_32
    if a.ledger != e.ledger:
        return _A.EXISTS_WITH_DIFFERENT_LEDGER
    if a.code != e.code:
        return _A.EXISTS_WITH_DIFFERENT_CODE
    return _A.EXISTS


def check_header(t: Transfer, flags: int) -> int:
    """Results that need nothing but the event (timestamp, flags, id)."""
    if t.timestamp:
        return _R.TIMESTAMP_MUST_BE_ZERO
    if flags & ~TRANSFER_FLAGS_KNOWN:
        return _R.RESERVED_FLAG
    if t.id == 0:
        return _R.ID_MUST_NOT_BE_ZERO
    if t.id == ID_MAX:
        return _R.ID_MUST_NOT_BE_INT_MAX
    return 0


def resolved(t: Transfer, p: Transfer, amount: int, timestamp: int) -> Transfer:
    """A post or void transfer with the fields it leaves at zero taken from its pending one."""
    return Transfer(
        t.id,
        t.debit_account_id or p.debit_account_id,
        t.credit_account_id or p.credit_account_id,
        amount,
        t.ledger or p.ledger,
        t.code or p.code,
        t.flags,
        t.pending_id,
        0,
        t.user_data_128 or p.user_data_128,
        t.user_data_64 or p.user_data_64,
        t.user_data_32 or p.user_data_32,
        timestamp,
    )


def compare_transfer(t: Transfer, flags: int, e: Transfer, p: Transfer | None) -> int:  # noqa: PLR0911, PLR0912 - a precedence chain: one return per result
    """``EXISTS`` or the first field in which ``t`` differs from the stored ``e``."""
    if flags != e.flags:
        return _R.EXISTS_WITH_DIFFERENT_FLAGS
    if t.pending_id != e.pending_id:
        return _R.EXISTS_WITH_DIFFERENT_PENDING_ID
    if t.timeout != e.timeout:
        return _R.EXISTS_WITH_DIFFERENT_TIMEOUT
    if flags & POST_OR_VOID:
        assert p is not None, "a stored post/void transfer has its pending transfer"
        amount = t.amount
        if (flags & POST and amount == AMOUNT_MAX) or (flags & VOID and amount == 0):
            amount = p.amount
        t = resolved(t, p, amount, 0)
    if t.debit_account_id != e.debit_account_id:
        return _R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID
    if t.credit_account_id != e.credit_account_id:
        return _R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID
    if t.amount != e.amount:
        return _R.EXISTS_WITH_DIFFERENT_AMOUNT
    if t.user_data_128 != e.user_data_128:
        return _R.EXISTS_WITH_DIFFERENT_USER_DATA_128
    if t.user_data_64 != e.user_data_64:
        return _R.EXISTS_WITH_DIFFERENT_USER_DATA_64
    if t.user_data_32 != e.user_data_32:
        return _R.EXISTS_WITH_DIFFERENT_USER_DATA_32
    if t.ledger != e.ledger:
        return _R.EXISTS_WITH_DIFFERENT_LEDGER
    if t.code != e.code:
        return _R.EXISTS_WITH_DIFFERENT_CODE
    return _R.EXISTS


def check_single(
    t: Transfer, flags: int, accounts: dict[int, AccountState], timestamp: int
) -> tuple[int, AccountState | None, AccountState | None]:
    """Checks of a single-phase or pending transfer, up to the balance limits."""
    result = _check_fields(t, flags)
    if result:
        return result, None, None
    debit = accounts.get(t.debit_account_id)
    if debit is None:
        return _R.DEBIT_ACCOUNT_NOT_FOUND, None, None
    credit = accounts.get(t.credit_account_id)
    if credit is None:
        return _R.CREDIT_ACCOUNT_NOT_FOUND, None, None
    if debit.ledger != credit.ledger:
        return _R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER, None, None
    if t.ledger != debit.ledger:
        return _R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS, None, None
    return _check_balances(t, flags, debit, credit, timestamp), debit, credit


def _check_fields(t: Transfer, flags: int) -> int:  # noqa: PLR0911 - a precedence chain: one return per result
    if t.debit_account_id == 0:
        return _R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
    if t.debit_account_id == ID_MAX:
        return _R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX
    if t.credit_account_id == 0:
        return _R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
    if t.credit_account_id == ID_MAX:
        return _R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX
    if t.debit_account_id == t.credit_account_id:
        return _R.ACCOUNTS_MUST_BE_DIFFERENT
    if t.pending_id:
        return _R.PENDING_ID_MUST_BE_ZERO
    if t.timeout and not flags & PENDING:
        return _R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
    if t.ledger == 0:
        return _R.LEDGER_MUST_NOT_BE_ZERO
    if t.code == 0:
        return _R.CODE_MUST_NOT_BE_ZERO
    return 0


def _check_balances(  # noqa: PLR0911 - a precedence chain: one return per result
    t: Transfer, flags: int, dr: AccountState, cr: AccountState, timestamp: int
) -> int:
    amount = t.amount
    if flags & PENDING:
        if dr.debits_pending + amount > BALANCE_MAX:
            return _R.OVERFLOWS_DEBITS_PENDING
        if cr.credits_pending + amount > BALANCE_MAX:
            return _R.OVERFLOWS_CREDITS_PENDING
    else:
        if dr.debits_posted + amount > BALANCE_MAX:
            return _R.OVERFLOWS_DEBITS_POSTED
        if cr.credits_posted + amount > BALANCE_MAX:
            return _R.OVERFLOWS_CREDITS_POSTED
    if dr.debits_pending + dr.debits_posted + amount > BALANCE_MAX:
        return _R.OVERFLOWS_DEBITS
    if cr.credits_pending + cr.credits_posted + amount > BALANCE_MAX:
        return _R.OVERFLOWS_CREDITS
    if t.timeout and timestamp + t.timeout * NS > TIMESTAMP_MAX:
        return _R.OVERFLOWS_TIMEOUT
    if dr.flags & _DMNEC and dr.debits_pending + dr.debits_posted + amount > dr.credits_posted:
        return _R.EXCEEDS_CREDITS
    if cr.flags & _CMNED and cr.credits_pending + cr.credits_posted + amount > cr.debits_posted:
        return _R.EXCEEDS_DEBITS
    return 0


def check_post_or_void(  # noqa: PLR0911, PLR0912 - a precedence chain: one return per result
    t: Transfer, flags: int, p: Transfer | None, pending: Pending | None, timestamp: int
) -> tuple[int, int]:
    """Checks of a post or void transfer against its pending transfer; (result, amount)."""
    if flags & PENDING or (flags & POST and flags & VOID):
        return _R.FLAGS_ARE_MUTUALLY_EXCLUSIVE, 0
    if t.pending_id == 0:
        return _R.PENDING_ID_MUST_NOT_BE_ZERO, 0
    if t.pending_id == ID_MAX:
        return _R.PENDING_ID_MUST_NOT_BE_INT_MAX, 0
    if t.pending_id == t.id:
        return _R.PENDING_ID_MUST_BE_DIFFERENT, 0
    if t.timeout:
        return _R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER, 0
    if p is None:
        return _R.PENDING_TRANSFER_NOT_FOUND, 0
    if not int(p.flags) & PENDING:
        return _R.PENDING_TRANSFER_NOT_PENDING, 0
    assert pending is not None, "the store loads the state of every pending transfer it loads"
    if t.debit_account_id and t.debit_account_id != p.debit_account_id:
        return _R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID, 0
    if t.credit_account_id and t.credit_account_id != p.credit_account_id:
        return _R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID, 0
    if t.ledger and t.ledger != p.ledger:
        return _R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER, 0
    if t.code and t.code != p.code:
        return _R.PENDING_TRANSFER_HAS_DIFFERENT_CODE, 0
    amount = t.amount
    full = AMOUNT_MAX if flags & POST else 0  # the amount that means "all of it"
    amount = p.amount if amount == full else amount
    if amount > p.amount:
        return _R.EXCEEDS_PENDING_TRANSFER_AMOUNT, 0
    if flags & VOID and amount < p.amount:
        return _R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT, 0
    return _pending_state(pending, timestamp), amount


def _pending_state(pending: Pending, timestamp: int) -> int:
    state = pending.state
    if state == PendingState.POSTED:
        return _R.PENDING_TRANSFER_ALREADY_POSTED
    if state == PendingState.VOIDED:
        return _R.PENDING_TRANSFER_ALREADY_VOIDED
    if state == PendingState.EXPIRED:
        return _R.PENDING_TRANSFER_EXPIRED
    if 0 < pending.expires_at <= timestamp:
        return _R.PENDING_TRANSFER_EXPIRED
    return 0


def assert_invariants(created: list[AccountState], changed: list[AccountState]) -> None:
    """Conservation per ledger over what moved; no negative balance; flag limits hold."""
    moved: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for account in (*created, *changed):
        balances = account.balances()
        assert all(0 <= b <= BALANCE_MAX for b in balances), f"balance out of range {account.id}"
        total = moved[account.ledger]
        for i, (now, before) in enumerate(zip(balances, account.origin, strict=True)):
            total[i] += now - before
        dp, dpo, cp, cpo = balances
        if account.flags & _DMNEC:
            assert dp + dpo <= cpo, f"debits exceed credits on {account.id}"
        if account.flags & _CMNED:
            assert cp + cpo <= dpo, f"credits exceed debits on {account.id}"
    for ledger, (dp, dpo, cp, cpo) in moved.items():
        assert dp == cp and dpo == cpo, f"ledger {ledger} does not balance"
