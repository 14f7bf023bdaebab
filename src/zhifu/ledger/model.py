"""Accounts, transfers and their flags: TigerBeetle's data model, in Python.

An :class:`Account` holds four balances in minor units (fen): ``debits_pending``,
``debits_posted``, ``credits_pending`` and ``credits_posted``. A :class:`Transfer` moves an
``amount`` from its debit account to its credit account on one ``ledger`` (a currency). Both
carry caller-chosen 128-bit ids, which is what makes retries idempotent.

The field names, flag names and flag bits are those of TigerBeetle's Python client
(``tigerbeetle.Account``, ``tigerbeetle.TransferFlags`` ...), so that callers can move to a
TigerBeetle cluster without changes. The balances are stored as signed 64-bit integers:
a balance that would pass :data:`BALANCE_MAX` is refused with an ``OVERFLOWS_*`` result.

>>> t = Transfer(id=2, debit_account_id=10, credit_account_id=20, amount=1234, ledger=156, code=1)
>>> t.flags
<TransferFlags.NONE: 0>
>>> TransferFlags.PENDING | TransferFlags.LINKED
<TransferFlags.LINKED|PENDING: 3>
>>> a = Account(10, 156, 20111, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
>>> a.credits_posted - a.debits_posted
0
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Final

from zhifu.core.errors import UsageError

ID_MAX: Final = (1 << 128) - 1  # reserved: an id must be neither 0 nor this
AMOUNT_MAX: Final = (1 << 128) - 1  # as a post amount: "post the whole pending amount"
U64_MAX: Final = (1 << 64) - 1
U32_MAX: Final = (1 << 32) - 1
U16_MAX: Final = (1 << 16) - 1
BALANCE_MAX: Final = (1 << 63) - 1  # the largest balance (and amount) the store can hold
TIMESTAMP_MAX: Final = (1 << 63) - 1
NS_PER_SECOND: Final = 1_000_000_000
BATCH_EVENTS_MAX: Final = 8190  # events per request, as in TigerBeetle


class AccountFlags(IntFlag):
    """Account behaviour (bit values as in TigerBeetle)."""

    NONE = 0
    LINKED = 1 << 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 1 << 2
    HISTORY = 1 << 3


class TransferFlags(IntFlag):
    """Transfer behaviour (bit values as in TigerBeetle)."""

    NONE = 0
    LINKED = 1 << 0
    PENDING = 1 << 1
    POST_PENDING_TRANSFER = 1 << 2
    VOID_PENDING_TRANSFER = 1 << 3


class AccountFilterFlags(IntFlag):
    """Which transfers :meth:`zhifu.ledger.Ledger.get_account_transfers` returns."""

    NONE = 0
    DEBITS = 1 << 0
    CREDITS = 1 << 1
    REVERSED = 1 << 2


class PendingState(IntEnum):
    """Where a pending transfer stands (stored; never goes back to PENDING)."""

    PENDING = 1
    POSTED = 2
    VOIDED = 3
    EXPIRED = 4


ACCOUNT_FLAGS_KNOWN: Final = int(
    AccountFlags.LINKED
    | AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    | AccountFlags.HISTORY
)
TRANSFER_FLAGS_KNOWN: Final = int(
    TransferFlags.LINKED
    | TransferFlags.PENDING
    | TransferFlags.POST_PENDING_TRANSFER
    | TransferFlags.VOID_PENDING_TRANSFER
)


@dataclass(slots=True)
class Account:
    """A ledger account. Create it with the first four fields; the rest are the ledger's."""

    id: int
    ledger: int
    code: int
    flags: AccountFlags | int = AccountFlags.NONE
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0
    timestamp: int = 0


@dataclass(slots=True)
class Transfer:
    """A movement of ``amount`` from the debit account to the credit account."""

    id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: int
    code: int
    flags: TransferFlags | int = TransferFlags.NONE
    pending_id: int = 0
    timeout: int = 0
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    timestamp: int = 0


@dataclass(slots=True)
class AccountBalance:
    """An account's balances right after a transfer (kept for accounts with ``HISTORY``)."""

    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class AccountFilter:
    """The query of ``get_account_transfers``/``get_account_balances`` (TigerBeetle's shape).

    ``timestamp_min``/``timestamp_max`` are inclusive; 0 means unbounded. ``limit`` is at most
    :data:`BATCH_EVENTS_MAX`.
    """

    account_id: int
    timestamp_min: int = 0
    timestamp_max: int = 0
    limit: int = BATCH_EVENTS_MAX
    flags: AccountFilterFlags = AccountFilterFlags.DEBITS | AccountFilterFlags.CREDITS


_ACCOUNT_RANGES: Final = (
    ("id", 1 << 128),
    ("ledger", 1 << 32),
    ("code", 1 << 16),
    ("flags", 1 << 16),
    ("user_data_128", 1 << 128),
    ("user_data_64", 1 << 64),
    ("user_data_32", 1 << 32),
    ("debits_pending", 1 << 128),
    ("debits_posted", 1 << 128),
    ("credits_pending", 1 << 128),
    ("credits_posted", 1 << 128),
    ("timestamp", 1 << 64),
)
_TRANSFER_RANGES: Final = (
    ("id", 1 << 128),
    ("debit_account_id", 1 << 128),
    ("credit_account_id", 1 << 128),
    ("amount", 1 << 128),
    ("ledger", 1 << 32),
    ("code", 1 << 16),
    ("flags", 1 << 16),
    ("pending_id", 1 << 128),
    ("timeout", 1 << 32),
    ("user_data_128", 1 << 128),
    ("user_data_64", 1 << 64),
    ("user_data_32", 1 << 32),
    ("timestamp", 1 << 64),
)


def _transfer_in_range(t: Transfer) -> bool:
    # One bitwise expression: a negative value, a value too wide or a non-int fails it.
    try:
        wide = t.id | t.debit_account_id | t.credit_account_id | t.amount | t.pending_id
        return (
            (wide | t.user_data_128) >> 128
            | (t.ledger | t.timeout | t.user_data_32) >> 32
            | (t.user_data_64 | t.timestamp) >> 64
            | t.code >> 16
            | t.flags >> 16
        ) == 0
    except TypeError:
        return False


def _account_in_range(a: Account) -> bool:
    try:
        wide = a.id | a.user_data_128 | a.debits_pending | a.debits_posted | a.credits_pending
        return (
            (wide | a.credits_posted) >> 128
            | (a.ledger | a.user_data_32) >> 32
            | (a.user_data_64 | a.timestamp) >> 64
            | a.code >> 16
            | a.flags >> 16
        ) == 0
    except TypeError:
        return False


def check_accounts(accounts: object) -> None:
    """Raise ``UsageError`` unless ``accounts`` is a list of in-range :class:`Account`."""
    _check_size(accounts, "accounts")
    assert isinstance(accounts, list | tuple)
    for index, a in enumerate(accounts):
        if type(a) is not Account or not _account_in_range(a):
            _explain(a, Account, _ACCOUNT_RANGES, f"accounts[{index}]")


def check_transfers(transfers: object) -> None:
    """Raise ``UsageError`` unless ``transfers`` is a list of in-range :class:`Transfer`."""
    _check_size(transfers, "transfers")
    assert isinstance(transfers, list | tuple)
    for index, t in enumerate(transfers):
        if type(t) is not Transfer or not _transfer_in_range(t):
            _explain(t, Transfer, _TRANSFER_RANGES, f"transfers[{index}]")


def _check_size(events: object, argument: str) -> None:
    if not isinstance(events, list | tuple):
        raise UsageError("expected a list", argument=argument)
    if len(events) > BATCH_EVENTS_MAX:
        raise UsageError(
            f"{len(events)} events; a request holds at most {BATCH_EVENTS_MAX}", argument=argument
        )


def _explain(event: object, kind: type, ranges: tuple[tuple[str, int], ...], where: str) -> None:
    if type(event) is not kind:
        raise UsageError(f"expected {kind.__name__} objects", argument=where)
    for name, limit in ranges:
        value = getattr(event, name)
        if not isinstance(value, int):
            raise UsageError(f"{name} must be an int, not {type(value).__name__}", argument=where)
        if not 0 <= value < limit:
            raise UsageError(f"{name} must be in [0, 2^{limit.bit_length() - 1})", argument=where)
    raise AssertionError("unreachable: the fast check and the ranges disagree")
