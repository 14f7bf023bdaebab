"""Reads: look accounts and transfers up, list an account's transfers and balance history.

Reads use the store's read connection and see the last committed state; they never wait for
the writer. Like TigerBeetle, a lookup returns the objects it found, in the order asked, and
leaves out the ids it did not find.

>>> from zhifu.core.clock import SystemClock
>>> from zhifu.ledger.store_sqlite import SqliteStore
>>> lookup_accounts(SqliteStore(":memory:", SystemClock(), create=True), [1, 2])
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from zhifu.ledger.model import (
    BATCH_EVENTS_MAX,
    ID_MAX,
    TIMESTAMP_MAX,
    Account,
    AccountBalance,
    AccountFilter,
    AccountFilterFlags,
    Transfer,
)
from zhifu.ledger.store import (
    ACCOUNT_COLUMNS,
    TRANSFER_COLUMNS,
    Store,
    account_from_row,
    from_id,
    to_id,
    transfer_from_row,
)

_BALANCE_COLUMNS: Final = (
    "debits_pending, debits_posted, credits_pending, credits_posted, timestamp"
)


def _valid(ids: Sequence[int]) -> list[bytes]:
    return [to_id(i) for i in set(ids) if isinstance(i, int) and 0 < i < ID_MAX]


def lookup_accounts(store: Store, ids: Sequence[int]) -> list[Account]:
    """The accounts with these ids, in the order asked (missing ones left out)."""
    sql = f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id"  # noqa: S608 - constant SQL, values are bound
    found = {from_id(r[0]): r for r in store.read_ids(sql, _valid(ids))}
    return [account_from_row(found[i]) for i in ids if i in found]


def lookup_transfers(store: Store, ids: Sequence[int]) -> list[Transfer]:
    """The transfers with these ids, in the order asked (missing ones left out)."""
    sql = f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id"  # noqa: S608 - constant SQL, values are bound
    found = {from_id(r[0]): r for r in store.read_ids(sql, _valid(ids))}
    return [transfer_from_row(found[i]) for i in ids if i in found]


def _bounds(f: AccountFilter) -> tuple[int, int] | None:
    if not 0 < f.account_id < ID_MAX or not 0 < f.limit <= BATCH_EVENTS_MAX:
        return None
    low = f.timestamp_min
    high = f.timestamp_max or TIMESTAMP_MAX
    if low > high:
        return None
    return low, min(high, TIMESTAMP_MAX)


def get_account_transfers(store: Store, f: AccountFilter) -> list[Transfer]:
    """The transfers that debit and/or credit an account, by timestamp (see AccountFilter)."""
    bounds = _bounds(f)
    sides = [
        column
        for flag, column in (
            (AccountFilterFlags.DEBITS, "debit_account_id"),
            (AccountFilterFlags.CREDITS, "credit_account_id"),
        )
        if f.flags & flag
    ]
    if bounds is None or not sides:
        return []
    order = "DESC" if f.flags & AccountFilterFlags.REVERSED else "ASC"
    parts = [
        f"SELECT {TRANSFER_COLUMNS} FROM transfers"  # noqa: S608 - constant SQL, values are bound
        f" WHERE {column} = ? AND timestamp >= ? AND timestamp <= ?"
        for column in sides
    ]
    sql = f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS t ORDER BY timestamp {order} LIMIT ?"  # noqa: S608 - constant SQL, values are bound
    params: list[object] = []
    for _ in sides:
        params += [to_id(f.account_id), *bounds]
    return [transfer_from_row(r) for r in store.read(sql, [*params, f.limit])]


def get_account_balances(store: Store, f: AccountFilter) -> list[AccountBalance]:
    """The balances after each transfer of an account flagged ``HISTORY``."""
    bounds = _bounds(f)
    if bounds is None:
        return []
    order = "DESC" if f.flags & AccountFilterFlags.REVERSED else "ASC"
    sql = (
        f"SELECT {_BALANCE_COLUMNS} FROM account_balances WHERE account_id = ?"  # noqa: S608 - constant SQL, values are bound
        f" AND timestamp >= ? AND timestamp <= ? ORDER BY timestamp {order} LIMIT ?"
    )
    rows = store.read(sql, [to_id(f.account_id), *bounds, f.limit])
    return [AccountBalance(*r) for r in rows]
