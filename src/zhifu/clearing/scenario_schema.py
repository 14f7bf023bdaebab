"""The keys a clearing scenario file may hold, as a table, and the check that holds a file to it.

A scenario (``docs/clearing.md``) is JSON; a misspelt key would otherwise be ignored without a
word (an item's ``"reciept"`` leaves the debit waiting for a receipt that never comes).
:func:`check_scenario` refuses any key the table does not know, at any depth, naming its path
and the closest known key, and any value of the wrong JSON type; the readers of
:mod:`zhifu.clearing.simulate` then check what the values mean.

>>> check_scenario({"items": [{"id": "C1", "time": "2025-10-09T10:00:00",
...     "type": "ordinary_debit", "payer_bank": "102100099996", "payee_bank": "103290000002",
...     "amount": "12.34", "reciept": {"time": "2025-10-09T11:00:00"}}]})
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: items[0].reciept: unknown key; did you mean 'receipt'?
>>> check_scenario({"events": [{"type": "fund", "time": "2025-10-09T10:00:00",
...     "bank": "102100099996", "amount": 500}]})
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: events[0].amount: must be a string
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Final

from zhifu.clearing.codes import BusinessType
from zhifu.clearing.model import NodeKind
from zhifu.core.errors import UsageError

EVENT_KINDS: Final = (
    "receipt",
    "revoke",
    "return",
    "cap",
    "fund",
    "gridlock",
    "stop",
    "stop_answer",
    "reverse",
    "agreement",
    "agreement_revoke",
    "earmark",
    "settlement_time",
)

# shape -> key -> kind. A kind is "text", "int", "bool", another shape, or "[kind]" for a list
# of them; a trailing "!" marks a key that must be there, "?" a key that may be null.
# "event" picks the shape "event.<type>" by the event's type.
_EVENT: Final = {"type": "text!", "time": "text!"}
SHAPES: Final[dict[str, dict[str, str]]] = {
    "scenario": {
        "participants": "[participant]",
        "config": "config",
        "items": "[item]",
        "events": "[event]",
        "start": "text",
        "until": "text",
    },
    "participant": {
        "code": "text!",
        "city": "text!",
        "direct": "bool",
        "via": "text?",
        "caps": "caps",
        "name": "text",
        "reserve": "text",
    },
    "caps": {kind.value: "text" for kind in NodeKind},
    "config": {
        "rounds": "[text]",
        "settlement_time": "text",
        "limits": "limits",
        "holiday_limits": "limits",
        "receipt_days": "int",
        "receipt_days_max": "int",
        "return_working_days": "int",
        "calendar": "text",
        "gridlock_at_close": "bool",
    },
    "limits": {business.value: "text?" for business in BusinessType},
    "item": {
        "id": "text!",
        "time": "text!",
        "type": "text!",
        "payer_bank": "text!",
        "payee_bank": "text!",
        "amount": "text!",
        "packet": "text?",
        "receipt_days": "int?",
        "receipt": "receipt?",
        "agreement": "text?",
        "category": "text?",
    },
    "receipt": {"time": "text!", "outcome": "text"},
    "event.receipt": {**_EVENT, "item": "text!", "bank": "text?", "outcome": "text"},
    "event.revoke": {**_EVENT, "packet": "text!", "bank": "text?"},
    "event.return": {**_EVENT, "item": "text!", "id": "text!"},
    "event.cap": {**_EVENT, "bank": "text!", "node": "text!", "amount": "text!"},
    "event.fund": {**_EVENT, "bank": "text!", "amount": "text!"},
    "event.gridlock": {**_EVENT, "node": "text?"},
    "event.stop": {**_EVENT, "item": "text!", "bank": "text?"},
    "event.stop_answer": {**_EVENT, "item": "text!", "bank": "text?", "agree": "bool!"},
    "event.reverse": {**_EVENT, "item": "text!", "bank": "text?"},
    "event.agreement": {
        **_EVENT,
        "id": "text!",
        "kind": "text!",
        "payer_bank": "text!",
        "payee_bank": "text?",
        "payer_account": "text",
        "item_limit": "text!",
        "period": "text",
        "period_limit": "text!",
        "valid_from": "text!",
        "valid_to": "text!",
        "bank": "text?",
    },
    "event.agreement_revoke": {**_EVENT, "id": "text!", "bank": "text?"},
    "event.earmark": {**_EVENT, "bank": "text!", "node": "text!", "amount": "text!"},
    "event.settlement_time": {**_EVENT, "settles": "text!"},
}
_SCALARS: Final = {
    "text": (str, "a string"),
    "int": (int, "a whole number"),
    "bool": (bool, "true or false"),
}


def check_scenario(data: object) -> None:
    """Refuse a scenario (or a file of items and events) that strays from :data:`SHAPES`."""
    _check_object(data, "scenario", "")


def key_path(path: str, key: str) -> str:
    """The path of ``key`` inside ``path``: ``items[0]`` + ``amount``."""
    return f"{path}.{key}" if path else key


def _check_object(value: object, shape: str, path: str) -> None:
    if not isinstance(value, Mapping):
        raise UsageError("must be a JSON object", argument=path or "scenario")
    if shape == "event":
        shape = f"event.{_event_type(value, path)}"
    fields = SHAPES[shape]
    for key in value:
        if key not in fields:
            raise UsageError(_unknown(str(key), fields), argument=key_path(path, str(key)))
    for key, kind in fields.items():
        if key in value:
            _check_value(value[key], kind, key_path(path, key))
        elif kind.endswith("!"):
            raise UsageError("missing", argument=key_path(path, key))


def _check_value(value: object, kind: str, path: str) -> None:
    base = kind.rstrip("!?")
    if value is None and kind.endswith("?"):
        return
    if base.startswith("["):
        if not isinstance(value, list):
            raise UsageError("must be a JSON list", argument=path)
        for index, element in enumerate(value):
            _check_value(element, base[1:-1], f"{path}[{index}]")
    elif base in _SCALARS:
        expected, name = _SCALARS[base]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise UsageError(f"must be {name}", argument=path)
    else:
        _check_object(value, base, path)


def _event_type(event: Mapping[object, object], path: str) -> str:
    kind = event.get("type")
    if kind not in EVENT_KINDS:
        close = difflib.get_close_matches(str(kind), EVENT_KINDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"one of {', '.join(EVENT_KINDS)}{hint}", argument=key_path(path, "type"))
    return str(kind)


def _unknown(key: str, fields: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key (known here: {', '.join(fields)})"
