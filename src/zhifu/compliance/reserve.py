"""Customer reserve funds (备付金): the daily reconciliation of an institution's books.

A payment institution holds its customers' money — the balances of their payment accounts and
what it owes its merchants — and must keep exactly that much in its reserve account at the bank
(in China, centrally deposited). Each day :meth:`ReserveBook.reconcile` sums the customer
accounts (liabilities: credits less debits posted) and the reserve account (an asset: debits
less credits posted), keeps the result, and calls ``alert`` when they differ, with the
difference in fen. A day is reconciled once; its result is never changed.

>>> from datetime import date
>>> from zhifu.ledger import Account, Ledger, Transfer
>>> ledger = Ledger.open("sqlite://")
>>> _ = ledger.create_accounts([Account(1, 156, 10111), Account(2, 156, 22411)])
>>> _ = ledger.create_transfers([Transfer(10, 1, 2, 50_000, 156, 1)])  # a top-up
>>> book = ReserveBook.open(":memory:")
>>> book.reconcile(ledger, institution="Z001", customer_accounts=[2], reserve_account=1,
...                day=date(2026, 1, 5)).ok
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from zhifu.compliance._store import append_only, connect, transaction
from zhifu.compliance.errors import DuplicateError, NotFoundError
from zhifu.ledger import Ledger

__all__ = ["Reconciliation", "ReserveBook"]

_TABLE: Final = """CREATE TABLE IF NOT EXISTS reserve_days (institution TEXT NOT NULL,
    day TEXT NOT NULL, customers INTEGER NOT NULL, reserve INTEGER NOT NULL,
    accounts INTEGER NOT NULL, PRIMARY KEY (institution, day));"""
SCHEMA: Final = _TABLE + append_only("reserve_days")


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """One day of one institution: what customers are owed, what the reserve holds (fen)."""

    institution: str
    day: date
    customers: int
    reserve: int
    accounts: int

    @property
    def difference(self) -> int:
        """Reserve less what customers are owed (negative: a shortfall)."""
        return self.reserve - self.customers

    @property
    def ok(self) -> bool:
        """Whether the reserve equals the customers' balances to the fen."""
        return self.difference == 0


class ReserveBook:
    """The reconciliations, one per institution and day (SQLite, append-only)."""

    def __init__(self, path: str | Path) -> None:
        self.db = connect(path, SCHEMA)

    @classmethod
    def open(cls, path: str | Path) -> ReserveBook:
        """Open (or create) the book."""
        return cls(path)

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def reconcile(
        self, ledger: Ledger, *, institution: str, customer_accounts: Sequence[int],
        reserve_account: int, day: date,
        alert: Callable[[Reconciliation], object] | None = None,
    ) -> Reconciliation:  # fmt: skip
        """Reconcile ``day`` (once); ``alert`` hears a mismatch."""
        found = ledger.lookup_accounts([reserve_account, *customer_accounts])
        by_id = {a.id: a for a in found}
        missing = [i for i in (reserve_account, *customer_accounts) if i not in by_id]
        if missing:
            raise NotFoundError(f"ledger account {missing[0]:x} does not exist")
        reserve = by_id[reserve_account].debits_posted - by_id[reserve_account].credits_posted
        owed = sum(by_id[i].credits_posted - by_id[i].debits_posted for i in customer_accounts)
        result = Reconciliation(institution, day, owed, reserve, len(customer_accounts))
        try:
            with transaction(self.db) as db:
                row = (institution, day.isoformat(), owed, reserve, len(customer_accounts))
                db.execute("INSERT INTO reserve_days VALUES (?,?,?,?,?)", row)
        except Exception as exc:
            if "UNIQUE" in str(exc):
                raise DuplicateError(f"{institution} was reconciled for {day} already") from None
            raise
        if not result.ok and alert is not None:
            alert(result)
        return result

    def history(self, institution: str) -> list[Reconciliation]:
        """Every day reconciled, oldest first."""
        rows = self.db.execute("SELECT institution, day, customers, reserve, accounts FROM "
                               "reserve_days WHERE institution = ? ORDER BY day",
                               (institution,)).fetchall()  # fmt: skip
        return [Reconciliation(i, date.fromisoformat(d), c, r, n) for i, d, c, r, n in rows]
