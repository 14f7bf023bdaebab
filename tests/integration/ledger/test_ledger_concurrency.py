"""Eight processes hammer a handful of accounts with conflicting transfers
(docs/standards/security.md R03).

Every worker process has its own ``Ledger`` (its own writer thread and connections) and fires
random single-phase and two-phase transfers between four customer accounts that must never be
overdrawn. A checker process reads all accounts in one statement, again and again, and checks
every read: no overdraft, debits equal credits, the money in the system constant. Afterwards the
final balances must equal a replay of every acknowledged result (no lost update) and ``check()``
must hold. Bounded: a few seconds per database.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from typing import Any

import pytest

from zhifu.ledger import Account, AccountFlags, CreateTransferResult, Ledger, Transfer
from zhifu.ledger import TransferFlags as F

R = CreateTransferResult
CUSTOMERS = (1, 2, 3, 4)
BANK = 9
FUNDING = 10_000
WORKERS = 8
SECONDS = 2.5


def _worker(url: str, worker: int, seconds: float, out: Any) -> None:
    try:
        out.put(("worker", _work(url, worker, seconds)))
    except BaseException as exc:
        out.put(("error", repr(exc)))
        raise


def _work(url: str, worker: int, seconds: float) -> list[tuple[int, int, int, int, int]]:
    rng = random.Random(worker)
    ledger = Ledger.open(url)
    acked: list[tuple[int, int, int, int, int]] = []  # id, flags, debit, credit, amount
    holds: list[tuple[int, int, int, int]] = []
    next_id = (worker + 1) << 40
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch: list[Transfer] = []
        for _ in range(rng.randint(1, 5)):
            next_id += 1
            if holds and rng.random() < 0.3:
                pending_id, debit, credit, amount = holds.pop(rng.randrange(len(holds)))
                flag = rng.choice([F.POST_PENDING_TRANSFER, F.VOID_PENDING_TRANSFER])
                part = rng.randint(0, amount) if flag == F.POST_PENDING_TRANSFER else 0
                batch.append(Transfer(next_id, 0, 0, part, 0, 0, flag, pending_id=pending_id))
                continue
            debit, credit = rng.sample(CUSTOMERS, 2)
            flag = F.PENDING if rng.random() < 0.3 else F.NONE
            batch.append(Transfer(next_id, debit, credit, rng.randint(1, 3_000), 156, 1, flag))
        for t, result in zip(batch, ledger.create_transfers(batch), strict=True):
            if result != R.OK:
                assert result == R.EXCEEDS_CREDITS, result
                continue
            stored = ledger.lookup_transfers([t.id])[0] if t.pending_id else t
            acked.append((t.id, int(t.flags), stored.debit_account_id,
                          stored.credit_account_id, stored.amount))  # fmt: skip
            if t.flags == F.PENDING:
                holds.append((t.id, t.debit_account_id, t.credit_account_id, t.amount))
    ledger.close()
    return acked


def _checker(url: str, seconds: float, out: Any) -> None:
    ledger = Ledger.open(url)
    reads = violations = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        accounts = ledger.lookup_accounts([*CUSTOMERS, BANK])
        reads += 1
        dp = sum(a.debits_pending for a in accounts)
        cp = sum(a.credits_pending for a in accounts)
        dpo = sum(a.debits_posted for a in accounts)
        cpo = sum(a.credits_posted for a in accounts)
        customers = [a for a in accounts if a.id != BANK]
        overdrawn = any(
            a.debits_pending + a.debits_posted > a.credits_posted or min(
                a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted) < 0
            for a in customers
        )  # fmt: skip
        money = sum(a.credits_posted - a.debits_posted for a in customers)
        if overdrawn or dp != cp or dpo != cpo or money != FUNDING * len(CUSTOMERS):
            violations += 1
    ledger.close()
    out.put(("checker", (reads, violations)))


def _replay(
    acked: list[tuple[int, int, int, int, int]], resolved: dict[int, int]
) -> dict[int, list[int]]:
    want = {i: [0, 0, 0, 0] for i in (*CUSTOMERS, BANK)}
    for customer in CUSTOMERS:
        want[BANK][1] += FUNDING
        want[customer][3] += FUNDING
    for tid, flags, debit, credit, amount in acked:
        if flags == F.PENDING:
            if tid not in resolved:
                want[debit][0] += amount
                want[credit][2] += amount
        elif flags in (F.POST_PENDING_TRANSFER, F.NONE):
            want[debit][1] += amount
            want[credit][3] += amount
    return want


@pytest.mark.slow
@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_eight_processes_never_overdraw(
    database: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    if database == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        flags = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        ledger.create_accounts([Account(i, 156, 20111, flags) for i in CUSTOMERS])
        ledger.create_accounts([Account(BANK, 156, 10031)])
        funding = [Transfer(100 + i, BANK, i, FUNDING, 156, 1) for i in CUSTOMERS]
        assert ledger.create_transfers(funding) == [R.OK] * len(CUSTOMERS)
    ctx = multiprocessing.get_context("forkserver")  # children fork from a clean, warm server
    ctx.set_forkserver_preload(["zhifu.ledger", "zhifu.ledger.schema", "psycopg"])
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, w, SECONDS, out)) for w in range(WORKERS)]
    procs.append(ctx.Process(target=_checker, args=(url, SECONDS + 1, out)))
    for p in procs:
        p.start()
    answers = [out.get(timeout=120) for _ in procs]
    assert [a for a in answers if a[0] == "error"] == []
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    acked = [row for kind, rows in answers if kind == "worker" for row in rows]
    reads, violations = next(v for kind, v in answers if kind == "checker")
    assert reads > 10 and violations == 0
    assert len(acked) > 50
    resolved = {}
    with Ledger.open(url) as ledger:
        stored = ledger.lookup_transfers([row[0] for row in acked])
        assert len(stored) == len(acked)  # every acknowledged transfer is there
        for t in stored:
            if t.pending_id:
                resolved[t.pending_id] = t.id
        want = _replay(acked, resolved)
        got = {
            a.id: [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted]
            for a in ledger.lookup_accounts([*CUSTOMERS, BANK])
        }
        assert got == want  # no lost update
        report = ledger.check()
        assert report.balanced, report.problems
