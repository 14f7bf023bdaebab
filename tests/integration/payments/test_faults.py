"""A fault-injecting proxy between terminals and the host, 1,000 seeded randomized purchases:
answers dropped or delayed past the timeout, 0410s dropped, 0400s doubled, connections reset.
Every original ends with its full effect or none — at the issuer, at the acquirer and in the
terminal's batch alike — and the books balance."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from zhifu.iso8583.faults import FaultPlan, FaultProxy
from zhifu.issuer.link import transaction_id
from zhifu.ledger.ids import derive_id
from zhifu.terminal import Terminal

from .conftest import Bank

RUNS = 1_000
TERMINALS = 10
OPENING = 10_000_000
PLAN = FaultPlan(
    drop_response=0.12, delay_response=0.08, delay_seconds=0.4, drop_reversal_response=0.2,
    duplicate_reversal=0.2, reset=0.08, seed=20261205,
)  # fmt: skip


@contextmanager
def proxy_to(port: int, plan: FaultPlan) -> Iterator[FaultProxy]:
    """The proxy on its own event loop in a thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, FaultProxy] = {}
    stop = asyncio.Event()

    async def main() -> None:
        async with FaultProxy(("127.0.0.1", port), plan) as proxy:
            holder["proxy"] = proxy
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield holder["proxy"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


def _drive(term: Terminal, card: Path, runs: int, seed: int, attempted: list[str]) -> None:
    rng = random.Random(seed)
    for _ in range(runs):
        stan = f"{term.state.next_stan:06d}"
        if term.state.pending_reversal is None:
            attempted.append(transaction_id(term.state.terminal_id, term.state.batch, stan))
        term.transact("purchase", card, pin="1234", amount=rng.randint(1, 5_000))


def _posted(bank: Bank, *parts: str) -> bool:
    return bool(bank.ledger.lookup_transfers([derive_id(*parts)]))


def test_every_original_ends_with_its_full_effect_or_none(bank: Bank) -> None:
    cards = [bank.card(OPENING) for _ in range(TERMINALS)]
    terminals = [bank.terminal(f"2000{n:04d}", timeout=0.25) for n in range(TERMINALS)]
    attempted: list[list[str]] = [[] for _ in terminals]
    with proxy_to(bank.background.port, PLAN) as proxy:
        for term in terminals:
            term.link(f"127.0.0.1:{proxy.port}")
        threads = [
            threading.Thread(target=_drive, args=(t, c, RUNS // TERMINALS, n, attempted[n]))
            for n, (t, c) in enumerate(zip(terminals, cards, strict=True))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        faults = dict(proxy.stats)
    for term in terminals:  # the network heals: what is pending goes through
        term.link(bank.address)
        while term.state.pending_reversal is not None:
            assert term.send_pending_reversal() is not False
    assert all(faults.get(kind, 0) > 10 for kind in ("drop_response", "delay_response",
               "drop_reversal_response", "duplicate_reversal", "reset")), faults  # fmt: skip
    total_approved, undone, kept = 0, 0, 0
    for term, card, ids in zip(terminals, cards, attempted, strict=True):
        believed = {transaction_id(term.state.terminal_id, e["batch"], e["stan"]): e["amount"]
                    for e in term.state.log if not e["reversed"]}  # fmt: skip
        for txn in ids:
            issuer = _posted(bank, "issuer", "purchase", txn) and not _posted(
                bank, "issuer", "reversal", txn
            )
            acquirer = _posted(bank, "acquirer", "card", txn) and not _posted(
                bank, "acquirer", "reversal", txn
            )
            assert issuer == acquirer == (txn in believed), txn
            undone += _posted(bank, "issuer", "reversal", txn)
            kept += issuer
        assert bank.available(card) == OPENING - sum(believed.values())
        total_approved += sum(believed.values())
    print(f"faults {faults}; approvals kept {kept}, undone by reversal {undone}")
    assert undone > 50 and kept > 500, (undone, kept)  # both outcomes happened, often
    assert bank.merchant_pending() == total_approved
    assert bank.ledger.check().balanced
