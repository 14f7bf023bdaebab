"""Fee schedules: 30 days' notice exact at the boundary, rounding half up, clamps, versions in
order, never edited, and every fee traced to its schedule."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from zhifu.compliance.errors import (
    DuplicateError,
    NoScheduleError,
    NoticePeriodError,
    ScheduleOrderError,
)
from zhifu.compliance.fees import NOTICE, FeeBook, FeeSchedule, Rate
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError

T0 = datetime(2026, 1, 1, tzinfo=SHANGHAI)
RATES = {"payment": Rate(basis_points=38, fixed_fen=0, min_fen=1, max_fen=5_000)}


@pytest.fixture
def book() -> FeeBook:
    found = FeeBook.open(":memory:")
    found.publish(FeeSchedule("Z001", 1, effective_from=T0, rates=RATES), now=T0)
    return found


def test_a_change_needs_exactly_thirty_days_notice(book: FeeBook) -> None:
    assert timedelta(days=30) == NOTICE
    cheaper = {"payment": Rate(basis_points=30)}
    published = T0 + timedelta(days=5)
    too_soon = FeeSchedule("Z001", 2, effective_from=published + NOTICE - timedelta(seconds=1),
                           rates=cheaper)  # fmt: skip
    with pytest.raises(NoticePeriodError) as err:
        book.publish(too_soon, now=published)
    assert err.value.earliest == published + NOTICE
    on_time = FeeSchedule("Z001", 2, effective_from=published + NOTICE, rates=cheaper)
    assert book.publish(on_time, now=published).published_at == published
    before = published + NOTICE - timedelta(microseconds=1)
    assert book.fee_for("Z001", "payment", 100_000, before).version == 1
    assert book.fee_for("Z001", "payment", 100_000, published + NOTICE).version == 2


def test_rounding_half_up_and_clamps(book: FeeBook) -> None:
    fee = book.fee_for
    assert fee("Z001", "payment", 1_316, T0).fen == 5  # 5.0008 fen
    assert fee("Z001", "payment", 1_185, T0).fen == 5  # 4.503 rounds up
    assert fee("Z001", "payment", 1_183, T0).fen == 4  # 4.4954 rounds down
    assert fee("Z001", "payment", 100, T0).fen == 1  # 0.38: the minimum
    assert fee("Z001", "payment", 10**9, T0).fen == 5_000  # the maximum
    assert Rate(basis_points=10, fixed_fen=200).fee(10_000) == 210


def test_schedules_are_ordered_and_never_edited(book: FeeBook) -> None:
    with pytest.raises(ScheduleOrderError):
        book.publish(FeeSchedule("Z001", 1, effective_from=T0 + NOTICE, rates=RATES), now=T0)
    with pytest.raises(NoticePeriodError):  # a first schedule cannot start before publication
        book.publish(FeeSchedule("Y002", 1, effective_from=T0, rates=RATES),
                     now=T0 + timedelta(days=1))  # fmt: skip
    with pytest.raises(UsageError):
        Rate(basis_points=-1)
    with pytest.raises(UsageError):
        Rate(basis_points=1, min_fen=10, max_fen=5)
    with pytest.raises(Exception, match="never updated"):
        book.db.execute("UPDATE fee_schedules SET rates = '{}'")
    with pytest.raises(NoScheduleError):
        book.fee_for("Z001", "payment", 100, T0 - timedelta(days=1))
    with pytest.raises(NoScheduleError):
        book.fee_for("Z001", "withdrawal", 100, T0)


def test_every_fee_charged_is_traced_to_its_schedule(book: FeeBook) -> None:
    charge = book.charge("Z001", "payment", 123_456, T0 + timedelta(hours=1), reference="P-1")
    assert charge.fee.fen == 469  # 469.1328 fen
    trace = book.trace("P-1")
    assert trace.charge == charge and trace.schedule.version == 1
    assert trace.schedule.rates["payment"].fee(123_456) == charge.fee.fen
    with pytest.raises(DuplicateError):
        book.charge("Z001", "payment", 1, T0, reference="P-1")
