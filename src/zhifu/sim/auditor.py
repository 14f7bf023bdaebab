"""The auditor: the books recomputed from what the terminals were told, against the real ones.

Once the network has healed and every pending reversal was sent, what each party holds must
follow from what each terminal was told (its *effective* operations: approved and not
reversed; a refund advice that got no answer is in doubt — the terminal tried it twice and
gave up — and counts as the issuer recorded it):

``books``
    every card's balance is its opening less its effective purchases plus its effective voids
    and refunds;
``merchant``
    the merchant's pending settlement is its effective purchases less voids and refunds;
``ledger``
    the ledger balances (debits = credits, :meth:`zhifu.ledger.Ledger.check`);
``records``
    the acquirer's record (answered ``00``, not reversed) of each transaction is what the
    terminal was told (what batch settlement will pay the merchant);
``issuer``
    the acquirer asked the issuer at most once per transaction id: a retransmission is
    answered from the acquirer's record;
``reversal``
    no terminal still holds a reversal;
``doubt``
    after a last restart, no transaction is left in doubt at the acquirer.

Each failure is one line that starts with its name (``books: ...``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from zhifu.acquirer.host import AcquirerHost
from zhifu.issuer.link import transaction_id
from zhifu.sim.workload import Actor, Op
from zhifu.sim.world import World

__all__ = ["Witness", "audit", "txn_id"]

_MONEY_KINDS = ("purchase", "void", "refund")
_ANSWERS = "SELECT id, field_39 FROM card_txns WHERE kind != ?"


class Witness:
    """Counts the acquirer's authorisation requests to the issuer, per transaction id."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()

    def install(self, host: AcquirerHost) -> None:
        """Count through ``host``'s issuer (wraps its ``authorize`` on the instance)."""
        issuer = host.services.issuer
        if issuer is None:
            return
        real = issuer.authorize

        def authorize(request: Any) -> Any:
            self.asked[request.transaction_id] += 1
            return real(request)

        setattr(issuer, "authorize", authorize)  # noqa: B010 - one instance


def txn_id(actor: Actor, op: Op) -> str:
    """The transaction id of an operation's request ('' when no request left)."""
    if op.result is None or not op.result.stan:
        return ""
    return transaction_id(actor.terminal.state.terminal_id, op.result.batch, op.result.stan)


def audit(world: World, actors: list[Actor], witness: Witness) -> list[str]:
    """Every invariant that does not hold, one line each (empty: the run is sound)."""
    ops = [(actor, op) for actor in actors for op in actor.done if op.kind in _MONEY_KINDS]
    effective = _effective(world, ops)
    failures = _reversals(actors)
    failures += _cards(world, ops, effective)
    failures += _merchant(world, ops, effective)
    if not world.ledger.check().balanced:
        failures.append("ledger: debits and credits do not balance")
    failures += _records(world, ops, effective)
    failures += _once(witness, [(actor, op) for actor in actors for op in actor.done])
    failures += _doubt(world)
    return failures


def _effective(world: World, ops: list[tuple[Actor, Op]]) -> set[str]:
    """The transaction ids whose money the terminals' side says moved."""
    found: set[str] = set()
    store = world.issuer.store
    for actor, op in ops:
        ident = txn_id(actor, op)
        if not ident:
            continue
        if op.approved:
            found.add(ident)
        elif op.kind == "refund" and not op.answered:
            answer = store.answer(ident)  # the issuer does not reverse a refund (an advice)
            if answer is not None and answer.field_39 == "00" and not store.reversal(ident):
                found.add(ident)
    return found


def _signed(actor: Actor, op: Op, effective: set[str]) -> int:
    """What ``op`` moved from the card to the merchant (fen; 0 when not effective)."""
    if txn_id(actor, op) not in effective:
        return 0
    if op.kind == "purchase":
        return op.amount
    if op.kind == "void" and op.original is not None:
        return -op.original.amount
    return -op.amount


def _reversals(actors: list[Actor]) -> list[str]:
    return [
        f"reversal: terminal {actor.terminal.state.terminal_id} still holds a reversal "
        f"(STAN {(actor.terminal.state.pending_reversal or {}).get('fields', {}).get('11', '?')}) "
        "after the network healed"
        for actor in actors
        if actor.reversal_pending
    ]


def _cards(world: World, ops: list[tuple[Actor, Op]], effective: set[str]) -> list[str]:
    failures = []
    for card in world.cards:
        mine = [(actor, op) for actor, op in ops if op.card == card.number]
        expected = card.opening - sum(_signed(actor, op, effective) for actor, op in mine)
        actual = world.balance(card)
        if actual != expected:
            hint = _hint(mine, effective, actual - expected)
            failures.append(
                f"books: card {card.number} ({card.masked_pan}) holds {actual} fen, "
                f"expected {expected}{hint}"
            )
    return failures


def _hint(ops: Iterable[tuple[Actor, Op]], effective: set[str], difference: int) -> str:
    """Which purchase explains a card's difference, when one does."""
    for actor, op in ops:
        if op.kind != "purchase" or op.amount != -difference:
            continue
        if txn_id(actor, op) in effective:
            return f": charged twice for STAN {op.stan}"
        return f": charged for STAN {op.stan}, which the terminal was not told approved"
    for actor, op in ops:
        if op.kind == "purchase" and op.amount == difference and txn_id(actor, op) in effective:
            return f": STAN {op.stan} approved but not charged"
    return ""


def _merchant(world: World, ops: list[tuple[Actor, Op]], effective: set[str]) -> list[str]:
    expected = sum(_signed(actor, op, effective) for actor, op in ops)
    actual = world.merchant_pending()
    if actual != expected:
        return [f"merchant: pending settlement {actual} fen, expected {expected}"]
    return []


def _records(world: World, ops: list[tuple[Actor, Op]], effective: set[str]) -> list[str]:
    database = world.live().database
    answered = {
        str(ident) for ident, code in database.query(_ANSWERS, ("balance",)) if code == "00"
    }
    reversed_ids = {
        str(row[0]) for row in database.query("SELECT id FROM card_reversals WHERE field_39='00'")
    }
    failures = []
    for actor, op in ops:
        ident = txn_id(actor, op)
        if not ident:
            continue
        acquirer = ident in answered and ident not in reversed_ids
        if acquirer != (ident in effective):
            told = "approved" if ident in effective else "no approval"
            held = "an approval" if acquirer else "no approval"
            failures.append(
                f"records: {op.kind} STAN {op.stan} of terminal {ident[:8]}: the terminal's side "
                f"says {told}, the acquirer holds {held}"
            )
    return failures


def _once(witness: Witness, ops: list[tuple[Actor, Op]]) -> list[str]:
    by_id = {txn_id(actor, op): op for actor, op in ops}
    failures = []
    for ident, count in sorted(witness.asked.items()):
        if count > 1:
            op = by_id.get(ident)
            what = f"{op.kind} STAN {op.stan}" if op is not None else ident
            failures.append(
                f"issuer: {what} of terminal {ident[:8]} authorised {count} times "
                "(a retransmission not answered from the acquirer's record)"
            )
    return failures


def _doubt(world: World) -> list[str]:
    rows = world.live().database.query("SELECT id FROM card_in_doubt ORDER BY id")
    return [f"doubt: {row[0]} still in doubt after a restart" for row in rows]
