"""``check()``: every invariant of the books, recomputed from the database in one snapshot.

- conservation: per ledger, the sums of debits and of credits (pending, posted) are equal;
- each account's four balances equal what its transfers and pending states add up to;
- no balance is negative; the ``*_MUST_NOT_EXCEED_*`` limits hold;
- pending consistency: each pending transfer has one state; each post or void transfer
  resolves exactly one pending transfer of the same accounts, at most its amount, and that
  pending transfer records it; expired ones expired after their timeout and were not resolved;
- every transfer names two different existing accounts of its ledger, created before it;
- no burnt id belongs to a transfer.

>>> from zhifu.core.clock import SystemClock
>>> from zhifu.ledger.store_sqlite import SqliteStore
>>> check(SqliteStore(":memory:", SystemClock(), create=True)).balanced
True
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final

from zhifu.ledger.model import AccountFlags
from zhifu.ledger.store import Store, from_id

SHOWN_MAX: Final = 10  # offenders named per problem
_PENDING_AMOUNT = "CASE WHEN p.state = 1 THEN t.amount ELSE 0 END"
_POSTED_AMOUNT = "CASE WHEN (t.flags & 14) = 0 OR (t.flags & 4) <> 0 THEN t.amount ELSE 0 END"
_RECOMPUTE = f"""
SELECT account_id, sum(dp), sum(dpo), sum(cp), sum(cpo) FROM (
  SELECT t.debit_account_id AS account_id, {_PENDING_AMOUNT} AS dp, {_POSTED_AMOUNT} AS dpo,
         0 AS cp, 0 AS cpo
  FROM transfers t LEFT JOIN pending_transfers p ON p.id = t.id
  UNION ALL
  SELECT t.credit_account_id, 0, 0, {_PENDING_AMOUNT}, {_POSTED_AMOUNT}
  FROM transfers t LEFT JOIN pending_transfers p ON p.id = t.id
) AS m GROUP BY account_id"""  # noqa: S608 - constant SQL, values are bound
_PROBES: Final = (
    (
        "pending transfer without a state",
        "SELECT t.id FROM transfers t LEFT JOIN pending_transfers p ON p.id = t.id"
        " WHERE (t.flags & 2) <> 0 AND p.id IS NULL",
    ),
    (
        "pending state without a pending transfer, or with a wrong expiry",
        "SELECT p.id FROM pending_transfers p LEFT JOIN transfers t ON t.id = p.id"
        " WHERE t.id IS NULL OR (t.flags & 2) = 0 OR p.expires_at <> CASE WHEN t.timeout > 0"
        " THEN t.timestamp + t.timeout * 1000000000 ELSE 0 END",
    ),
    (
        "post/void transfer that does not match the pending transfer it resolves",
        "SELECT r.id FROM transfers r LEFT JOIN transfers t ON t.id = r.pending_id"
        " LEFT JOIN pending_transfers p ON p.id = r.pending_id"
        " WHERE (r.flags & 12) <> 0 AND (t.id IS NULL OR p.id IS NULL OR p.resolved_by IS NULL"
        " OR p.resolved_by <> r.id OR p.state <> CASE WHEN (r.flags & 4) <> 0 THEN 2 ELSE 3 END"
        " OR r.amount > t.amount OR ((r.flags & 8) <> 0 AND r.amount <> t.amount)"
        " OR r.debit_account_id <> t.debit_account_id"
        " OR r.credit_account_id <> t.credit_account_id OR r.ledger <> t.ledger)",
    ),
    (
        "pending transfer whose resolution is inconsistent",
        "SELECT p.id FROM pending_transfers p LEFT JOIN transfers r ON r.id = p.resolved_by"
        " WHERE (p.state IN (2, 3) AND (r.id IS NULL OR r.pending_id IS NULL"
        " OR r.pending_id <> p.id)) OR (p.state IN (1, 4) AND p.resolved_by IS NOT NULL)"
        " OR (p.state = 4 AND (p.expires_at = 0 OR p.resolved_at < p.expires_at))"
        " OR p.state NOT IN (1, 2, 3, 4)",
    ),
    (
        "pending transfer resolved more than once",
        "SELECT pending_id FROM transfers WHERE pending_id IS NOT NULL"
        " GROUP BY pending_id HAVING count(*) > 1",
    ),
    (
        "transfer whose accounts are missing, equal, of another ledger or created after it",
        "SELECT t.id FROM transfers t LEFT JOIN accounts d ON d.id = t.debit_account_id"
        " LEFT JOIN accounts c ON c.id = t.credit_account_id"
        " WHERE d.id IS NULL OR c.id IS NULL OR d.ledger <> t.ledger OR c.ledger <> t.ledger"
        " OR t.debit_account_id = t.credit_account_id OR d.timestamp >= t.timestamp"
        " OR c.timestamp >= t.timestamp OR t.amount < 0",
    ),
    (
        "burnt transfer id that was created after all",
        "SELECT f.id FROM transfer_failures f JOIN transfers t ON t.id = f.id",
    ),
)
_DMNEC = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CMNED = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)


@dataclass
class CheckReport:
    """What ``check()`` found: ``balanced`` when ``problems`` is empty."""

    problems: list[str] = field(default_factory=list)
    accounts: int = 0
    transfers: int = 0
    ledgers: dict[int, dict[str, int]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "balanced": self.balanced,
            "problems": list(self.problems),
            "accounts": self.accounts,
            "transfers": self.transfers,
            "ledgers": {str(k): v for k, v in sorted(self.ledgers.items())},
        }


def _hex(value: bytes) -> str:
    return f"{from_id(value):x}"


def check(store: Store) -> CheckReport:
    """Recompute and compare everything (see the module docstring)."""
    report = CheckReport()
    with store.snapshot():
        accounts = store.read(
            "SELECT id, ledger, flags, debits_pending, debits_posted, credits_pending,"
            " credits_posted FROM accounts"
        )
        recomputed = {row[0]: tuple(row[1:]) for row in store.read(_RECOMPUTE)}
        report.transfers = store.read("SELECT count(*) FROM transfers")[0][0]
        for name, sql in _PROBES:
            rows = store.read(f"{sql} LIMIT {SHOWN_MAX + 1}")
            if rows:
                shown = ", ".join(_hex(r[0]) for r in rows[:SHOWN_MAX])
                more = " ..." if len(rows) > SHOWN_MAX else ""
                report.problems.append(f"{name}: {shown}{more}")
    report.accounts = len(accounts)
    _check_accounts(report, accounts, recomputed)
    return report


def _check_accounts(
    report: CheckReport,
    accounts: list[tuple[Any, ...]],
    recomputed: dict[bytes, tuple[int, ...]],
) -> None:
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    wrong: list[str] = []
    over: list[str] = []
    for id_, ledger, flags, *balances in accounts:
        total = totals[ledger]
        for i, value in enumerate(balances):
            total[i] += value
        expected = tuple(int(v) for v in recomputed.pop(id_, (0, 0, 0, 0)))
        if tuple(balances) != expected:
            wrong.append(f"{_hex(id_)} has {tuple(balances)}, its transfers say {expected}")
        dp, dpo, cp, cpo = balances
        if (
            min(balances) < 0
            or (flags & _DMNEC and dp + dpo > cpo)
            or (flags & _CMNED and cp + cpo > dpo)
        ):
            over.append(_hex(id_))
    if recomputed:
        report.problems.append(
            "transfers name unknown accounts: " + ", ".join(map(_hex, list(recomputed)[:10]))
        )
    if wrong:
        report.problems.append("balances differ from the transfers: " + "; ".join(wrong[:10]))
    if over:
        report.problems.append("negative balance or limit exceeded: " + ", ".join(over[:10]))
    for ledger, (dp, dpo, cp, cpo) in sorted(totals.items()):
        report.ledgers[ledger] = {
            "debits_pending": dp,
            "debits_posted": dpo,
            "credits_pending": cp,
            "credits_posted": cpo,
        }
        if dp != cp or dpo != cpo:
            report.problems.append(
                f"ledger {ledger} does not balance: debits pending/posted {dp}/{dpo},"
                f" credits pending/posted {cp}/{cpo}"
            )
