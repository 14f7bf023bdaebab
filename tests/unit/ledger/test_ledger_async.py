"""``Ledger.create_transfers_async``: coroutines share group commits and get their own results.

The writer wakes each event loop once per committed group (not once per request); a closed
ledger refuses; a cancelled waiter does not disturb the others.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from zhifu.ledger import (
    Account,
    AccountFlags,
    CreateTransferResult,
    Ledger,
    Transfer,
)
from zhifu.ledger.writer import LedgerClosedError

R = CreateTransferResult


def _ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    ledger.create_accounts([Account(1, 156, 1, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)])
    ledger.create_accounts([Account(2, 156, 1)])
    ledger.create_transfers([Transfer(5, 2, 1, 1_000, 156, 1)])
    return ledger


def test_coroutines_share_commits_and_get_their_own_results(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    groups_before, requests_before = ledger.writer.groups, ledger.writer.requests

    async def main() -> list[list[R]]:
        calls = [
            ledger.create_transfers_async([Transfer(1_000 + i, 1, 2, 4, 156, 1)])
            for i in range(320)
        ]
        return await asyncio.gather(*calls)

    results = asyncio.run(main())
    assert results.count([R.OK]) == 250  # 1,000 fen of credit, 4 fen each
    assert results.count([R.EXCEEDS_CREDITS]) == 70
    # the transfers were applied in the order the coroutines asked
    assert all(r == [R.OK] for r in results[:250])
    assert ledger.writer.requests - requests_before == 320
    assert ledger.writer.groups - groups_before < 320  # they shared transactions
    assert ledger.lookup_accounts([1])[0].debits_posted == 1_000
    assert ledger.check().balanced
    ledger.close()


def test_async_results_equal_sync_results(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    chain = [Transfer(50, 1, 2, 10, 156, 1, flags=0)]
    assert asyncio.run(ledger.create_transfers_async(chain)) == [R.OK]
    assert ledger.create_transfers(chain) == [R.EXISTS]
    assert asyncio.run(ledger.create_transfers_async(chain)) == [R.EXISTS]
    assert asyncio.run(ledger.create_transfers_async([])) == []
    ledger.close()


def test_a_cancelled_waiter_does_not_disturb_the_others(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)

    async def main() -> list[R]:
        first = asyncio.ensure_future(
            ledger.create_transfers_async([Transfer(60, 1, 2, 10, 156, 1)])
        )
        second = asyncio.ensure_future(
            ledger.create_transfers_async([Transfer(61, 1, 2, 10, 156, 1)])
        )
        await asyncio.sleep(0)  # both queued
        first.cancel()
        return await second

    assert asyncio.run(main()) == [R.OK]
    # the cancelled caller's transfer was still applied: cancelling a wait undoes nothing
    assert len(ledger.lookup_transfers([60, 61])) == 2
    ledger.close()


def test_a_closed_ledger_refuses_coroutines(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    ledger.close()
    with pytest.raises(LedgerClosedError):
        asyncio.run(ledger.create_transfers_async([Transfer(70, 1, 2, 10, 156, 1)]))
