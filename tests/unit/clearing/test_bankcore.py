"""The banks' core ledgers: holds at commitment, posted at netting, voided when an item ends
without moving money; indirect participants through their clearing bank; the day-end check."""

from __future__ import annotations

from datetime import datetime

import pytest

from zhifu.clearing import BusinessType, ClearingSystem, Item, NodeKind, Participant, Receipt
from zhifu.clearing.bankcore import BankCores
from zhifu.clearing.settlement import MemoryBooks
from zhifu.core.clock import SHANGHAI

A, C, A1 = "102100099996", "104290003791", "313100000013"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)  # Thursday
OC, OD, RC = (
    BusinessType.ORDINARY_CREDIT,
    BusinessType.ORDINARY_DEBIT,
    BusinessType.REAL_TIME_CREDIT,
)


@pytest.fixture
def world() -> tuple[ClearingSystem, BankCores]:
    caps = {NodeKind.NPC: 1_000_00, NodeKind.CCPC: 1_000_00}
    banks = [
        Participant(A, "1000", caps=caps),
        Participant(C, "2900", caps=caps),
        Participant(A1, "1000", direct=False, via=A),
    ]
    system = ClearingSystem(banks, start=T0, books=MemoryBooks())
    for code in (A, C):
        system.books.fund(code, 10**10)
    cores = BankCores(system, opening=10**9)
    yield system, cores
    cores.close()


def customers(cores: BankCores, bank: str) -> int:
    """The bank's customers' money: what its deposits owe them (credits minus debits)."""
    return -cores.balance(bank, "customers")


def test_a_day_of_holds_postings_and_voids(world: tuple[ClearingSystem, BankCores]) -> None:
    system, cores = world
    opening = 10**9
    system.submit_item(Item("I1", OC, A1, C, 100_00))  # nets at once (A's group pays)
    system.submit_item(Item("Q1", OC, A, C, 2_000_00))  # over A's cap: queues
    system.submit_item(Item("R1", RC, A, C, 50_00))  # awaits C's receipt
    system.submit_item(Item("D1", OD, A, C, 30_00))  # C collects from A: awaits A's receipt
    cores.sync()
    assert customers(cores, A) == opening  # holds are pending, not posted
    assert cores.account(A, "customers").debits_pending == 2_000_00 + 50_00  # Q1, R1 held
    system.revoke_packet("Q1", A)
    system.reverse("R1", A)
    system.submit_receipt(Receipt("D1", A, "00"))
    cores.sync()
    pool = cores.account(A, "customers")
    assert pool.debits_pending == 0 and pool.debits_posted == 30_00
    assert customers(cores, A) == opening - 30_00
    assert customers(cores, A1) == opening - 100_00
    assert customers(cores, C) == opening + 130_00
    assert cores.balance(A, "agency", A1) == 100_00  # A1's account at A went down
    system.close_round()
    checks = cores.check(T0.date())
    assert all(c.matches for c in checks), checks
    by_bank = {c.bank: c for c in checks}
    assert by_bank[A].reserve_core == by_bank[A].reserve_pboc == -130_00
    assert by_bank[C].reserve_core == 130_00 and by_bank[A1].reserve_core is None
    assert all(cores.balance(b, "clearing") == 0 for b in (A, C, A1))


def test_a_return_undoes_the_original(world: tuple[ClearingSystem, BankCores]) -> None:
    system, cores = world
    system.submit_item(Item("O1", OC, A, C, 70_00))
    system.submit_return("O1", "RET1")
    system.close_round()
    cores.sync()
    assert customers(cores, A) == customers(cores, C) == 10**9
    assert all(c.matches and c.customer_net == 0 for c in cores.check(T0.date()))
