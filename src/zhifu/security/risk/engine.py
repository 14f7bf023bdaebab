"""The risk engine: each event is assessed against the rules, the strongest outcome wins.

:meth:`RiskEngine.assess` first declines an event whose card, wallet, merchant, terminal, user
or key is on the block list (rule ``blocked``); then every rule watching the event's kind looks
at its window for the event's subject (bounded: entries older than the window are dropped, and
at most ``max_subjects`` subjects are followed per rule). Each rule that fires counts (for
Prometheus, :func:`prometheus_text`), is audited, and raises an :class:`Alert` kept in the
store (the console reads them) and handed to ``on_alert`` (the webhook) — once per rule and
subject within the rule's window (at least a minute): a card tried 50 times in a minute is one
alert, 45 declines and a count of 45. A ``block`` outcome
puts the subject on the block list; only a principal holding ``risk.manage`` lifts it, audited.
Time comes from the events, never from the wall clock, so a replayed day gives the same
verdicts.

>>> engine = RiskEngine(load_rules(), RiskStore.open(":memory:"))
>>> for second in range(3):
...     v = engine.assess(Event("mac.failure", at=float(second), terminal="10000001"))
>>> v.outcome, v.rules
('block', ('mac-failure-burst',))
>>> engine.assess(Event("card.purchase", at=4.0, terminal="10000001", card="c1")).rules
('blocked',)
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Final

from zhifu.core.errors import UsageError
from zhifu.security.access.errors import AccessError
from zhifu.security.access.permissions import Principal, allows
from zhifu.security.risk.geo import CITIES, distance_km
from zhifu.security.risk.rules import OUTCOMES, Rule, load_rules

__all__ = ["Alert", "Event", "RiskEngine", "RiskStore", "Verdict", "load_rules", "prometheus_text"]

BLOCKABLE: Final = ("card", "wallet", "merchant", "terminal", "user", "key")
Audit = Callable[[str, str, str, str], object]
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS blocks (kind TEXT NOT NULL, subject TEXT NOT NULL, at REAL NOT NULL,
    rule TEXT NOT NULL, lifted_at REAL, lifted_by TEXT, reason TEXT);
CREATE INDEX IF NOT EXISTS blocks_live ON blocks (kind, subject) WHERE lifted_at IS NULL;
CREATE TABLE IF NOT EXISTS alerts (seq INTEGER PRIMARY KEY, at REAL NOT NULL, rule TEXT NOT NULL,
    outcome TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, why TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened: its kind, when (seconds), the amount in fen, and its subjects
    (a card is a token or keyed hash, never a PAN; ``city`` is the terminal's)."""

    kind: str
    at: float
    amount: int = 0
    card: str = ""
    wallet: str = ""
    merchant: str = ""
    terminal: str = ""
    user: str = ""
    key: str = ""
    origin: str = ""
    city: str = ""

    def __post_init__(self) -> None:
        if self.card.isdigit() and 12 <= len(self.card) <= 19:
            raise UsageError("a token or keyed hash of the card, never its number", argument="card")

    def subject(self, name: str) -> str:
        """The value of one subject field ("" when the event has none)."""
        value = getattr(self, name)
        assert isinstance(value, str)
        return value


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome (``allow`` ... ``block``) and the rules that fired."""

    outcome: str
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Alert:
    """A rule fired: when, which, its outcome, on what subject, and why the rule exists."""

    at: float
    rule: str
    outcome: str
    kind: str
    subject: str
    why: str


class RiskStore:
    """The block list and the alerts (SQLite)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.lock = db, threading.Lock()
        self._live: set[tuple[str, str]] | None = None
        self._version = -1

    @classmethod
    def open(cls, path: str | Path) -> RiskStore:
        """Open (or create, readable by its owner only) the store."""
        if str(path) != ":memory:":
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            os.chmod(path, 0o600)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.executescript(SCHEMA)
        return cls(db)

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def blocked(self, kind: str, subject: str) -> bool:
        """Whether ``subject`` (a terminal id, a key id...) is blocked now."""
        with self.lock:
            row = self.db.execute(
                "SELECT 1 FROM blocks WHERE kind = ? AND subject = ? AND lifted_at IS NULL",
                (kind, subject),
            ).fetchone()
        return row is not None

    def block(self, kind: str, subject: str, *, at: float, rule: str) -> None:
        """Put a subject on the block list (once)."""
        if not self.blocked(kind, subject):
            with self.lock:
                self.db.execute(
                    "INSERT INTO blocks (kind, subject, at, rule) VALUES (?,?,?,?)",
                    (kind, subject, at, rule),
                )

    def lift(self, kind: str, subject: str, *, at: float, by: str, reason: str) -> bool:
        """Lift a block; whether there was one."""
        with self.lock:
            self._live = None
            return bool(
                self.db.execute(
                    "UPDATE blocks SET lifted_at = ?, lifted_by = ?, reason = ? WHERE kind = ? AND "
                    "subject = ? AND lifted_at IS NULL",
                    (at, by, reason, kind, subject),
                ).rowcount
            )

    def blocks(self) -> list[dict[str, object]]:
        """The live blocks."""
        with self.lock:
            rows = self.db.execute(
                "SELECT kind, subject, at, rule FROM blocks WHERE lifted_at IS NULL ORDER BY at"
            ).fetchall()
        return [{"kind": k, "subject": s, "at": a, "rule": r} for k, s, a, r in rows]

    def add_alert(self, alert: Alert) -> None:
        """Keep an alert for the console."""
        with self.lock:
            self.db.execute(
                "INSERT INTO alerts (at, rule, outcome, kind, subject, why) VALUES (?,?,?,?,?,?)",
                (alert.at, alert.rule, alert.outcome, alert.kind, alert.subject, alert.why),
            )

    def counts(self, rules: Iterable[Rule] = ()) -> dict[str, int]:
        """How many times each rule fired (every rule of ``rules`` listed, 0 if never)."""
        with self.lock:
            rows = self.db.execute("SELECT rule, count(*) FROM alerts GROUP BY rule").fetchall()
        return {**dict.fromkeys((r.id for r in rules), 0), **dict(rows)}

    def alerts(self, last: int = 50) -> list[Alert]:
        """The last alerts, newest last."""
        with self.lock:
            rows = self.db.execute(
                "SELECT at, rule, outcome, kind, subject, why FROM alerts "
                "ORDER BY seq DESC LIMIT ?",
                (last,),
            ).fetchall()
        return [Alert(*row) for row in reversed(rows)]


@dataclass
class _Window:
    entries: deque[tuple[float, int]] = field(default_factory=deque)


class RiskEngine:
    """Rules over events (see the module docstring)."""

    def __init__(
        self,
        rules: Iterable[Rule],
        store: RiskStore,
        *,
        audit: Audit | None = None,
        on_alert: Callable[[Alert], object] | None = None,
        max_subjects: int = 100_000,
    ) -> None:
        self.rules, self.store = list(rules), store
        self.audit: Audit = audit or (lambda *_: None)
        self.on_alert = on_alert
        self.max_subjects = max_subjects
        self.fired: dict[str, int] = dict.fromkeys((r.id for r in self.rules), 0)
        self.fired["blocked"] = 0
        self._windows: dict[str, dict[str, _Window]] = defaultdict(dict)
        self._places: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)
        self._alerted: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def assess(self, event: Event) -> Verdict:
        """The verdict on one event."""
        for kind in BLOCKABLE:
            subject = event.subject(kind)
            if subject and self.store.blocked(kind, subject):
                with self._lock:
                    self.fired["blocked"] += 1
                return Verdict("decline", ("blocked",))
        with self._lock:
            fired = [r for r in self.rules if event.kind in r.events and self._fires(r, event)]
        for rule in fired:
            self._act(rule, event)
        if not fired:
            return Verdict("allow")
        strongest = max(fired, key=lambda r: OUTCOMES.index(r.outcome)).outcome
        return Verdict(strongest, tuple(r.id for r in fired))

    def _fires(self, rule: Rule, event: Event) -> bool:
        subject = event.subject(rule.subject)
        if not subject:
            return False
        if rule.kind == "single":
            return event.amount > rule.limit
        if rule.kind == "travel":
            return self._travelled(rule, subject, event)
        windows = self._windows[rule.id]
        window = windows.get(subject)
        if window is None:
            if len(windows) >= self.max_subjects:
                del windows[next(iter(windows))]  # the subject followed longest
            window = windows[subject] = _Window()
        window.entries.append((event.at, event.amount))
        while window.entries and window.entries[0][0] <= event.at - rule.window:
            window.entries.popleft()
        if rule.kind == "velocity":
            return len(window.entries) > rule.limit
        if rule.kind == "amount":
            return sum(amount for _, amount in window.entries) > rule.limit
        return len(window.entries) >= rule.limit  # burst

    def _travelled(self, rule: Rule, subject: str, event: Event) -> bool:
        if event.city not in CITIES:
            return False
        places = self._places[rule.id]
        before = places.get(subject)
        if len(places) >= self.max_subjects and before is None:
            del places[next(iter(places))]
        places[subject] = (event.at, event.city)
        if before is None or before[1] == event.city or event.at - before[0] > rule.window:
            return False
        hours = max(event.at - before[0], 1.0) / 3600
        return distance_km(before[1], event.city) / hours > rule.limit

    def _act(self, rule: Rule, event: Event) -> None:
        subject = event.subject(rule.subject)
        fresh_block = rule.outcome == "block" and not self.store.blocked(rule.subject, subject)
        if fresh_block:
            self.store.block(rule.subject, subject, at=event.at, rule=rule.id)
        with self._lock:
            self.fired[rule.id] += 1
            key = (rule.id, subject)
            last = self._alerted.get(key)
            if not fresh_block and last is not None and event.at - last < max(rule.window, 60):
                return  # alerted already in this window: counted, not alerted again
            if len(self._alerted) >= self.max_subjects:
                self._alerted.clear()
            self._alerted[key] = event.at
        self.audit("risk-engine", f"risk.{rule.outcome}", f"{rule.subject} {subject}",
                   f"rule {rule.id} on {event.kind}")  # fmt: skip
        alert = Alert(event.at, rule.id, rule.outcome, rule.subject, subject, rule.why)
        self.store.add_alert(alert)
        if self.on_alert is not None:
            self.on_alert(alert)

    def lift(
        self, kind: str, subject: str, *, principal: Principal, reason: str, at: float
    ) -> None:
        """Lift a block: only for a principal holding ``risk.manage``; audited either way."""
        if not allows(principal, "risk.manage"):
            self.audit(principal.name, "risk.lift", f"{kind} {subject}", f"refused: {reason}")
            raise AccessError("permission_denied")
        if not self.store.lift(kind, subject, at=at, by=principal.name, reason=reason):
            raise UsageError(f"{kind} {subject} is not blocked", argument="subject")
        self.audit(principal.name, "risk.lift", f"{kind} {subject}", f"ok: {reason}")


def prometheus_text(counts: Mapping[str, int], blocks: int) -> str:
    """Rule counters and the block list's size in Prometheus' text exposition format (0.0.4);
    ``counts`` from :attr:`RiskEngine.fired` or :meth:`RiskStore.counts`."""
    lines = [
        "# HELP zhifu_risk_rule_fired_total Events on which a risk rule fired.",
        "# TYPE zhifu_risk_rule_fired_total counter",
    ]
    lines += [
        f'zhifu_risk_rule_fired_total{{rule="{rule}"}} {n}' for rule, n in sorted(counts.items())
    ]
    lines += [
        "# HELP zhifu_risk_blocks Subjects on the block list now.",
        "# TYPE zhifu_risk_blocks gauge",
        f"zhifu_risk_blocks {blocks}",
    ]
    return "\n".join(lines) + "\n"


EVENT_FIELDS: Final = tuple(f.name for f in fields(Event))
