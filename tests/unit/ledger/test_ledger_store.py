"""The ledger on a real database (SQLite and PostgreSQL): storage guarantees and queries.

R02 (postings immutable: raw UPDATE/DELETE fail), R05 (SQLite WAL + synchronous=FULL,
PostgreSQL synchronous_commit), the Alembic schema, group commit, ``check()`` and the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from zhifu.cli import ledger_cmd
from zhifu.cli.common import emit
from zhifu.core.errors import UsageError
from zhifu.ledger import (
    Account,
    AccountFilter,
    AccountFilterFlags,
    AccountFlags,
    CreateTransferResult,
    Ledger,
    Transfer,
    TransferFlags,
)
from zhifu.ledger.schema import SCHEMA_REVISION

R = CreateTransferResult
ROOT = Path(__file__).resolve().parents[3]


def _raw(url: str) -> tuple[object, str]:
    """A raw DB-API connection to the ledger database, and its paramstyle mark."""
    if url.startswith("sqlite"):
        return sqlite3.connect(url.split("///", 1)[1], isolation_level=None), "?"
    import psycopg  # noqa: PLC0415 - only on PostgreSQL

    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True), "%s"


def _funded(url: str) -> Ledger:
    ledger = Ledger.open(url)
    flags = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.HISTORY
    ledger.create_accounts([Account(1, 156, 20111, flags), Account(2, 156, 10031)])
    assert ledger.create_transfers([Transfer(10, 2, 1, 1_000, 156, 1)]) == [R.OK]
    return ledger


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transfers SET amount = 1",
        "DELETE FROM transfers",
        "DELETE FROM accounts",
        "UPDATE accounts SET ledger = 840",
        "UPDATE pending_transfers SET state = 1",
        "DELETE FROM pending_transfers",
    ],
)
def test_postings_are_immutable(ledger_url: str, statement: str) -> None:
    ledger = _funded(ledger_url)
    ledger.create_transfers([Transfer(11, 1, 2, 5, 156, 1, TransferFlags.PENDING)])
    ledger.create_transfers([Transfer(12, 0, 0, 0, 0, 0, TransferFlags.VOID_PENDING_TRANSFER, 11)])
    conn, _ = _raw(ledger_url)
    with pytest.raises(Exception, match="ledger"):
        conn.execute(statement)  # type: ignore[attr-defined]
    conn.close()  # type: ignore[attr-defined]
    assert ledger.check().balanced
    ledger.close()


def test_durability_settings_sqlite(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    store = ledger.store
    conn = store._w  # type: ignore[attr-defined]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    ledger.close()


def test_durability_settings_postgresql(pg_url: str) -> None:
    ledger = Ledger.open(pg_url)
    conn = ledger.store._w  # type: ignore[attr-defined]
    assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    assert conn.execute("SHOW fsync").fetchone()[0] == "on"
    conn.rollback()
    ledger.close()


def test_reopen_keeps_everything_and_refuses_foreign_or_missing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    _funded(url).close()
    with Ledger.open(url, create=False) as ledger:
        assert ledger.lookup_accounts([1])[0].credits_posted == 1_000
        assert ledger.create_transfers([Transfer(10, 2, 1, 1_000, 156, 1)]) == [R.EXISTS]
    with pytest.raises(UsageError, match="no ledger"):
        Ledger.open(f"sqlite:///{tmp_path / 'empty.db'}", create=False)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(UsageError, match="other tables"):
        Ledger.open(str(other))
    with pytest.raises(UsageError, match="unsupported"):
        Ledger.open("mysql://x")


def test_alembic_upgrade_then_open(ledger_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "migrations" / "alembic.ini"),
         "-x", f"url={ledger_url}", "upgrade", "head"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ledger = Ledger.open(ledger_url, create=False)
    assert ledger.store.read("SELECT version_num FROM alembic_version") == [(SCHEMA_REVISION,)]
    ledger.create_accounts([Account(1, 156, 1), Account(2, 156, 1)])
    assert ledger.create_transfers([Transfer(3, 1, 2, 5, 156, 1)]) == [R.OK]
    ledger.close()


def test_queries_and_history(ledger_url: str) -> None:
    ledger = _funded(ledger_url)
    for i in range(5):
        assert ledger.create_transfers([Transfer(20 + i, 1, 2, 10 + i, 156, 1)]) == [R.OK]
    ids = [t.id for t in ledger.get_account_transfers(1)]
    assert ids == [10, 20, 21, 22, 23, 24]
    newest = ledger.get_account_transfers(1, limit=2, reversed=True)
    assert [t.id for t in newest] == [24, 23]
    older = ledger.get_account_transfers(1, timestamp_max=newest[-1].timestamp - 1, limit=2)
    assert [t.id for t in older] == [10, 20]
    debits_only = AccountFilter(2, flags=AccountFilterFlags.DEBITS)
    assert [t.id for t in ledger.get_account_transfers(debits_only)] == [10]
    history = ledger.get_account_balances(1)
    assert [h.debits_posted for h in history] == [0, 10, 21, 33, 46, 60]
    assert ledger.get_account_balances(2) == []
    assert ledger.lookup_transfers([24, 999, 10])[1].id == 10
    assert ledger.lookup_accounts([3, 2])[0].id == 2
    ledger.close()


def test_check_names_what_is_wrong(ledger_url: str) -> None:
    ledger = _funded(ledger_url)
    conn, mark = _raw(ledger_url)
    if ledger_url.startswith("sqlite"):
        conn.execute("DROP TRIGGER accounts_fixed_fields")  # type: ignore[attr-defined]
    conn.execute(  # type: ignore[attr-defined]
        f"UPDATE accounts SET credits_posted = 999 WHERE id = {mark}", ((1).to_bytes(16, "big"),)
    )
    conn.close()  # type: ignore[attr-defined]
    report = ledger.check()
    assert not report.balanced
    assert any("does not balance" in p for p in report.problems)
    assert any("differ from the transfers" in p for p in report.problems)
    ledger.close()
    parser_args = ["ledger", "check", "--database", ledger_url, "--json"]
    outcome, status = _cli(parser_args)
    assert status == 1 and json.loads(outcome)["balanced"] is False


def _cli(argv: list[str]) -> tuple[str, int]:

    parser = argparse.ArgumentParser(prog="zhifu")
    ledger_cmd.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = emit(args.handler(args), args.json)
    return out.getvalue(), status


def test_cli_check_balanced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    _funded(url).close()
    assert _cli(["ledger", "check", "--database", url]) == ("balanced\n", 0)
    text, status = _cli(["ledger", "check", "--database", url, "--json"])
    assert status == 0 and json.loads(text)["ledgers"]["156"]["debits_posted"] == 1_000


def test_group_commit_gives_each_caller_its_own_results(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    ledger.create_accounts([Account(1, 156, 1, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)])
    ledger.create_accounts([Account(2, 156, 1)])
    ledger.create_transfers([Transfer(5, 2, 1, 1_000, 156, 1)])
    results: dict[int, list[R]] = {}

    def client(n: int) -> None:
        for i in range(40):
            tid = 1_000 + n * 100 + i
            results[tid] = ledger.create_transfers([Transfer(tid, 1, 2, 4, 156, 1)])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [tid for tid, r in results.items() if r == [R.OK]]
    assert len(ok) == 1_000 // 4  # the first 250 fit, the rest exceed the credits
    assert all(r in ([R.OK], [R.EXCEEDS_CREDITS]) for r in results.values())
    assert ledger.writer.requests == 3 + 320
    assert ledger.writer.groups < ledger.writer.requests  # callers did share transactions
    assert ledger.lookup_accounts([1])[0].debits_posted == 1_000
    assert ledger.check().balanced
    ledger.close()


def test_bad_arguments_are_usage_errors() -> None:
    ledger = Ledger.open("sqlite://")
    with pytest.raises(UsageError, match=r"transfers\[1\]"):
        ledger.create_transfers([Transfer(1, 1, 2, 1, 1, 1), Transfer(2, 1, 2, -1, 1, 1)])
    with pytest.raises(UsageError, match="amount must be an int"):
        ledger.create_transfers([Transfer(1, 1, 2, 1.5, 1, 1)])  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="at most 8190"):
        ledger.create_transfers([Transfer(i + 1, 1, 2, 1, 1, 1) for i in range(8191)])
    with pytest.raises(UsageError, match="Account objects"):
        ledger.create_accounts([Transfer(1, 1, 2, 1, 1, 1)])  # type: ignore[list-item]
    assert ledger.create_transfers([]) == []
    ledger.close()
