"""Menus, the steps of each function and the screens' texts, as data (``menus.json``).

A bank customises what its terminals offer by giving another file of the same form
(``zhifu terminal shell --menus FILE``): the menu tree (an item has an ``action`` or a
sub-``menu``), per action the steps the terminal walks through before it goes to the host
(``amount``, ``original``, ``card``, ``pin``; ``pin`` means the PIN pad is open for the
card's cardholder verification), and the prompts in Chinese and English.

>>> menus = load_menus()
>>> [item.label["en"] for item in menus.root.children][:3]
['Purchase', 'Balance', 'Void']
>>> menus.actions["purchase"], menus.prompt("card", "zh")
(('amount', 'card', 'pin'), '请插卡/挥卡/刷卡')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from zhifu.core.errors import DecodeError, UsageError
from zhifu.terminal.messages import SERVICES

__all__ = [
    "ACTIONS",
    "FORMAT",
    "LANGUAGES",
    "PROMPTS",
    "STEPS",
    "MenuItem",
    "Menus",
    "load_menus",
]

FORMAT: Final = "zhifu-terminal-menus/1"
LANGUAGES: Final = ("zh", "en")
STEPS: Final = ("original", "amount", "card", "pin")
"""What a function asks for, in the order a terminal asks."""
ACTIONS: Final = frozenset({*SERVICES, "ecash-balance", "signon", "settle"})
"""The functions a menu item may start."""
PROMPTS: Final = (
    "idle", "amount", "amount_label", "original", "card", "pin", "processing", "approved",
    "declined", "failed", "reversed", "balance", "remove", "cancelled", "select",
)  # fmt: skip
"""The texts a menu file must give, in every language."""


@dataclass(frozen=True)
class MenuItem:
    """A menu entry: a label per language and an action, or a sub-menu."""

    label: Mapping[str, str]
    action: str | None = None
    children: tuple[MenuItem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Menus:
    """A whole menu file, checked."""

    title: Mapping[str, str]
    root: MenuItem
    actions: Mapping[str, tuple[str, ...]]
    prompts: Mapping[str, Mapping[str, str]]

    def prompt(self, name: str, language: str) -> str:
        """The prompt ``name`` in ``language``."""
        return self.prompts[name][language]


def _texts(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or any(
        not isinstance(value.get(lang), str) for lang in LANGUAGES
    ):
        raise DecodeError(f"a text in each of {', '.join(LANGUAGES)}", field=where)
    return {lang: value[lang] for lang in LANGUAGES}


def _item(value: Any, where: str, actions: Mapping[str, tuple[str, ...]]) -> MenuItem:
    if not isinstance(value, dict):
        raise DecodeError("a menu item is an object", field=where)
    label = _texts(value.get("label"), f"{where}.label")
    if "menu" in value:
        return MenuItem(label, children=_children(value["menu"], f"{where}.menu", actions))
    action = value.get("action")
    if action not in actions:
        raise DecodeError(f"an action of {sorted(actions)}", field=f"{where}.action")
    return MenuItem(label, action=action)


def _children(
    value: Any, where: str, actions: Mapping[str, tuple[str, ...]]
) -> tuple[MenuItem, ...]:
    if not isinstance(value, list) or not value:
        raise DecodeError("a menu is a non-empty list", field=where)
    return tuple(_item(entry, f"{where}[{n}]", actions) for n, entry in enumerate(value))


def _actions(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise DecodeError("an object of action: [steps]", field="actions")
    checked = {}
    for name, steps in value.items():
        where = f"actions.{name}"
        if name not in ACTIONS:
            raise DecodeError(f"one of {sorted(ACTIONS)}", field=where)
        if not isinstance(steps, list) or any(step not in STEPS for step in steps):
            raise DecodeError(f"a list of steps from {', '.join(STEPS)}", field=where)
        if steps != sorted(steps, key=STEPS.index) or len(set(steps)) != len(steps):
            raise DecodeError(f"each step once, in the order {', '.join(STEPS)}", field=where)
        if "pin" in steps and "card" not in steps:
            raise DecodeError("a PIN is asked for a card: add card", field=where)
        checked[name] = tuple(steps)
    return checked


def parse_menus(document: Any) -> Menus:
    """Check a decoded menu file; a :class:`DecodeError` names the first bad field."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DecodeError(f"a menu file of format {FORMAT}", field="format")
    actions = _actions(document.get("actions"))
    prompts_value = document.get("prompts")
    if not isinstance(prompts_value, dict):
        raise DecodeError("an object of prompts", field="prompts")
    prompts = {name: _texts(prompts_value.get(name), f"prompts.{name}") for name in PROMPTS}
    root = MenuItem(
        _texts(document.get("title"), "title"),
        children=_children(document.get("menu"), "menu", actions),
    )
    return Menus(root.label, root, actions, prompts)


def load_menus(path: Path | str | None = None) -> Menus:
    """The menu file at ``path``, or the one zhifu ships."""
    where = str(path) if path is not None else "menus.json"
    if path is None:
        text = resources.files("zhifu.terminal.ui").joinpath("menus.json").read_text("utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}", argument="--menus") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(exc.msg, field=where, offset=exc.pos) from None
    return parse_menus(document)
