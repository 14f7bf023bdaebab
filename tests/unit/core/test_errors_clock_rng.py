from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from zhifu.core import DecodeError, EncodeError, FixedClock, SeededRandom, SystemClock, ZhifuError
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError


def test_decode_error_names_field_and_offset_and_pickles() -> None:
    err = DecodeError("bad length", field="55", offset=17)
    assert str(err) == "field 55 at offset 17: bad length"
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, DecodeError)
    assert (again.field, again.offset, again.reason) == ("55", 17, "bad length")
    assert isinstance(err, ZhifuError) and isinstance(err, ValueError)


def test_encode_error_without_location() -> None:
    assert str(EncodeError("too long")) == "too long"


def test_usage_error_names_argument_and_pickles() -> None:
    err = UsageError("expected 16 bytes", argument="--key")
    assert str(err) == "--key: expected 16 bytes"
    assert pickle.loads(pickle.dumps(err)).argument == "--key"


def test_fixed_clock_is_shanghai_and_only_moves_forward() -> None:
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    assert clock.now().tzinfo is SHANGHAI and clock.now().hour == 16
    clock.advance(3600)
    assert clock.now().hour == 17 and clock.monotonic() == 3600
    with pytest.raises(UsageError):
        clock.advance(-1)
    with pytest.raises(UsageError):
        FixedClock(datetime(2026, 1, 1))


def test_system_clock_is_aware() -> None:
    assert SystemClock().now().utcoffset() is not None


def test_seeded_random_repeats_and_differs_by_seed() -> None:
    assert SeededRandom(1).bytes(32) == SeededRandom(1).bytes(32)
    assert SeededRandom(1).bytes(32) != SeededRandom(2).bytes(32)
    assert all(0 <= SeededRandom(3).below(10) < 10 for _ in range(100))
