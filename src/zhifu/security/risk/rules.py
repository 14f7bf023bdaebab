"""Risk rules as data: :data:`KINDS` of rule, :data:`OUTCOMES` from weakest to strongest, and
the default set in ``rules.json`` beside this module (each rule says why it exists).

A rule watches some event kinds, keyed by one subject of the event (the card, wallet,
merchant, terminal, user, key or origin): ``velocity`` fires when more than ``limit`` events
fall within ``window`` seconds; ``amount`` when their amounts sum above ``limit`` fen;
``single`` when one amount is above ``limit`` fen; ``burst`` when ``limit`` failures (or more)
fall within the window; ``travel`` when the subject shows up in two cities faster than
``limit`` km/h allows.

>>> rules = load_rules()
>>> len(rules) > 10, rules[0].id, rules[0].outcome
(True, 'card-velocity', 'decline')
>>> parse_rules('[{"id": "x", "kind": "velocity"}]')
Traceback (most recent call last):
...
zhifu.core.errors.DecodeError: field rules[0].events: missing (rule x)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from zhifu.core.errors import DecodeError

__all__ = ["KINDS", "OUTCOMES", "SUBJECTS", "Rule", "load_rules", "parse_rules"]

KINDS: Final = ("velocity", "amount", "single", "burst", "travel")
OUTCOMES: Final = ("allow", "alert", "step-up", "decline", "block")
"""From weakest to strongest; an event's verdict is the strongest outcome of its rules."""
SUBJECTS: Final = ("card", "wallet", "merchant", "terminal", "user", "key", "origin")


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule (see the module docstring)."""

    id: str
    kind: str
    events: tuple[str, ...]
    subject: str
    window: int
    limit: int
    outcome: str
    why: str


def _error(index: int, name: str, rule_id: object, reason: str) -> DecodeError:
    return DecodeError(f"{reason} (rule {rule_id})", field=f"rules[{index}].{name}")


def _field(raw: dict[str, Any], name: str, index: int, kind: type) -> Any:
    if name not in raw:
        raise _error(index, name, raw.get("id", "?"), "missing")
    value = raw[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _error(index, name, raw.get("id", "?"), f"not a {kind.__name__}")
    return value


def _rule(raw: object, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise DecodeError("not an object", field=f"rules[{index}]")
    rule = Rule(
        _field(raw, "id", index, str),
        _field(raw, "kind", index, str),
        tuple(_field(raw, "events", index, list)),
        _field(raw, "subject", index, str),
        _field(raw, "window", index, int),
        _field(raw, "limit", index, int),
        _field(raw, "outcome", index, str),
        str(raw.get("why", "")),
    )
    problems = {
        "kind": rule.kind in KINDS,
        "subject": rule.subject in SUBJECTS,
        "outcome": rule.outcome in OUTCOMES[1:],
        "events": bool(rule.events) and all(isinstance(e, str) for e in rule.events),
        "window": rule.window > 0 or rule.kind == "single",
        "limit": rule.limit > 0,
    }
    for name, ok in problems.items():
        if not ok:
            raise _error(index, name, rule.id, "a value zhifu does not know")
    return rule


def parse_rules(text: str) -> list[Rule]:
    """Rules from JSON text (a list of objects); DecodeError names the rule and the field."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(f"the rules are not JSON: {exc.msg}", offset=exc.pos) from None
    if not isinstance(raw, list):
        raise DecodeError("the rules are a JSON list of objects", field="rules")
    rules = [_rule(item, i) for i, item in enumerate(raw)]
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise _error(i, "id", rule.id, "the id is used twice")
        seen.add(rule.id)
    return rules


def load_rules(text: str | None = None) -> list[Rule]:
    """The given rules, or the default set shipped in ``rules.json``."""
    if text is None:
        text = resources.files(__package__).joinpath("rules.json").read_text("utf-8")
    return parse_rules(text)
