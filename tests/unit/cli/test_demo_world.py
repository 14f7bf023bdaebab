"""The demo world: seeded once, idempotently; the centres' offset clock."""

from __future__ import annotations

import json
from pathlib import Path

from zhifu.cli.demo import layout
from zhifu.cli.demo.command import Bar
from zhifu.cli.demo.world import (
    MARKER,
    OffsetClock,
    banner,
    centre_clock,
    read_world,
    seed_world,
)
from zhifu.core.errors import UsageError


def test_seeded_once(tmp_path: Path) -> None:
    home = tmp_path / "var"
    assert centre_clock(home) is None  # no world yet: the wall clock
    world = seed_world(home, announce=False)
    assert world is not None and read_world(home)["format"] == layout.FORMAT
    marker = (home / MARKER).read_bytes()
    assert seed_world(home) is None  # the second call changes nothing
    assert (home / MARKER).read_bytes() == marker
    found = json.loads((home / "clearing" / "participants.json").read_text())["participants"]
    codes = {p["code"]: p for p in found}
    assert set(codes) == {b.code for b in layout.BANKS} and world["clearing"]
    assert all(codes[b.code]["public_key"].startswith("04") for b in layout.BANKS)
    assert isinstance(centre_clock(home), OffsetClock)
    text = "\n".join(banner(home, world))
    assert f"PIN {layout.PIN}" not in text and f"PIN: {layout.PIN}" not in text
    assert "BEGIN" not in text and "password" not in text  # no key material, no secret
    for name in ("keys.db", "banks.json"):
        assert (home / "demo" / "banks" / name).stat().st_mode & 0o077 == 0


def test_a_participants_file_of_its_own_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "var"
    (home / "clearing").mkdir(parents=True)
    other = {"participants": [{"code": "102100099996", "city": "1000"}]}
    (home / "clearing" / "participants.json").write_text(json.dumps(other))
    world = seed_world(home, announce=False)
    assert world is not None and world["clearing"] is False
    assert json.loads((home / "clearing" / "participants.json").read_text()) == other


def test_read_world_without_one(tmp_path: Path) -> None:
    try:
        read_world(tmp_path)
    except UsageError as exc:
        assert "make run" in exc.message
    else:
        raise AssertionError("no world must be refused")


def test_offset_clock_never_goes_backwards(tmp_path: Path) -> None:
    path = tmp_path / "offset"
    clock = OffsetClock(path)
    assert clock.offset() == 0
    path.write_text("3600\n")
    assert clock.offset() == 3600
    path.write_text("60\n")  # smaller: ignored
    assert clock.offset() == 3600
    path.write_text("junk")
    assert clock.offset() == 3600


def test_bar_counts_to_its_total() -> None:
    bar = Bar(3, width=6)
    for text in ("a", "b", "c", "d"):
        bar(text)
    assert bar.done == 3
