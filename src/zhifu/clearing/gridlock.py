"""Gridlock resolution: the largest set of queued items that can net together (pure).

Queues at a node can block each other: A's head waits for room that only B's queued payment to
A would give, B's head waits on C, C's on A. Each head alone exceeds its payer's room, yet
netted *together* every bank stays within its cap. The resolver finds the largest such set
that keeps each queue's FIFO order, so what it releases is a prefix of every queue.

The algorithm (the FIFO-preserving one of Bech and Soramäki, *Gridlock resolution in
interbank payment systems*, Bank of Finland discussion paper 9/2001; ``docs/clearing.md``
§13) starts from every queued item and removes, for a bank that would end over its cap, the
last item of its queue, until no bank does:

* a bank is over its cap when it releases at least one item and ``available - out + in < 0``,
  ``out`` being what it releases and ``in`` what the others release to it;
* removing a bank's last item lowers its ``out`` and its payee's ``in``, so only that payee can
  newly go over: a work list holds the banks to look at, and each item is removed at most once
  (linear in the number of items).

Why the result is the largest: for two feasible choices of prefixes, the longer prefix of each
queue is feasible too (a bank then pays what it pays in one of the two and receives at least
as much), so a greatest feasible choice exists; and a bank over its cap under a choice above
every feasible one must be shortened in all of them (same ``out``, no more ``in``), so the
removal never drops an item of the greatest one.

A bank that releases nothing only receives, so it can never be made worse off; a cap already
overdrawn (lowered below what is used) only stops that bank's own queue.

>>> queues = {"A": [("B", 50)], "B": [("C", 50)], "C": [("A", 50)]}
>>> resolve(queues, {"A": 10, "B": 10, "C": 10})
{'A': 1, 'B': 1, 'C': 1}
>>> resolve({"A": [("B", 50), ("B", 90)], "B": [("A", 60)]}, {"A": 10, "B": 10})
{'A': 1, 'B': 1}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["Payment", "balances_after", "resolve"]

Payment = tuple[str, int]
"""A queued item as the resolver sees it: the payee bank and the amount in fen."""


def resolve(
    queues: Mapping[str, Sequence[Payment]], available: Mapping[str, int]
) -> dict[str, int]:
    """How many items of each bank's queue (from its head) can net at once; see the module."""
    take = {bank: len(queue) for bank, queue in queues.items()}
    out = {bank: sum(amount for _, amount in queue) for bank, queue in queues.items()}
    incoming: dict[str, int] = {}
    for queue in queues.values():
        for payee, amount in queue:
            incoming[payee] = incoming.get(payee, 0) + amount

    def short(bank: str) -> bool:
        room = available.get(bank, 0) - out[bank] + incoming.get(bank, 0)
        return take[bank] > 0 and room < 0

    work = [bank for bank in queues if short(bank)]
    while work:
        bank = work.pop()
        queue = queues[bank]
        while short(bank):
            take[bank] -= 1
            payee, amount = queue[take[bank]]
            out[bank] -= amount
            incoming[payee] -= amount
            if payee in take and short(payee):
                work.append(payee)
    return take


def balances_after(
    queues: Mapping[str, Sequence[Payment]], available: Mapping[str, int], take: Mapping[str, int]
) -> dict[str, int]:
    """Each bank's room under its cap once the chosen prefixes have netted (for checks)."""
    room = {bank: available.get(bank, 0) for bank in {*available, *queues}}
    for bank, queue in queues.items():
        for payee, amount in queue[: take.get(bank, 0)]:
            room[bank] -= amount
            room[payee] = room.get(payee, 0) + amount
    return room
