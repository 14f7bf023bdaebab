"""Institutions and their licence lifecycle: applied, reviewed, approved, registered (备案).

An institution (a non-bank payment institution or a bank) may do business only while it is
``registered``. The lifecycle is the table :data:`TRANSITIONS`: each action names the states it
may start from and the state it leads to; anything else is refused with an
:class:`~zhifu.compliance.errors.IllegalTransitionError` naming the current state and the action.
Every change is a row of an append-only history (who, when, why, from what, to what); the
optional ``audit`` callback — ``(actor, action, object, outcome)``, the shape of
``AuditTrail.append`` — hears every change and every refusal.

>>> from datetime import datetime
>>> from zhifu.core.clock import SHANGHAI, FixedClock
>>> registry = InstitutionRegistry.open(
...     ":memory:", clock=FixedClock(datetime(2026, 1, 5, 9, tzinfo=SHANGHAI)))
>>> registry.apply("Z001", kind=InstitutionKind.PAYMENT_INSTITUTION, name="Zhifu Pay",
...                actor="clerk:wang", reason="licence application received")
<State.APPLIED: 'applied'>
>>> for step in ("review", "approve", "register"):
...     _ = registry.act(step, "Z001", actor="officer:li", reason="file complete")
>>> registry.may_do_business("Z001")
True
>>> registry.suspend("Z001", actor="officer:li", reason="reserve shortfall").value
'suspended'
>>> registry.may_do_business("Z001")
False
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Final

from zhifu.compliance._store import append_only, connect, from_us, to_us, transaction
from zhifu.compliance.errors import (
    DuplicateError,
    IllegalTransitionError,
    NotFoundError,
    NotInBusinessError,
)
from zhifu.core.clock import Clock, SystemClock

__all__ = [
    "TRANSITIONS",
    "AuditCallback",
    "Change",
    "Institution",
    "InstitutionKind",
    "InstitutionRegistry",
    "State",
    "Transition",
]

AuditCallback = Callable[[str, str, str, str], None]
"""``(actor, action, object, outcome)``: where changes are reported (e.g. ``trail.append``)."""


class InstitutionKind(Enum):
    """What an institution is."""

    PAYMENT_INSTITUTION = "payment-institution"
    BANK = "bank"


class State(Enum):
    """Where an institution stands in its lifecycle."""

    APPLIED = "applied"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REGISTERED = "registered"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Transition:
    """One action of the lifecycle: the states it may start from and the state it leads to."""

    action: str
    sources: frozenset[State]
    target: State


_ANY_LICENSED: Final = frozenset({State.APPROVED, State.REGISTERED, State.SUSPENDED})

# The lifecycle as data. ``apply`` has no source: it creates the institution.
TRANSITIONS: Final[tuple[Transition, ...]] = (
    Transition("apply", frozenset(), State.APPLIED),
    Transition("review", frozenset({State.APPLIED}), State.UNDER_REVIEW),
    Transition("approve", frozenset({State.UNDER_REVIEW}), State.APPROVED),
    Transition("register", frozenset({State.APPROVED}), State.REGISTERED),
    Transition("suspend", frozenset({State.REGISTERED}), State.SUSPENDED),
    Transition("resume", frozenset({State.SUSPENDED}), State.REGISTERED),
    Transition("revoke", _ANY_LICENSED, State.REVOKED),
)
BY_ACTION: Final = {t.action: t for t in TRANSITIONS}
IN_BUSINESS: Final = State.REGISTERED

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS institutions (
    code TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS institution_history (
    seq INTEGER PRIMARY KEY, code TEXT NOT NULL, at_us INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL, reason TEXT NOT NULL);
""" + append_only("institution_history")


@dataclass(frozen=True, slots=True)
class Institution:
    """An institution as it stands now."""

    code: str
    kind: InstitutionKind
    name: str
    state: State


@dataclass(frozen=True, slots=True)
class Change:
    """One row of an institution's history."""

    code: str
    at: datetime
    actor: str
    action: str
    from_state: State | None
    to_state: State
    reason: str


class InstitutionRegistry:
    """Institutions and their lifecycle in an SQLite file (see the module docstring)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, audit: AuditCallback | None) -> None:
        self.db, self.clock, self.audit = db, clock, audit

    @classmethod
    def open(
        cls, path: str | Path, *, clock: Clock | None = None, audit: AuditCallback | None = None
    ) -> InstitutionRegistry:
        """The registry in ``path`` (a file, or ``":memory:"``)."""
        return cls(connect(path, SCHEMA), clock or SystemClock(), audit)

    def close(self) -> None:
        self.db.close()

    def apply(self, code: str, *, kind: InstitutionKind, name: str, actor: str,
              reason: str) -> State:  # fmt: skip
        """Record an application for a new institution; its state (``applied``)."""
        target = BY_ACTION["apply"].target
        with transaction(self.db):
            if self._state(code) is not None:
                self._report(actor, "apply", code, "refused: exists")
                raise DuplicateError(f"institution {code} exists; pick another code")
            self.db.execute("INSERT INTO institutions VALUES (?,?,?,?)",
                            (code, kind.value, name, target.value))  # fmt: skip
            self._record(code, actor=actor, action="apply", source=None, target=target,
                         reason=reason)  # fmt: skip
        self._report(actor, "apply", code, "ok")
        return target

    def act(self, action: str, code: str, *, actor: str, reason: str) -> State:
        """Apply the lifecycle ``action`` (a name of :data:`TRANSITIONS`); the new state."""
        transition = BY_ACTION.get(action)
        if transition is None or not transition.sources:
            raise NotFoundError(f"no lifecycle action {action!r}; see TRANSITIONS")
        with transaction(self.db):
            state = self._state(code)
            if state is None:
                self._report(actor, action, code, "refused: unknown")
                raise NotFoundError(f"institution {code} is not known; apply for it first")
            if state not in transition.sources:
                self._report(actor, action, code, f"refused: {state.value}")
                allowed = tuple(sorted(s.value for s in transition.sources))
                raise IllegalTransitionError(f"institution {code}", state=state.value,
                                             action=action, allowed=allowed)  # fmt: skip
            self.db.execute("UPDATE institutions SET state = ? WHERE code = ?",
                            (transition.target.value, code))  # fmt: skip
            self._record(code, actor=actor, action=action, source=state,
                         target=transition.target, reason=reason)  # fmt: skip
        self._report(actor, action, code, "ok")
        return transition.target

    def review(self, code: str, *, actor: str, reason: str) -> State:
        return self.act("review", code, actor=actor, reason=reason)

    def approve(self, code: str, *, actor: str, reason: str) -> State:
        return self.act("approve", code, actor=actor, reason=reason)

    def register(self, code: str, *, actor: str, reason: str) -> State:
        return self.act("register", code, actor=actor, reason=reason)

    def suspend(self, code: str, *, actor: str, reason: str) -> State:
        return self.act("suspend", code, actor=actor, reason=reason)

    def resume(self, code: str, *, actor: str, reason: str) -> State:
        return self.act("resume", code, actor=actor, reason=reason)

    def revoke(self, code: str, *, actor: str, reason: str) -> State:
        return self.act("revoke", code, actor=actor, reason=reason)

    def get(self, code: str) -> Institution:
        """The institution ``code`` as it stands now."""
        row = self.db.execute(
            "SELECT code, kind, name, state FROM institutions WHERE code = ?", (code,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"institution {code} is not known; apply for it first")
        return Institution(row[0], InstitutionKind(row[1]), row[2], State(row[3]))

    def institutions(self) -> list[Institution]:
        """Every institution as it stands now, by code."""
        rows = self.db.execute("SELECT code, kind, name, state FROM institutions ORDER BY code")
        return [Institution(c, InstitutionKind(k), n, State(s)) for c, k, n, s in rows]

    def history(self, code: str) -> list[Change]:
        """Every change of ``code``, oldest first."""
        rows = self.db.execute(
            "SELECT code, at_us, actor, action, from_state, to_state, reason"
            " FROM institution_history WHERE code = ? ORDER BY seq",
            (code,),
        ).fetchall()
        return [_change(row) for row in rows]

    def may_do_business(self, code: str) -> bool:
        """True only while ``code`` is registered (an unknown code may not)."""
        return self._state(code) is IN_BUSINESS

    def require_in_business(self, code: str) -> None:
        """Raise :class:`NotInBusinessError` unless ``code`` is registered."""
        state = self._state(code)
        if state is not IN_BUSINESS:
            raise NotInBusinessError(code, state.value if state else None)

    def _state(self, code: str) -> State | None:
        row = self.db.execute("SELECT state FROM institutions WHERE code = ?", (code,)).fetchone()
        return State(row[0]) if row else None

    def _record(self, code: str, *, actor: str, action: str, source: State | None,
                target: State, reason: str) -> None:  # fmt: skip
        at = to_us(self.clock.now())
        self.db.execute(
            "INSERT INTO institution_history"
            " (code, at_us, actor, action, from_state, to_state, reason) VALUES (?,?,?,?,?,?,?)",
            (code, at, actor, action, source.value if source else None, target.value, reason),
        )

    def _report(self, actor: str, action: str, code: str, outcome: str) -> None:
        if self.audit is not None:
            self.audit(actor, f"institution.{action}", code, outcome)


def _change(row: tuple[str, int, str, str, str | None, str, str]) -> Change:
    code, at_us, actor, action, source, target, reason = row
    from_state = State(source) if source else None
    return Change(code, from_us(at_us), actor, action, from_state, State(target), reason)
