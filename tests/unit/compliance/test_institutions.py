"""Institutions: the lifecycle table itself, every action from every state (legal or refused),
the history that is never rewritten, business only while registered, the audit callback."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from zhifu.compliance.errors import (
    DuplicateError,
    IllegalTransitionError,
    NotFoundError,
    NotInBusinessError,
)
from zhifu.compliance.institutions import (
    BY_ACTION,
    TRANSITIONS,
    InstitutionKind,
    InstitutionRegistry,
    State,
)
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.core.errors import ZhifuError
from zhifu.security.audit_trail import AuditTrail
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.store import KeyStore

START = datetime(2026, 1, 5, 9, tzinfo=SHANGHAI)
# The path to each state from nothing.
PATHS: dict[State, tuple[str, ...]] = {
    State.APPLIED: (),
    State.UNDER_REVIEW: ("review",),
    State.APPROVED: ("review", "approve"),
    State.REGISTERED: ("review", "approve", "register"),
    State.SUSPENDED: ("review", "approve", "register", "suspend"),
    State.REVOKED: ("review", "approve", "revoke"),
}
LEGAL = {(source, t.action): t.target for t in TRANSITIONS for source in t.sources}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def registry(clock: FixedClock) -> InstitutionRegistry:
    return InstitutionRegistry.open(":memory:", clock=clock)


def _at(registry: InstitutionRegistry, state: State, code: str = "Z001") -> None:
    registry.apply(code, kind=InstitutionKind.PAYMENT_INSTITUTION, name="Zhifu Pay",
                   actor="clerk", reason="application")  # fmt: skip
    for action in PATHS[state]:
        registry.act(action, code, actor="officer", reason=action)
    assert registry.get(code).state is state


# --- the table itself -------------------------------------------------------------------------


def test_the_table_names_each_action_once_and_only_apply_creates() -> None:
    assert len(BY_ACTION) == len(TRANSITIONS)
    assert [t.action for t in TRANSITIONS if not t.sources] == ["apply"]
    assert BY_ACTION["apply"].target is State.APPLIED


def test_every_state_is_reachable_and_revoked_is_terminal() -> None:
    reached = {State.APPLIED}
    while True:
        more = {t.target for t in TRANSITIONS if t.sources & reached} - reached
        if not more:
            break
        reached |= more
    assert reached == set(State)
    assert not any(State.REVOKED in t.sources for t in TRANSITIONS)


def test_the_table_is_the_documented_lifecycle() -> None:
    assert LEGAL == {
        (State.APPLIED, "review"): State.UNDER_REVIEW,
        (State.UNDER_REVIEW, "approve"): State.APPROVED,
        (State.APPROVED, "register"): State.REGISTERED,
        (State.REGISTERED, "suspend"): State.SUSPENDED,
        (State.SUSPENDED, "resume"): State.REGISTERED,
        (State.APPROVED, "revoke"): State.REVOKED,
        (State.REGISTERED, "revoke"): State.REVOKED,
        (State.SUSPENDED, "revoke"): State.REVOKED,
    }


# --- every action from every state ------------------------------------------------------------

ACTIONS = [t.action for t in TRANSITIONS if t.sources]


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_from_each_state(
    registry: InstitutionRegistry, state: State, action: str
) -> None:
    _at(registry, state)
    if (state, action) in LEGAL:
        assert (
            getattr(registry, action)("Z001", actor="officer", reason="test")
            is LEGAL[(state, action)]
        )
        assert registry.get("Z001").state is LEGAL[(state, action)]
        return
    before = len(registry.history("Z001"))
    with pytest.raises(IllegalTransitionError) as caught:
        getattr(registry, action)("Z001", actor="officer", reason="test")
    assert caught.value.state == state.value and caught.value.action == action
    assert state.value in str(caught.value) and action in str(caught.value)
    assert registry.get("Z001").state is state
    assert len(registry.history("Z001")) == before


def test_apply_twice_and_unknown_codes_are_refused(registry: InstitutionRegistry) -> None:
    _at(registry, State.APPLIED)
    with pytest.raises(DuplicateError):
        registry.apply("Z001", kind=InstitutionKind.BANK, name="x", actor="a", reason="r")
    with pytest.raises(NotFoundError, match="apply for it first"):
        registry.review("Z999", actor="a", reason="r")
    with pytest.raises(NotFoundError):
        registry.get("Z999")
    with pytest.raises(NotFoundError, match="no lifecycle action"):
        registry.act("apply", "Z001", actor="a", reason="r")
    with pytest.raises(NotFoundError):
        registry.act("bless", "Z001", actor="a", reason="r")


# --- business ---------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(State))
def test_only_a_registered_institution_may_do_business(
    registry: InstitutionRegistry, state: State
) -> None:
    _at(registry, state)
    assert registry.may_do_business("Z001") is (state is State.REGISTERED)
    if state is State.REGISTERED:
        registry.require_in_business("Z001")
        return
    with pytest.raises(NotInBusinessError, match=f"is {state.value}, not registered") as caught:
        registry.require_in_business("Z001")
    assert isinstance(caught.value, ZhifuError)


def test_an_unknown_institution_may_not_do_business(registry: InstitutionRegistry) -> None:
    assert registry.may_do_business("Z404") is False
    with pytest.raises(NotInBusinessError, match="not known: apply for it and register"):
        registry.require_in_business("Z404")


# --- history and audit ------------------------------------------------------------------------


def test_history_records_who_when_why(registry: InstitutionRegistry, clock: FixedClock) -> None:
    registry.apply("B001", kind=InstitutionKind.BANK, name="Bank", actor="clerk", reason="filed")
    clock.advance(3600)
    registry.review("B001", actor="officer:li", reason="documents complete")
    first, second = registry.history("B001")
    assert (first.action, first.from_state, first.to_state, first.at) == (
        "apply", None, State.APPLIED, START)  # fmt: skip
    assert second.actor == "officer:li" and second.reason == "documents complete"
    assert second.from_state is State.APPLIED and second.to_state is State.UNDER_REVIEW
    assert (second.at - first.at).total_seconds() == 3600
    assert registry.get("B001").kind is InstitutionKind.BANK


def test_history_rows_are_never_updated_or_deleted(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "institutions.db"
    registry = InstitutionRegistry.open(path, clock=clock)
    _at(registry, State.REGISTERED)
    registry.close()
    reopened = InstitutionRegistry.open(path, clock=clock)
    assert reopened.may_do_business("Z001") and len(reopened.history("Z001")) == 4
    for sql in ("UPDATE institution_history SET reason = 'x'", "DELETE FROM institution_history"):
        with pytest.raises(sqlite3.IntegrityError, match="never updated or deleted"):
            reopened.db.execute(sql)
    reopened.close()


def test_the_audit_callback_hears_changes_and_refusals(clock: FixedClock) -> None:
    heard: list[tuple[str, str, str, str]] = []
    registry = InstitutionRegistry.open(":memory:", clock=clock, audit=lambda *a: heard.append(a))
    registry.apply("Z001", kind=InstitutionKind.PAYMENT_INSTITUTION, name="Z", actor="clerk",
                   reason="filed")  # fmt: skip
    with pytest.raises(IllegalTransitionError):
        registry.register("Z001", actor="officer", reason="too early")
    registry.review("Z001", actor="officer", reason="ok")
    assert heard == [
        ("clerk", "institution.apply", "Z001", "ok"),
        ("officer", "institution.register", "Z001", "refused: applied"),
        ("officer", "institution.review", "Z001", "ok"),
    ]


def test_the_audit_callback_takes_the_audit_trail(clock: FixedClock) -> None:
    trail = AuditTrail.open(":memory:", SoftHsm(KeyStore.in_memory()))
    registry = InstitutionRegistry.open(":memory:", clock=clock, audit=trail.append)
    _at(registry, State.REGISTERED)
    assert [r.action for r in trail.records()] == [
        "institution.apply", "institution.review", "institution.approve", "institution.register"
    ]  # fmt: skip
    assert trail.verify().ok
