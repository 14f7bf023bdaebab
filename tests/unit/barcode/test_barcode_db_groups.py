"""The platform database's group commit: thread units, event-loop units, nested savepoints and
checkpoints taken off the commit path (zhifu.barcode.platform.db)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhifu.barcode.platform.db import Database, DatabaseClosedError, from_us, to_us


def _insert(key: str) -> object:
    def unit(cur: sqlite3.Cursor) -> int:
        cur.execute("INSERT INTO used_codes (key, keep_until_us) VALUES (?, 1)", (key,))
        return threading.get_ident()

    return unit


def _keys(db: Database) -> list[str]:
    return [row[0] for row in db.all("SELECT key FROM used_codes ORDER BY key")]


def test_loop_units_run_on_the_loop_thread_in_one_group(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "b.db"))
    groups = db.groups

    async def main() -> list[object]:
        return await asyncio.gather(*(db.call(_insert(f"k{i:02d}")) for i in range(40)))

    threads = asyncio.run(main())
    assert set(threads) == {threading.get_ident()}  # no hand-off to the writer thread
    assert db.groups - groups == 1  # one turn of the loop, one transaction
    assert _keys(db) == [f"k{i:02d}" for i in range(40)]
    db.close()


def test_a_failing_unit_fails_alone(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "b.db"))

    def broken(cur: sqlite3.Cursor) -> None:
        cur.execute("INSERT INTO used_codes (key, keep_until_us) VALUES ('half', 1)")
        raise ValueError("refused after a write")

    async def main() -> list[object]:
        calls = [db.call(_insert("a")), db.call(broken), db.call(_insert("b"))]
        return await asyncio.gather(*calls, return_exceptions=True)

    first, failed, last = asyncio.run(main())
    assert isinstance(failed, ValueError)
    assert not isinstance(first, BaseException) and not isinstance(last, BaseException)
    assert _keys(db) == ["a", "b"]  # the broken unit's own write was rolled back
    db.close()


def test_nested_units_are_savepoints_unless_asked_otherwise(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "b.db"))

    def inner_fails(cur: sqlite3.Cursor) -> None:
        cur.execute("INSERT INTO used_codes (key, keep_until_us) VALUES ('inner', 1)")
        raise LookupError("inner refusal")

    def outer(cur: sqlite3.Cursor) -> str:
        cur.execute("INSERT INTO used_codes (key, keep_until_us) VALUES ('before', 1)")
        with pytest.raises(LookupError):
            db.run(inner_fails)  # rolled back alone: 'inner' is gone
        with pytest.raises(LookupError):
            db.run(inner_fails, savepoint=False)  # not rolled back: 'inner' stays
        after = "INSERT INTO used_codes (key, keep_until_us) VALUES ('after', 1)"
        db.run(lambda c: c.execute(after))
        assert db.one("SELECT 1 FROM used_codes WHERE key = 'after'") == (1,)  # own writes
        return "done"

    assert db.run(outer) == "done"
    assert _keys(db) == ["after", "before", "inner"]
    db.close()


def test_threads_and_coroutines_share_one_database(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "b.db"))

    def worker(n: int) -> None:
        for i in range(50):
            db.run(_insert(f"t{n}-{i:02d}"))  # type: ignore[arg-type]

    async def main() -> None:
        for i in range(50):
            await asyncio.gather(*(db.call(_insert(f"c{i:02d}-{j}")) for j in range(4)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    asyncio.run(main())
    for t in threads:
        t.join()
    assert len(_keys(db)) == 3 * 50 + 50 * 4
    db.close()


def _fill(db: Database, rows: int) -> None:
    async def main() -> None:
        for i in range(rows // 100):
            units = [db.call(_insert(f"{i:04d}-{j:02d}-{'x' * 400}")) for j in range(100)]
            await asyncio.gather(*units)

    asyncio.run(main())


def test_commits_never_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    db = Database(str(path), checkpoint_seconds=3600)  # the writer never idles long enough
    size = path.stat().st_size
    _fill(db, 12_000)  # some 1,500 pages: past SQLite's own autocheckpoint threshold
    assert Path(f"{path}-wal").stat().st_size > 1_000 * 4096
    assert path.stat().st_size == size  # nothing was copied into the database file
    db.close()


def test_the_idle_writer_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    db = Database(str(path), checkpoint_seconds=0.05)
    size = path.stat().st_size
    _fill(db, 3_000)
    deadline = time.monotonic() + 10
    while path.stat().st_size <= size + 100 * 4096 and time.monotonic() < deadline:
        time.sleep(0.05)  # under load a first checkpoint may copy only part of the log
    assert path.stat().st_size > size + 100 * 4096  # the log was copied in
    db.close()


def test_a_closed_database_refuses_coroutines(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "b.db"))
    db.close()
    with pytest.raises(DatabaseClosedError):
        asyncio.run(db.call(_insert("late")))  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**16), max_value=10**17))
def test_instants_round_trip_to_the_microsecond(micros: int) -> None:
    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    assert to_us(when) == micros
    assert to_us(from_us(micros)) == micros
    assert from_us(micros) == when


def test_every_insert_of_the_barcode_package_names_its_columns() -> None:
    root = Path(__file__).resolve().parents[3] / "src" / "zhifu" / "barcode"
    bare = []
    for source in sorted(root.rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        # the table name, then anything but an opening parenthesis up to VALUES (string
        # literals split over lines included): a column-less insert
        for found in re.finditer(r"INSERT(?: OR \w+)? INTO (\w+)([^(]*?)VALUES", text):
            bare.append(f"{source.relative_to(root)}: {found[1]}")
    assert bare == []
