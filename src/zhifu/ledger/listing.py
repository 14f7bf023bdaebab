"""Reads for people looking at the books: totals by chart code, the accounts of a code, and
what an account's transfers posted since an instant (for a running balance).

TigerBeetle's contract has no "list the accounts"; a console does. These reads use the store's
read connection like :mod:`zhifu.ledger.queries` and never wait for the writer.

>>> from zhifu.ledger import Account, Ledger, Transfer
>>> ledger = Ledger.open("sqlite://")
>>> _ = ledger.create_accounts([Account(1, 156, 10031), Account(2, 156, 20111),
...                             Account(3, 156, 20111)])
>>> _ = ledger.create_transfers([Transfer(10, 1, 2, 500, 156, 1), Transfer(11, 1, 3, 250, 156, 1)])
>>> [(t.code, t.accounts, t.debits_posted, t.credits_posted) for t in code_totals(ledger)]
[(10031, 1, 750, 0), (20111, 2, 0, 750)]
>>> [a.id for a in accounts_of_code(ledger, 20111)]
[2, 3]
>>> first = ledger.lookup_transfers([11])[0].timestamp
>>> posted_since(ledger, 1, first), posted_since(ledger, 1, first + 1)
((250, 0), (0, 0))
>>> ledger.close()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from zhifu.ledger.ledger import Ledger
from zhifu.ledger.model import Account
from zhifu.ledger.store import ACCOUNT_COLUMNS, account_from_row, to_id

__all__ = ["CodeTotal", "accounts_of_code", "code_totals", "posted_since"]

PAGE_MAX: Final = 1000  # accounts returned by one call at most
# A transfer posts its amount unless it is pending (2) or voids one (8): as in the audit.
_POSTED: Final = "CASE WHEN (flags & 14) = 0 OR (flags & 4) <> 0 THEN amount ELSE 0 END"


@dataclass(frozen=True, slots=True)
class CodeTotal:
    """The accounts of one chart code on one ledger, and the sums of their balances (fen)."""

    ledger: int
    code: int
    accounts: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int


def code_totals(ledger: Ledger) -> list[CodeTotal]:
    """Per (ledger, code): how many accounts, and their four balances summed; by ledger, code."""
    sql = (
        "SELECT ledger, code, count(*), sum(debits_pending), sum(debits_posted),"
        " sum(credits_pending), sum(credits_posted) FROM accounts GROUP BY ledger, code"
        " ORDER BY ledger, code"
    )
    return [CodeTotal(*(int(v or 0) for v in row)) for row in ledger.store.read(sql)]


def accounts_of_code(
    ledger: Ledger, code: int, *, offset: int = 0, limit: int = PAGE_MAX
) -> list[Account]:
    """The accounts of a chart code, by id, ``limit`` of them from ``offset`` on."""
    limit = max(0, min(limit, PAGE_MAX))
    sql = f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE code = ? ORDER BY id LIMIT ? OFFSET ?"  # noqa: S608 - constant SQL, values are bound
    rows = ledger.store.read(sql, [code, limit, max(0, offset)])
    return [account_from_row(r) for r in rows]


def posted_since(ledger: Ledger, account_id: int, timestamp: int) -> tuple[int, int]:
    """What the account's transfers stamped at or after ``timestamp`` posted: (debits,
    credits) in fen. The balance before them is the current one less these."""
    side_sql = (
        "SELECT coalesce(sum({posted}), 0) FROM transfers WHERE {side} = ? AND timestamp >= ?"
    )
    out = []
    for side in ("debit_account_id", "credit_account_id"):
        sql = side_sql.format(posted=_POSTED, side=side)
        out.append(int(ledger.store.read(sql, [to_id(account_id), timestamp])[0][0]))
    return out[0], out[1]
