"""Ledger throughput: zhifu's Ledger beside raw-driver baselines doing the same writes.

``python -m bench.ledger [seconds]``. Every row is measured in this run, ledger and baseline
alternately (best of two runs each). A transfer moves money between two of 1,000 accounts.

- the raw ``sqlite3`` baseline writes the same rows into the same schema (same indexes and
  triggers, WAL, ``synchronous=FULL``): one INSERT per transfer and the balance UPDATEs,
  summed per account and applied in account order as the ledger does, with no ledger logic
  (no validation, no idempotency reads, no locks, no results);
- "8 concurrent clients": 8 threads each sending one transfer per call; the ledger groups
  them (group commit), the baseline gives each thread its own connection and commit;
- SQLAlchemy Core: the same batched statements through SQLAlchemy 2 Core, against raw sqlite3
  (why the hot path uses the raw driver);
- PostgreSQL (a throwaway cluster, if the binaries are installed): the ledger against raw
  psycopg 3 doing COPY plus one summed ``UPDATE ... FROM unnest(...)`` per batch.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.harness import Row, print_table
from zhifu.ledger import Account, Ledger, Transfer
from zhifu.ledger.schema import bootstrap_statements
from zhifu.ledger.store import TRANSFER_COLUMNS, transfer_row

ACCOUNTS = 1_000
CLIENTS = 8
_ROOT = Path(__file__).resolve().parents[1]
_ids = itertools.count(1)
_timestamps = itertools.count(1 << 60)


def _transfers(n: int, rng: random.Random) -> list[Transfer]:
    out = []
    for _ in range(n):
        debit, credit = rng.sample(range(1, ACCOUNTS + 1), 2)
        out.append(Transfer(next(_ids), debit, credit, rng.randint(1, 10_000), 156, 1))
    return out


def _rows(transfers: Sequence[Transfer]) -> list[tuple[Any, ...]]:
    rows = []
    for t in transfers:
        t.timestamp = next(_timestamps)
        rows.append(transfer_row(t))
        t.timestamp = 0
    return rows


def _summed(transfers: Sequence[Transfer]) -> list[tuple[int, int, bytes]]:
    moves: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for t in transfers:
        moves[t.debit_account_id][0] += t.amount
        moves[t.credit_account_id][1] += t.amount
    return [(d, c, i.to_bytes(16, "big")) for i, (d, c) in sorted(moves.items())]


def _rate(submit: Callable[[list[Transfer]], None], size: int, seconds: float) -> float:
    """Transfers per second of ``submit``, timing only the calls (not making the batches)."""
    rng = random.Random(size)
    done, busy = 0, 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        batch = _transfers(size, rng)
        start = time.perf_counter()
        submit(batch)
        busy += time.perf_counter() - start
        done += size
    return done / busy


def _concurrent(
    make_submit: Callable[[], Callable[[list[Transfer]], None]], seconds: float
) -> float:
    counts = [0] * CLIENTS
    deadline = time.perf_counter() + seconds

    def client(n: int) -> None:
        submit, rng = make_submit(), random.Random(n)
        while time.perf_counter() < deadline:
            submit(_transfers(1, rng))
            counts[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


# -- SQLite -----------------------------------------------------------------------------------


def _sqlite_raw(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "busy_timeout = 60000",
                   "cache_size = -65536", "temp_store = MEMORY"):  # fmt: skip
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _sqlite_schema(path: str) -> None:
    conn = _sqlite_raw(path)
    conn.execute("BEGIN")
    for statement in bootstrap_statements("sqlite"):
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO accounts VALUES (?, 156, 1, 0, NULL, 0, 0, 0, 0, 0, 0, ?)",
        [(i.to_bytes(16, "big"), i) for i in range(1, ACCOUNTS + 1)],
    )
    conn.execute("COMMIT")
    conn.close()


def _raw_submit(conn: sqlite3.Connection) -> Callable[[list[Transfer]], None]:
    insert = f"INSERT INTO transfers VALUES ({', '.join('?' * 13)})"
    update = (
        "UPDATE accounts SET debits_posted = debits_posted + ?,"
        " credits_posted = credits_posted + ? WHERE id = ?"
    )

    def submit(batch: list[Transfer]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, _rows(batch))
        conn.executemany(update, _summed(batch))
        conn.execute("COMMIT")

    return submit


def _new_ledger(folder: str, name: str) -> Ledger:
    ledger = Ledger.open(os.path.join(folder, name))
    for start in range(1, ACCOUNTS + 1, 8_000):
        stop = min(start + 8_000, ACCOUNTS + 1)
        ledger.create_accounts([Account(i, 156, 1) for i in range(start, stop)])
    return ledger


def _sqlalchemy_submit(path: str) -> Callable[[list[Transfer]], None]:
    import sqlalchemy as sa  # noqa: PLC0415 - only for this comparison

    from zhifu.ledger.schema import accounts, transfers  # noqa: PLC0415

    engine = sa.create_engine(f"sqlite:///{path}")
    sa.event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA synchronous = FULL"))
    columns = [c.name for c in transfers.columns]
    update = (
        sa.update(accounts)
        .where(accounts.c.id == sa.bindparam("key"))
        .values(
            debits_posted=accounts.c.debits_posted + sa.bindparam("d"),
            credits_posted=accounts.c.credits_posted + sa.bindparam("c"),
        )
    )

    def submit(batch: list[Transfer]) -> None:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(transfers), [dict(zip(columns, r, strict=True)) for r in _rows(batch)]
            )
            moves = [{"d": d, "c": c, "key": k} for d, c, k in _summed(batch)]
            conn.execute(update, moves)

    return submit


def _best(measure: Callable[[], float]) -> float:
    return max(measure(), measure())


def _sqlite_rows(seconds: float) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="zhifu-bench-") as folder:
        raw_path = os.path.join(folder, "raw.db")
        _sqlite_schema(raw_path)
        raw = _sqlite_raw(raw_path)
        ledger = _new_ledger(folder, "ledger.db")
        ledger_submit = ledger.create_transfers
        for label, size, target in (
            ("1 transfer per commit", 1, None),
            ("batches of 100", 100, 0.5),
            ("batches of 8,000", 8_000, 0.5),
        ):
            base = _best(lambda s=size: _rate(_raw_submit(raw), s, seconds / 2))  # type: ignore[misc]
            mine = _best(lambda s=size: _rate(ledger_submit, s, seconds / 2))  # type: ignore[misc]
            rows.append(Row(f"SQLite: {label}", mine, "raw sqlite3", base, target))
        base = _best(lambda: _concurrent(lambda: _raw_submit(_sqlite_raw(raw_path)), seconds / 2))
        mine = _best(lambda: _concurrent(lambda: ledger_submit, seconds / 2))
        rows.append(Row(f"SQLite: {CLIENTS} concurrent clients, 1 transfer per call "
                        "(group commit)", mine, "raw sqlite3, commit per call", base))  # fmt: skip
        core = _best(lambda: _rate(_sqlalchemy_submit(raw_path), 8_000, seconds / 2))
        base = _best(lambda: _rate(_raw_submit(raw), 8_000, seconds / 2))
        rows.append(Row("SQLite: batches of 8,000, no ledger logic, via SQLAlchemy 2 Core",
                        core, "raw sqlite3", base))  # fmt: skip
        assert ledger.check().balanced
        ledger.close()
        raw.close()
    return rows


# -- PostgreSQL -------------------------------------------------------------------------------


def _pg_cluster() -> Any:
    path = _ROOT / "tests" / "unit" / "ledger" / "pgcluster.py"
    spec = importlib.util.spec_from_file_location("zhifu_bench_pgcluster", path)
    if spec is None or spec.loader is None or importlib.util.find_spec("psycopg") is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bin_dir = module.find_bin()
    return None if bin_dir is None else module.Cluster(bin_dir)


def _pg_raw_submit(conn: Any) -> Callable[[list[Transfer]], None]:

    update = (
        "UPDATE accounts AS a SET debits_posted = a.debits_posted + v.d,"
        " credits_posted = a.credits_posted + v.c"
        " FROM unnest(%b::bigint[], %b::bigint[], %b::bytea[]) AS v(d, c, id) WHERE a.id = v.id"
    )

    def submit(batch: list[Transfer]) -> None:
        with conn.cursor() as cur:
            with cur.copy(f"COPY transfers ({TRANSFER_COLUMNS}) FROM STDIN") as copy:
                for row in sorted(_rows(batch)):
                    copy.write_row(row)
            moves = _summed(batch)
            cur.execute(update, [list(col) for col in zip(*moves, strict=True)])
        conn.commit()

    return submit


def _pg_rows(seconds: float) -> tuple[list[Row], str]:
    cluster = _pg_cluster()
    if cluster is None:
        return [], "PostgreSQL: not measured (no PostgreSQL binaries or no psycopg here)."
    import psycopg  # noqa: PLC0415 - only when PostgreSQL is there

    try:
        cluster.start()
        raw_url, ledger_url = cluster.create_database("raw"), cluster.create_database("ledger")
        with psycopg.connect(raw_url.replace("+psycopg", "")) as conn:
            for statement in bootstrap_statements("postgresql"):
                conn.execute(statement)
            conn.cursor().executemany(
                "INSERT INTO accounts VALUES (%s, 156, 1, 0, NULL, 0, 0, 0, 0, 0, 0, %s)",
                [(i.to_bytes(16, "big"), i) for i in range(1, ACCOUNTS + 1)],
            )
            conn.commit()
            ledger = Ledger.open(ledger_url)
            ledger.create_accounts([Account(i, 156, 1) for i in range(1, ACCOUNTS + 1)])
            rows = []
            base = _best(lambda: _rate(_pg_raw_submit(conn), 1, seconds / 2))
            mine = _best(lambda: _rate(ledger.create_transfers, 1, seconds / 2))
            rows.append(Row("PostgreSQL: 1 transfer per commit", mine, "raw psycopg 3", base))
            for size in (100, 8_000):
                base = _best(lambda s=size: _rate(_pg_raw_submit(conn), s, seconds / 2))  # type: ignore[misc]
                mine = _best(lambda s=size: _rate(ledger.create_transfers, s, seconds / 2))  # type: ignore[misc]
                rows.append(Row(f"PostgreSQL: batches of {size:,}", mine, "raw psycopg 3", base,
                                0.5))  # fmt: skip
            for url in (raw_url, ledger_url):  # the batches left dead balance rows behind
                with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as vac:
                    vac.execute("VACUUM ANALYZE")
            mine = _best(lambda: _concurrent(lambda: ledger.create_transfers, seconds / 2))

            def raw_client() -> Callable[[list[Transfer]], None]:
                return _pg_raw_submit(psycopg.connect(raw_url.replace("+psycopg", "")))

            base = _best(lambda: _concurrent(raw_client, seconds / 2))
            label = f"PostgreSQL: {CLIENTS} concurrent clients, 1 transfer per call (group commit)"
            rows.append(Row(label, mine, "raw psycopg 3, commit per call", base))
            assert ledger.check().balanced
            ledger.close()
        return rows, f"PostgreSQL: a throwaway cluster on 127.0.0.1 ({cluster.bin_dir})."
    finally:
        cluster.stop()


def run(seconds: float = 2.0) -> None:
    """Print the ledger tables (each row takes about ``2 x seconds``)."""
    rows = _sqlite_rows(seconds)
    print_table("Ledger transfers/s (SQLite, WAL, synchronous=FULL; zhifu vs raw driver)", rows)
    pg_rows, note = _pg_rows(seconds)
    if pg_rows:
        print_table("Ledger transfers/s (PostgreSQL 15, synchronous_commit=on)", pg_rows)
    print(f"\n{note}")
    batched = [
        r for r in rows + pg_rows if "batches of" in r.operation and "Core" not in r.operation
    ]
    for r in batched:
        floor = 20_000 if r.operation.startswith("SQLite") else 10_000
        met = "met" if r.zhifu >= floor else "NOT met"
        print(
            f"- {r.operation}: {r.zhifu:,.0f}/s against an absolute target of {floor:,}/s ({met})"
        )


def _main(argv: list[str]) -> Iterator[None]:
    run(float(argv[0]) if argv else 2.0)
    yield


if __name__ == "__main__":
    for _ in _main(sys.argv[1:]):
        pass
