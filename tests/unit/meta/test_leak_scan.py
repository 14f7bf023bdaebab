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


def test_the_scan_finds_a_pan_and_a_track_and_spares_card_files(tmp_path: Path) -> None:
    scan = _module()
    assert scan.luhn("6228480000000000018") and not scan.luhn("6228480000000000017")
    (tmp_path / "journal.log").write_text("pan 6228480000000000018 seen")
    (tmp_path / "export.csv").write_text("x,6228480000000000018=30122200000,y")
    (tmp_path / "masked.log").write_text("pan 622848*********0017 and 6228480000000000018")
    (tmp_path / "card.json").write_text(
        '{\n "format": "zhifu-card/1", "pan": "6228480000000000018"}'
    )
    (tmp_path / "copy.py").write_text("PAN = '6228480000000000018'")
    (tmp_path / "masked.log").write_text("pan 622848*********0018 and 6228480000000000017")
    found = {path.name: what for path, what in scan.leaks(tmp_path)}
    assert found == {"journal.log": "a clear card number", "export.csv": "track 2 data"}
    public = frozenset({"6228480000000000018"})  # a published test vector's card
    assert list(scan.leaks(tmp_path, public)) == []
    for planted in tmp_path.iterdir():  # the suite-wide scan would find them, rightly
        planted.unlink()
