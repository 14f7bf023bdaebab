"""A wallet's second device needs a step-up: the one-time code sent to the customer — right,
within 5 minutes, one try."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.core.clock import FixedClock


@pytest.fixture
def system(tmp_path: Path) -> BarcodeSystem:
    found = BarcodeSystem.open(tmp_path, clock=FixedClock(datetime(2026, 12, 5, tzinfo=UTC)))
    found.open_wallet("zhifu", "C1", "A1")
    return found


def _code(err: pytest.ExceptionInfo[BarcodeError]) -> str:
    return err.value.code


def test_the_first_device_binds_and_the_second_needs_the_code(system: BarcodeSystem) -> None:
    first, _ = system.enroll_device("zhifu", "C1", "A1")
    with pytest.raises(BarcodeError) as err:
        system.enroll_device("zhifu", "C1", "A1")
    assert _code(err) == "step_up_required"
    code = system.start_binding("zhifu", "C1")
    assert len(code) == 6 and code.isdigit()
    second, _ = system.enroll_device("zhifu", "C1", "A1", step_up=code)
    assert second != first
    with pytest.raises(BarcodeError) as err:
        system.enroll_device("zhifu", "C1", "A1", step_up=code)  # used once
    assert _code(err) == "step_up_invalid"


def test_a_wrong_or_late_code_is_refused(system: BarcodeSystem) -> None:
    system.enroll_device("zhifu", "C1", "A1")
    code = system.start_binding("zhifu", "C1")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    with pytest.raises(BarcodeError) as err:
        system.enroll_device("zhifu", "C1", "A1", step_up=wrong)
    assert _code(err) == "step_up_invalid"
    with pytest.raises(BarcodeError):  # the wrong try spent the code
        system.enroll_device("zhifu", "C1", "A1", step_up=code)
    late = system.start_binding("zhifu", "C1")
    clock = system.clock
    assert isinstance(clock, FixedClock)
    clock.advance(301)
    with pytest.raises(BarcodeError) as err:
        system.enroll_device("zhifu", "C1", "A1", step_up=late)
    assert _code(err) == "step_up_invalid"
