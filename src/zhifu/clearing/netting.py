"""Bilateral netting with net debit caps and the FIFO netting queue (pure: no clock, no I/O).

Every accepted credit and every successful debit receipt nets at once into the current round's
bilateral position of its pair of clearing banks at its node. Before that, the net debit cap of
the *payer* clearing bank at that node is checked with the digest's formula
(docs/standards/clearing.md §1.5)::

    available = cap - max(0, -unsettled) + current

where ``unsettled`` is the signed net of the rounds already submitted to SAPS but not settled
(only a net debit consumes the cap) and ``current`` the signed net of the open round (a net
credit adds room). An item fits when ``amount <= available``. A non-real-time item that does
not fit queues FIFO (PR11) behind the payer's earlier queued items at that node, and is released
as soon as room appears (a credit received, a settlement, a larger cap, a revocation ahead of
it); a real-time item that does not fit is rejected. Releases cascade: a released item gives
its payee room, which may release the payee's queue, and so on.

Positions are kept as ``(node, a, b) -> net`` with bank codes ``a < b`` and ``net`` the amount
``b`` owes ``a``; they always sum to zero per participant and round (asserted).

>>> book = NettingBook({("A", "NPC"): 100}, (date(2025, 10, 1), 1))
>>> book.submit(Entry("1", "A", "B", "NPC", 80, False)).outcome.name
'NETTED'
>>> book.submit(Entry("2", "A", "B", "NPC", 30, False)).outcome.name
'QUEUED'
>>> [e.item_id for e in book.submit(Entry("3", "B", "A", "NPC", 10, False)).released]
['2']
>>> book.available("A", "NPC"), book.bilateral[book.current]
(0, {('NPC', 'A', 'B'): -100})
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from zhifu.clearing.gridlock import resolve
from zhifu.clearing.rounds import RoundKey, participant_nets


class Outcome(Enum):
    """What netting did with an entry."""

    NETTED = "netted"
    QUEUED = "queued"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Entry:
    """A request to net ``amount`` fen from the payer clearing bank to the payee one."""

    item_id: str
    payer: str
    payee: str
    node: str
    amount: int
    real_time: bool


@dataclass(frozen=True, slots=True)
class Netted:
    """The outcome of a submission, and the queued entries it released (netted meanwhile)."""

    outcome: Outcome
    released: tuple[Entry, ...] = ()


_NETTED = Netted(Outcome.NETTED)


@dataclass
class NettingBook:
    """Positions, caps and queues of every node (see the module docstring)."""

    caps: dict[tuple[str, str], int]  # (clearing bank, node or node kind) -> fen
    current: RoundKey
    bilateral: dict[RoundKey, dict[tuple[str, str, str], int]] = field(default_factory=dict)
    open_net: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    unsettled: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    queues: dict[tuple[str, str], deque[Entry]] = field(default_factory=dict)

    def cap(self, bank: str, node: str) -> int:
        """The cap at a node: set for the node itself, else for its kind (NPC/CCPC)."""
        found = self.caps.get((bank, node))
        if found is None:
            found = self.caps.get((bank, "NPC" if node == "NPC" else "CCPC"), 0)
        return found

    def available(self, bank: str, node: str) -> int:
        """Room left under the cap (docs/standards/clearing.md §1.5 formula)."""
        key = (bank, node)
        return (
            self.cap(bank, node) - max(0, -self.unsettled.get(key, 0)) + self.open_net.get(key, 0)
        )

    def submit(self, entry: Entry) -> Netted:
        """Net an entry now, queue it, or reject it (real time over the cap)."""
        if entry.payer == entry.payee:
            return Netted(Outcome.NETTED)  # one clearing bank on both sides: nothing to net
        queue = self.queues.get((entry.payer, entry.node))
        if not entry.real_time and queue:
            queue.append(entry)
            return Netted(Outcome.QUEUED)
        if entry.amount <= self.available(entry.payer, entry.node):
            self._apply(entry)
            if not self.queues:
                return _NETTED
            return Netted(Outcome.NETTED, self.release([(entry.payee, entry.node)]))
        if entry.real_time:
            return Netted(Outcome.REJECTED)
        self.queues.setdefault((entry.payer, entry.node), deque()).append(entry)
        return Netted(Outcome.QUEUED)

    def _apply(self, entry: Entry) -> None:
        payer, payee, node, amount = entry.payer, entry.payee, entry.node, entry.amount
        positions = self.bilateral.setdefault(self.current, {})
        if payer < payee:
            key, signed = (node, payer, payee), -amount
        else:
            key, signed = (node, payee, payer), amount
        positions[key] = positions.get(key, 0) + signed
        self.open_net[payer, node] -= amount
        self.open_net[payee, node] += amount

    def release(self, keys: Iterable[tuple[str, str]]) -> tuple[Entry, ...]:
        """Net queued entries that now fit, head first, cascading to their payees."""
        work = deque(keys)
        released: list[Entry] = []
        while work:
            key = work.popleft()
            queue = self.queues.get(key)
            while queue and queue[0].amount <= self.available(*key):
                entry = queue.popleft()
                self._apply(entry)
                released.append(entry)
                work.append((entry.payee, entry.node))
            if queue is not None and not queue:
                del self.queues[key]
        return tuple(released)

    def release_all(self) -> tuple[Entry, ...]:
        """Try every queue (after settlement or a cap change)."""
        return self.release(sorted(self.queues))

    def remove(self, item_ids: set[str]) -> tuple[Entry, ...]:
        """Take entries out of the queues (revocation); release what then fits."""
        touched = []
        for key, queue in list(self.queues.items()):
            kept = deque(e for e in queue if e.item_id not in item_ids)
            if len(kept) != len(queue):
                touched.append(key)
                self.queues[key] = kept
        return self.release(touched)

    def resolve_gridlock(self, node: str | None = None) -> tuple[Entry, ...]:
        """Net together the largest FIFO-respecting set of queued entries that keeps every
        payer within its cap (:mod:`zhifu.clearing.gridlock`), at one node or at all; then
        release what fits after them."""
        nodes = sorted({n for _, n in self.queues} if node is None else {node})
        released: list[Entry] = []
        for one in nodes:
            keys = sorted(k for k in self.queues if k[1] == one)
            queues = {bank: [(e.payee, e.amount) for e in self.queues[bank, n]] for bank, n in keys}
            available = {bank: self.available(bank, one) for bank in queues}
            for payments in queues.values():
                for payee, _ in payments:
                    available.setdefault(payee, self.available(payee, one))
            take = resolve(queues, available)
            for key in keys:
                queue = self.queues[key]
                for _ in range(take[key[0]]):
                    entry = queue.popleft()
                    self._apply(entry)
                    released.append(entry)
                if not queue:
                    del self.queues[key]
            released += self.release(k for k in keys if k in self.queues)
        return tuple(released)

    def queued_ids(self) -> list[str]:
        return [e.item_id for q in self.queues.values() for e in q]

    def set_cap(self, bank: str, node: str, amount: int) -> tuple[Entry, ...]:
        """Change a cap (a node kind or one node); release what then fits."""
        self.caps[bank, node] = amount
        return self.release([k for k in sorted(self.queues) if k[0] == bank])

    def close_round(self, next_round: RoundKey) -> dict[tuple[str, str], int]:
        """Submit the open round: its per-participant nets join ``unsettled``; open the next."""
        nets = participant_nets(self.bilateral.get(self.current, {}))
        nonzero = {k: v for k, v in nets.items() if v}
        assert nonzero == {k: v for k, v in self.open_net.items() if v}, "positions diverged"
        for key, net in nets.items():
            self.unsettled[key] += net
        self.open_net = defaultdict(int)
        self.current = next_round
        return nets

    def settle(self, nets: Mapping[tuple[str, str], int]) -> tuple[Entry, ...]:
        """Settled rounds stop consuming the caps; release what then fits."""
        for key, net in nets.items():
            self.unsettled[key] -= net
        assert sum(self.unsettled.values()) == 0
        return self.release_all()

    def check(self) -> None:
        """Assert the invariants: every round's positions and the open nets sum to zero."""
        for positions in self.bilateral.values():
            participant_nets(positions)
        assert sum(self.open_net.values()) == 0
        assert sum(self.unsettled.values()) == 0


def first_round(day: date) -> RoundKey:
    """Round 1 of a BEPS date."""
    return (day, 1)
