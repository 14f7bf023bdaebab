"""One seeded run: the world, the workload through the faulty network, the healing, the audit.

:func:`run_seed` builds a fresh world in a temporary folder, draws every decision from one
``random.Random(seed)`` (the workload, each message's fate, each frame's fault) and keeps a
virtual clock (the host's clock is a :class:`~zhifu.core.clock.FixedClock` moved to each
event's time). Events are popped by time, ties in the order they were scheduled, on one thread:
the same seed gives the same order of everything the event log records.

The event log holds only what the seed decides: times, terminals, exchanges, MTIs, STANs,
amounts, response codes, fault decisions, outcomes and the final balances — never a key, a
PAN, an RRN, a date or a cryptogram (those come from the operating system's randomness and the
wall clock, which the domain code uses for keys, PANs and field 12/13). Its SHA-256 is
:attr:`SimResult.event_log_hash`.

After the workload's steps the network heals (no more faults), the host is restarted once more
(its recovery runs), and every terminal sends its pending reversal until the host takes it;
then :func:`zhifu.sim.auditor.audit` checks the books.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.sim.auditor import Witness, audit
from zhifu.sim.faults import Crash, Injector
from zhifu.sim.network import TIMEOUT_MS, EventQueue, Faults, Network
from zhifu.sim.workload import Actor, Op, choose
from zhifu.sim.world import World, field_of, frame_of, reply_of
from zhifu.terminal.link import NoAnswerError

__all__ = ["SimResult", "repro_line", "run_seed"]

START: Final = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
OPENING: Final = 50_000
"""Each card's opening balance (fen)."""
RESTART_MS: Final = 1_500
"""How long the host stays down after a crash."""
_THINK: Final = (5, 400)
_HEAL_ROUNDS: Final = 3
_MAX_EVENTS: Final = 1_000_000


@dataclasses.dataclass(frozen=True)
class SimResult:
    """What one seed came to: ``ok`` when the auditor found nothing."""

    seed: int
    ok: bool
    event_log_hash: str
    failures: tuple[str, ...]
    repro: str
    stats: dict[str, int]
    events: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The result without its event log."""
        return {
            "seed": self.seed, "ok": self.ok, "event_log_hash": self.event_log_hash,
            "failures": list(self.failures), "repro": self.repro, "stats": self.stats,
        }  # fmt: skip


@dataclasses.dataclass(frozen=True)
class _Event:
    kind: str  # wake, to-host, to-terminal, timeout, restart
    actor: int = -1
    exchange: int = 0
    data: bytes = b""


def repro_line(seed: int, *, terminals: int, steps: int, faults: Faults) -> str:
    """The command that runs this seed again."""
    line = f"zhifu sim --seed {seed} --steps {steps}"
    if terminals != 2:
        line += f" --terminals {terminals}"
    if faults != Faults():
        line += f" --faults {faults.text()}"
    return line


def run_seed(
    seed: int, *, terminals: int = 2, steps: int = 40, faults: Faults | None = None,
    cards: int = 3, keep_log: bool = False,
) -> SimResult:  # fmt: skip
    """Run the simulation of ``seed`` and audit it (see the module docstring). An error that
    escapes the world (a bug the host did not turn into an answer) fails the seed too."""
    chosen = faults if faults is not None else Faults()
    with tempfile.TemporaryDirectory(prefix="zhifu-sim-", dir=_fast_folder()) as folder:
        sim = _Simulation(seed, Path(folder), chosen, terminals=terminals, cards=cards)
        try:
            failures = sim.run(steps)
        except Exception as exc:
            failures = [f"error: {type(exc).__name__} escaped: {' '.join(str(exc).split())}"]
            sim.log.append(f"ERROR {failures[0]}")
        finally:
            sim.world.close()
    digest = hashlib.sha256("\n".join(sim.log).encode()).hexdigest()
    repro = repro_line(seed, terminals=terminals, steps=steps, faults=chosen)
    if failures:
        repro += f"  # {failures[0]}"
    return SimResult(seed, not failures, digest, tuple(failures), repro, dict(sim.stats),
                     tuple(sim.log) if keep_log else ())  # fmt: skip


def _fast_folder() -> str | None:
    """Memory-backed /dev/shm when there is one (the stores sync at every commit)."""
    shm = Path("/dev/shm")  # noqa: S108 - a private temporary folder is made inside
    return str(shm) if shm.is_dir() and _writable(shm) else None


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


class _Simulation:
    """The event loop of one run."""

    def __init__(
        self, seed: int, folder: Path, faults: Faults, *, terminals: int, cards: int
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a simulation, deliberately seeded
        self.faults = faults
        self.clock = FixedClock(START)
        self.now = 0
        self.queue: EventQueue[_Event] = EventQueue()
        self.network = Network(self.rng, faults)
        self.injector = Injector(self.rng, faults)
        self.witness = Witness()
        self.world = World(folder, self.clock)
        self.log: list[str] = []
        self.stats: dict[str, int] = {}
        self.budget = 0
        self.numbered = 0
        self.world.open_host()
        self._hook()
        self.world.issue_cards(cards, OPENING)
        self.world.add_terminals(terminals)
        self.actors = [Actor(n, term) for n, term in enumerate(self.world.terminals)]

    def _hook(self) -> None:
        host = self.world.live()
        self.injector.install(host)
        self.witness.install(host)

    def _note(self, text: str) -> None:
        self.log.append(f"{self.now:>8} {text}")

    def _count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1

    # ------------------------------------------------------------------ the run

    def run(self, steps: int) -> list[str]:
        self.budget = steps
        for actor in self.actors:
            self.queue.push(self.rng.randint(*_THINK), _Event("wake", actor.index))
        self._loop()
        self._heal()
        for card in self.world.cards:
            self._note(f"card {card.number} balance {self.world.balance(card)}")
        self._note(f"merchant pending {self.world.merchant_pending()}")
        failures = audit(self.world, self.actors, self.witness)
        for failure in failures:
            self._note(f"AUDIT {failure}")
        return failures

    def _loop(self) -> None:
        handled = 0
        while self.queue:
            at, event = self.queue.pop()
            if at > self.now:
                self.clock.advance((at - self.now) / 1000)
                self.now = at
            handled += 1
            if handled > _MAX_EVENTS:
                raise RuntimeError("the simulation does not settle")
            getattr(self, "_on_" + event.kind.replace("-", "_"))(event)

    def _heal(self) -> None:
        """No more faults; a last clean restart; the pending reversals sent."""
        self.network.faults = self.injector.faults = Faults.none()
        self._note("heal: the network heals; the host restarts")
        self.world.restart()
        self._hook()
        for _ in range(_HEAL_ROUNDS):
            pending = [actor for actor in self.actors if actor.reversal_pending]
            if not pending:
                break
            for actor in pending:
                self._start(actor, Op(self._number(), actor.index, "reversal", -1))
            self._loop()

    def _number(self) -> int:
        self.numbered += 1
        return self.numbered

    # ------------------------------------------------------------------ terminals

    def _on_wake(self, event: _Event) -> None:
        actor = self.actors[event.actor]
        if actor.busy or self.budget <= 0:
            return
        self.budget -= 1
        held = {other.op.card for other in self.actors if other.op is not None}
        free = [card.number for card in self.world.cards if card.number not in held]
        op = choose(self.rng, self._number(), actor.index, actor.done, free=free)
        self._start(actor, op)

    def _start(self, actor: Actor, op: Op) -> None:
        original = f" original={op.original.stan}" if op.original is not None else ""
        self._note(f"T{actor.index} op {op.number} {op.kind} card={op.card} amount={op.amount}"
                   f"{original}")  # fmt: skip
        self._count(op.kind)
        actor.begin(op, self.world.cards)
        self._advance(actor, None)

    def _advance(self, actor: Actor, reply: Any) -> None:
        """Give the steps the answer (None: start them); send what they yield next."""
        steps = actor.steps
        assert steps is not None
        try:
            request, body = next(steps) if reply is None else steps.send(reply)
        except StopIteration as stop:
            op = actor.finish(stop.value)
            self._note(f"T{actor.index} op {op.number} done: {op.outcome()}")
            if op.kind != "reversal":
                self.queue.push(self.now + self.rng.randint(*_THINK), _Event("wake", actor.index))
            return
        actor.exchange += 1
        actor.request, actor.body, actor.waiting = request, body, True
        frame = frame_of(request, body)
        plan = self.network.plan(self.now)
        self._note(f"T{actor.index} x{actor.exchange} send {request.mti} "
                   f"stan={request.get('11')} amount={request.get('4') or '-'} "
                   f"fate={_fate(self.now, plan)}")  # fmt: skip
        for at in plan:
            self.queue.push(at, _Event("to-host", actor.index, actor.exchange, frame[2:]))
        self.queue.push(self.now + TIMEOUT_MS, _Event("timeout", actor.index, actor.exchange))

    def _on_to_terminal(self, event: _Event) -> None:
        actor = self.actors[event.actor]
        if not actor.waiting or actor.exchange != event.exchange:
            self._note(f"T{actor.index} x{event.exchange} answer too late: dropped")
            return
        actor.waiting = False
        self._note(f"T{actor.index} x{event.exchange} answer received")
        assert actor.request is not None
        self._advance(actor, reply_of(actor.request, actor.body, event.data))

    def _on_timeout(self, event: _Event) -> None:
        actor = self.actors[event.actor]
        if not actor.waiting or actor.exchange != event.exchange:
            return
        actor.waiting = False
        self._note(f"T{actor.index} x{event.exchange} timeout")
        self._advance(actor, NoAnswerError(f"no answer within {TIMEOUT_MS} ms (simulated)"))

    # ------------------------------------------------------------------ the host

    def _on_to_host(self, event: _Event) -> None:
        host = self.world.host
        where = f"host <- T{event.actor} x{event.exchange}"
        if host is None:
            self._note(f"{where}: host down, refused")
            return
        fault = self.injector.arm()
        try:
            reply = host.handle(event.data, peer=f"T{event.actor}", received_at=self.clock.now())
        except Crash as crash:
            self._crash(where, crash.point)
            return
        except Exception as exc:
            self._note(f"{where}: {self.injector.fired or 'failed'} "
                       f"({type(exc).__name__}): connection closed")  # fmt: skip
            self._count("disk")
            return
        finally:
            self.injector.disarm()
        if fault == "crash:answered":
            self._crash(where, "answered")
            return
        fired = f" [{self.injector.fired}]" if self.injector.fired else ""
        if self.injector.fired:
            self._count("disk")
        if reply.frame is None:
            self._note(f"{where}: no answer{fired}")
            return
        body = reply.frame[2:]
        plan = self.network.plan(self.now)
        self._note(f"{where}: answer {field_of(body, '39') or '--'}{fired} "
                   f"fate={_fate(self.now, plan)}")  # fmt: skip
        for at in plan:
            self.queue.push(at, _Event("to-terminal", event.actor, event.exchange, body))

    def _crash(self, where: str, point: str) -> None:
        self._note(f"{where}: CRASH at {point}; restart in {RESTART_MS} ms")
        self._count("crash")
        self.world.crash()
        self.queue.push(self.now + RESTART_MS, _Event("restart"))

    def _on_restart(self, event: _Event) -> None:
        self.world.restart()
        self._hook()
        self._note("host restarted")


def _fate(now: int, plan: list[int]) -> str:
    """``lost``, or the delays of the deliveries (``+12``, ``+12+3400``)."""
    return "lost" if not plan else "".join(f"+{at - now}" for at in plan)
