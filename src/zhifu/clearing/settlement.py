"""Settlement in SAPS: net positions posted to the central-bank accounts, all or nothing.

Every ledger call of the clearing package is in this module. Each direct participant has a
settlement account at the PBOC (chart 10031 ``pboc_reserve``: it can never go below zero) and
a funding account standing for the rest of its balance sheet (chart 20112), from which
:meth:`LedgerBooks.fund` pays reserves in. One BEPS clearing account (chart 30013
``interbank_settlement``) sits in the middle of every settlement batch: a net payer's reserve is
credited against it, a net receiver's reserve debited against it, all transfers of the batch
linked, so the batch applies whole or not at all (a payer without the funds fails it; SAPS then
keeps the rounds queued for settlement, PR12). After a batch the clearing account is back to
zero.

**Once only.** Batch ids follow the order of the calls (the *n*-th funding or settlement batch of
a run has the same ids in every run of the same events), so the books of ``zhifu serve``, which
outlive the process, recognise a batch they already hold when the centres' event log is
replayed after a restart: a batch found with the same legs counts as done and is not written
again; one found with other legs raises :class:`BooksMismatchError`. While ``replaying`` is set the
books write nothing and answer from what they hold (a batch not there failed when it ran: the
engine posts a batch before the event that follows it is logged).

>>> from datetime import date
>>> books = LedgerBooks.in_memory()
>>> books.open_participants(["102100099996", "103100000026"])
>>> books.fund("102100099996", 1_000_00)
True
>>> books.post(date(2025, 10, 9), {"102100099996": -300_00, "103100000026": 300_00})
True
>>> books.reserve_balance("102100099996"), books.reserve_balance("103100000026")
(70000, 30000)
>>> books.post(date(2025, 10, 9), {"102100099996": -900_00, "103100000026": 900_00})
False
>>> books.reserve_balance("102100099996"), books.balanced()
(70000, True)

The same calls again on the same ledger (a replay after a restart) find their batches:

>>> again = LedgerBooks(books.ledger)
>>> again.replaying = True
>>> again.fund("102100099996", 1_000_00), again.post(date(2025, 10, 9), {
...     "102100099996": -300_00, "103100000026": 300_00})
(True, True)
>>> again.post(date(2025, 10, 9), {"102100099996": -900_00, "103100000026": 900_00})
False
>>> again.reserve_balance("102100099996")
70000
>>> books.close()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Final, Protocol

from zhifu.core.errors import UsageError, ZhifuError
from zhifu.ledger import Account, Ledger, Transfer, TransferFlags
from zhifu.ledger.chart import BY_KEY, LEDGER_CNY
from zhifu.ledger.results import CreateAccountResult, CreateTransferResult

_BASE: Final = 0xBE95 << 96  # every id of this module starts with this tag
_RESERVE, _FUNDING, _CLEARING = 1, 2, 3  # account kinds (bits 64..71 of the id)
CODE_SETTLEMENT: Final = 1  # transfer codes
CODE_FUNDING: Final = 2
RESERVE: Final = BY_KEY["pboc_reserve"]
FUNDING: Final = BY_KEY["corporate_deposits"]
CLEARING: Final = BY_KEY["interbank_settlement"]


class BooksMismatchError(ZhifuError):
    """The books hold a batch under the ids of the one being posted, with other legs: they
    belong to another run than the event log being replayed."""


class SettlementBooks(Protocol):
    """What clearing needs from the books (the ledger, or a test double).

    ``replaying`` is set while an event log is replayed: books that outlive the process then
    answer from what they hold and write nothing (books in memory just post).
    """

    replaying: bool

    def open_participants(self, codes: Iterable[str]) -> None:
        """Open the accounts of direct participants (idempotent)."""
        ...

    def fund(self, bank: str, amount: int) -> bool:
        """Pay ``amount`` fen into a participant's settlement account."""
        ...

    def post(self, settlement_date: date, nets: Mapping[str, int]) -> bool:
        """Post per-bank nets (positive: receives) in one all-or-nothing batch."""
        ...

    def reserve_balance(self, bank: str) -> int:
        """A participant's settlement account balance, in fen."""
        ...

    def balanced(self) -> bool:
        """Whether the books check out (conservation, limits, clearing account at zero)."""
        ...

    def close(self) -> None:
        """Release the books (a database connection, a writer thread)."""
        ...


def account_id(kind: int, bank: str) -> int:
    """The ledger id of a participant's account (or of the clearing account, bank "0")."""
    return _BASE | (kind << 64) | int(bank)


CLEARING_ID: Final = account_id(_CLEARING, "0")


class LedgerBooks:
    """:class:`SettlementBooks` on a :class:`zhifu.ledger.Ledger`."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.replaying = False
        self._batch = 0
        ok = (CreateAccountResult.OK, CreateAccountResult.EXISTS)
        results = ledger.create_accounts([Account(CLEARING_ID, LEDGER_CNY, CLEARING.code)])
        assert results[0] in ok

    @classmethod
    def in_memory(cls) -> LedgerBooks:
        return cls(Ledger.open("sqlite://"))

    def open_participants(self, codes: Iterable[str]) -> None:
        accounts = []
        for code in codes:
            accounts.append(
                Account(account_id(_RESERVE, code), LEDGER_CNY, RESERVE.code, RESERVE.flags)
            )
            accounts.append(Account(account_id(_FUNDING, code), LEDGER_CNY, FUNDING.code))
        for start in range(0, len(accounts), 8000):
            for result in self.ledger.create_accounts(accounts[start : start + 8000]):
                if result not in (CreateAccountResult.OK, CreateAccountResult.EXISTS):
                    raise UsageError(f"cannot open account: {result.name}", argument="codes")

    def _next_id(self, index: int) -> int:
        return _BASE | (0xFF << 64) | (self._batch << 20) | index

    def fund(self, bank: str, amount: int) -> bool:
        if amount <= 0:
            raise UsageError("fund a positive amount", argument="amount")
        self._batch += 1
        transfer = Transfer(
            self._next_id(0),
            account_id(_RESERVE, bank),
            account_id(_FUNDING, bank),
            amount,
            LEDGER_CNY,
            CODE_FUNDING,
        )
        return self._apply([transfer])

    def post(self, settlement_date: date, nets: Mapping[str, int]) -> bool:
        if sum(nets.values()) != 0:
            raise UsageError("settlement nets must sum to zero", argument="nets")
        legs = [(bank, net) for bank, net in sorted(nets.items()) if net]
        if not legs:
            return True
        self._batch += 1
        stamp = int(settlement_date.strftime("%Y%m%d"))
        transfers = []
        for index, (bank, net) in enumerate(legs):
            reserve = account_id(_RESERVE, bank)
            debit, credit = (reserve, CLEARING_ID) if net > 0 else (CLEARING_ID, reserve)
            last = index == len(legs) - 1
            transfers.append(
                Transfer(
                    self._next_id(index),
                    debit,
                    credit,
                    abs(net),
                    LEDGER_CNY,
                    CODE_SETTLEMENT,
                    TransferFlags.NONE if last else TransferFlags.LINKED,
                    user_data_64=stamp,
                )
            )
        return self._apply(transfers)

    def _apply(self, transfers: Sequence[Transfer]) -> bool:
        """Create a linked batch unless the ledger holds it already (see the module docstring)."""
        held = self.ledger.lookup_transfers([t.id for t in transfers])
        if held:
            if len(held) != len(transfers) or any(map(_differs, held, transfers)):
                raise BooksMismatchError(
                    f"the settlement ledger holds batch {self._batch} with other legs: it "
                    "belongs to another run than the event log (move it away)"
                )
            return True
        if self.replaying:
            return False
        results = self.ledger.create_transfers(transfers)
        return all(r is CreateTransferResult.OK for r in results)

    def reserve_balance(self, bank: str) -> int:
        found = self.ledger.lookup_accounts([account_id(_RESERVE, bank)])
        if not found:
            raise UsageError("no settlement account for this bank", argument="bank")
        return found[0].debits_posted - found[0].credits_posted

    def balanced(self) -> bool:
        clearing = self.ledger.lookup_accounts([CLEARING_ID])[0]
        return self.ledger.check().balanced and clearing.debits_posted == clearing.credits_posted

    def close(self) -> None:
        self.ledger.close()


def _differs(held: Transfer, wanted: Transfer) -> bool:
    fields = ("debit_account_id", "credit_account_id", "amount", "code", "user_data_64")
    return any(getattr(held, name) != getattr(wanted, name) for name in fields)


class MemoryBooks:
    """A dictionary double of :class:`LedgerBooks` (same rules, no database)."""

    def __init__(self) -> None:
        self.replaying = False  # nothing outlives the process: a replay posts again
        self.reserves: dict[str, int] = {}
        self.posted: list[tuple[date, dict[str, int]]] = []

    def open_participants(self, codes: Iterable[str]) -> None:
        for code in codes:
            self.reserves.setdefault(code, 0)

    def fund(self, bank: str, amount: int) -> bool:
        if amount <= 0:
            raise UsageError("fund a positive amount", argument="amount")
        self.reserves[bank] += amount
        return True

    def post(self, settlement_date: date, nets: Mapping[str, int]) -> bool:
        if sum(nets.values()) != 0:
            raise UsageError("settlement nets must sum to zero", argument="nets")
        if any(self.reserves[bank] + net < 0 for bank, net in nets.items()):
            return False
        for bank, net in nets.items():
            self.reserves[bank] += net
        self.posted.append((settlement_date, dict(nets)))
        return True

    def reserve_balance(self, bank: str) -> int:
        return self.reserves[bank]

    def balanced(self) -> bool:
        return all(v >= 0 for v in self.reserves.values())

    def close(self) -> None:
        """Nothing to release."""
