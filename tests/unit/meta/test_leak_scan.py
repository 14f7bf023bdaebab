"""The suite-wide canary scan finds what it must and spares what holds cards by design."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCANNER = Path(__file__).resolve().parents[2] / "support" / "leakscan.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("leakscan_under_test", SCANNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _other_bin(folder: Path) -> Path:
    other = folder / "other"
    other.mkdir()
    (other / "x.log").write_text("6228480000000000018")  # Luhn-valid, BIN 622848
    return other


def test_the_scan_finds_a_pan_and_a_track_and_spares_card_files(tmp_path: Path) -> None:
    scan = _module()
    assert scan.luhn("6228000000000000019") and not scan.luhn("6228000000000000018")
    (tmp_path / "journal.log").write_text("pan 6228000000000000019 seen")
    (tmp_path / "export.csv").write_text("x,6228000000000000019=30122200000,y")
    (tmp_path / "masked.log").write_text("pan 622800*********0018 and 6228000000000000019")
    (tmp_path / "card.json").write_text(
        '{\n "format": "zhifu-card/1", "pan": "6228000000000000019"}'
    )
    (tmp_path / "copy.py").write_text("PAN = '6228000000000000019'")
    (tmp_path / "masked.log").write_text("pan 622800*********0019 and 6228000000000000018")
    found = {path.name: what for path, what in scan.leaks(tmp_path)}
    assert found == {"journal.log": "a clear card number", "export.csv": "track 2 data"}
    assert list(scan.leaks(_other_bin(tmp_path))) == []  # another issuer's number: not ours
    public = frozenset({"6228000000000000019"})  # a published test vector's card
    assert list(scan.leaks(tmp_path, public)) == []
    for planted in tmp_path.rglob("*"):  # the suite-wide scan would find them, rightly
        if planted.is_file():
            planted.unlink()
