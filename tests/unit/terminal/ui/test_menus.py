"""The menu file as a table: every function reachable and known, every step known, every text
in both languages and short enough for one line of the 128-pixel screen; bad files refused."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from zhifu.core.errors import DecodeError, UsageError
from zhifu.terminal.messages import SERVICES
from zhifu.terminal.ui.font import default_font
from zhifu.terminal.ui.menus import ACTIONS, LANGUAGES, PROMPTS, MenuItem, load_menus, parse_menus


def _walk(items: tuple[MenuItem, ...]) -> list[MenuItem]:
    return [found for item in items for found in (item, *_walk(item.children))]


def _document() -> dict[str, Any]:
    text = resources.files("zhifu.terminal.ui").joinpath("menus.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def test_every_function_is_in_the_menu_once_with_its_steps() -> None:
    menus = load_menus()
    listed = [item.action for item in _walk(menus.root.children) if item.action]
    assert sorted(listed) == sorted(ACTIONS) and len(set(listed)) == len(listed)
    assert set(menus.actions) == ACTIONS
    assert set(SERVICES) < ACTIONS  # every host transaction, plus the terminal's own
    for name, steps in menus.actions.items():
        if name in SERVICES and SERVICES[name].refers:
            assert steps[0] == "original", name  # it names the original first
        if name in SERVICES:
            assert "card" in steps, name


def test_every_text_fits_one_line_in_both_languages() -> None:
    menus = load_menus()
    font = default_font()
    texts = [menus.title[lang] for lang in LANGUAGES]
    for item in _walk(menus.root.children):
        texts += [f"9.{item.label[lang]}" for lang in LANGUAGES]  # a menu line: "N." + label
    texts += [menus.prompt(name, lang) for name in PROMPTS for lang in LANGUAGES]
    too_long = [text for text in texts if font.width(text) > 128]
    assert not too_long
    assert all(all(char in font for char in text) for text in texts)


def test_a_bad_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    cases = [
        (lambda d: d.update(format="x"), "format"),
        (lambda d: d["menu"][0].update(action="teleport"), r"menu\[0\]\.action"),
        (lambda d: d["menu"][4]["menu"][1]["label"].pop("en"), r"menu\[4\]\.menu\[1\]\.label"),
        (lambda d: d["actions"].update(purchase=["card", "amount"]), "actions.purchase"),
        (lambda d: d["actions"].update(balance=["pin"]), "actions.balance"),
        (lambda d: d["actions"].update(balance=["swipe"]), "actions.balance"),
        (lambda d: d["prompts"].pop("pin"), "prompts.pin"),
        (lambda d: d.update(menu=[]), "menu"),
    ]
    for change, field in cases:
        document = _document()
        change(document)
        with pytest.raises(DecodeError, match=field):
            parse_menus(document)
    broken = tmp_path / "menus.json"
    broken.write_text('{"format": ', encoding="utf-8")
    with pytest.raises(DecodeError, match=r"menus\.json"):
        load_menus(broken)
    with pytest.raises(UsageError, match="--menus"):
        load_menus(tmp_path / "missing.json")


def test_a_bank_can_trim_the_menu(tmp_path: Path) -> None:
    document = _document()
    document["menu"] = document["menu"][:2]
    document["actions"]["void"] = ["original", "card"]  # a bank that voids without the PIN
    path = tmp_path / "menus.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    menus = load_menus(path)
    assert [i.action for i in menus.root.children] == ["purchase", "balance"]
    assert menus.actions["void"] == ("original", "card")
