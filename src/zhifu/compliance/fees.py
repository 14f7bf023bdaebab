"""Fee schedules: published, never edited, changed only with 30 days' notice; every fee traceable.

A :class:`FeeSchedule` is an institution's price list from ``effective_from`` on: one
:class:`Rate` per transaction kind (basis points of the amount plus a fixed part, then clamped to
a minimum and an optional maximum, all in integer fen). :meth:`FeeBook.publish` stamps it with
its publication time and refuses it unless it comes after the institution's earlier schedules
(a higher version, a later start) and gives notice: an institution's first schedule may take
effect from its publication, any later one no sooner than :data:`NOTICE` (30 days) after it.

:meth:`FeeBook.fee_for` prices a transaction with the schedule in force at that instant (the
latest ``effective_from`` at or before it). The percentage part is rounded half up to the fen
with integer arithmetic. :meth:`FeeBook.charge` records a fee against a transaction reference;
:meth:`FeeBook.trace` gives the charge back with the schedule it came from.

>>> from datetime import datetime, timedelta
>>> from zhifu.core.clock import SHANGHAI
>>> t0 = datetime(2026, 1, 1, tzinfo=SHANGHAI)
>>> book = FeeBook.open(":memory:")
>>> rates = {"transfer": Rate(basis_points=10, fixed_fen=0, min_fen=1, max_fen=2_500)}
>>> _ = book.publish(FeeSchedule("Z001", 1, effective_from=t0, rates=rates), now=t0)
>>> book.fee_for("Z001", "transfer", 123_450, at=t0)   # 0.1% of 1,234.50 yuan is 123.45 fen
Fee(fen=123, institution='Z001', version=1, kind='transfer', amount_fen=123450)
>>> later = FeeSchedule("Z001", 2, effective_from=t0 + timedelta(days=10), rates=rates)
>>> book.publish(later, now=t0)
Traceback (most recent call last):
...
zhifu.compliance.errors.NoticePeriodError: fee schedule 2 of Z001 takes effect too soon \
(fee changes need 30 days' notice): set effective_from to 2026-01-31T00:00:00+08:00 or later
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from zhifu.compliance._store import append_only, connect, from_us, to_us, transaction
from zhifu.compliance.errors import (
    DuplicateError,
    NoScheduleError,
    NotFoundError,
    NoticePeriodError,
    ScheduleOrderError,
)
from zhifu.core.errors import UsageError

__all__ = ["NOTICE", "Charge", "Fee", "FeeBook", "FeeSchedule", "Rate", "Trace"]

NOTICE: Final = timedelta(days=30)
"""The notice a change of fees needs: effective no sooner than this after publication."""
BASIS_POINTS: Final = 10_000  # basis points in one whole

SCHEMA: Final = (
    """
CREATE TABLE IF NOT EXISTS fee_schedules (
    institution TEXT NOT NULL, version INTEGER NOT NULL, published_us INTEGER NOT NULL,
    effective_us INTEGER NOT NULL, rates TEXT NOT NULL, PRIMARY KEY (institution, version));
CREATE TABLE IF NOT EXISTS fee_charges (
    reference TEXT PRIMARY KEY, at_us INTEGER NOT NULL, institution TEXT NOT NULL,
    version INTEGER NOT NULL, kind TEXT NOT NULL, amount_fen INTEGER NOT NULL,
    fee_fen INTEGER NOT NULL);
"""
    + append_only("fee_schedules")
    + append_only("fee_charges")
)


def _fen(value: object, argument: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UsageError("must be a whole non-negative number of fen", argument=argument)
    return value


@dataclass(frozen=True, slots=True)
class Rate:
    """The price of one transaction kind: ``amount × basis_points / 10000 + fixed_fen``,
    rounded half up to the fen, then at least ``min_fen`` and at most ``max_fen`` (if any)."""

    basis_points: int
    fixed_fen: int = 0
    min_fen: int = 0
    max_fen: int | None = None

    def __post_init__(self) -> None:
        for name in ("basis_points", "fixed_fen", "min_fen"):
            _fen(getattr(self, name), name)
        if self.max_fen is not None and _fen(self.max_fen, "max_fen") < self.min_fen:
            raise UsageError("the maximum is below the minimum", argument="max_fen")

    def fee(self, amount_fen: int) -> int:
        """The fee on ``amount_fen``, in fen."""
        share = (_fen(amount_fen, "amount_fen") * self.basis_points + BASIS_POINTS // 2) // (
            BASIS_POINTS
        )
        fee = max(share + self.fixed_fen, self.min_fen)
        return fee if self.max_fen is None else min(fee, self.max_fen)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """An institution's rates per transaction kind from ``effective_from`` on.

    ``published_at`` is set by :meth:`FeeBook.publish` (a draft leaves it ``None``).
    """

    institution: str
    version: int
    effective_from: datetime
    rates: Mapping[str, Rate]
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Fee:
    """A fee and where it comes from (the institution's schedule version and the kind)."""

    fen: int
    institution: str
    version: int
    kind: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Charge:
    """A fee charged on the transaction ``reference`` at ``at``."""

    reference: str
    at: datetime
    fee: Fee


@dataclass(frozen=True, slots=True)
class Trace:
    """A charge and the published schedule its fee came from."""

    charge: Charge
    schedule: FeeSchedule


def _rates_json(rates: Mapping[str, Rate]) -> str:
    table = {k: [r.basis_points, r.fixed_fen, r.min_fen, r.max_fen] for k, r in rates.items()}
    return json.dumps(table, sort_keys=True)


def _schedule(row: tuple[str, int, int, int, str]) -> FeeSchedule:
    institution, version, published_us, effective_us, rates = row
    table = {k: Rate(*v) for k, v in json.loads(rates).items()}
    return FeeSchedule(institution, version, from_us(effective_us), table, from_us(published_us))


_COLUMNS: Final = "institution, version, published_us, effective_us, rates"


class FeeBook:
    """Published fee schedules and the fees charged, in an SQLite file (see the module)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    @classmethod
    def open(cls, path: str | Path) -> FeeBook:
        """The book in ``path`` (a file, or ``":memory:"``)."""
        return cls(connect(path, SCHEMA))

    def close(self) -> None:
        self.db.close()

    def publish(self, schedule: FeeSchedule, now: datetime) -> FeeSchedule:
        """Publish ``schedule`` at ``now``; the schedule as published (with ``published_at``)."""
        published_us, effective_us = to_us(now, "now"), to_us(schedule.effective_from, "schedule")
        if not schedule.rates:
            raise UsageError("a fee schedule prices at least one kind", argument="rates")
        with transaction(self.db):
            last = self._latest(schedule.institution)
            self._check_order(schedule, last)
            notice = timedelta(0) if last is None else NOTICE
            if schedule.effective_from < now + notice:
                why = "a first schedule cannot take effect before it is published"
                if last is not None:
                    why = f"fee changes need {NOTICE.days} days' notice"
                raise NoticePeriodError(schedule.institution, schedule.version,
                                        earliest=now + notice, why=why)  # fmt: skip
            self.db.execute(
                "INSERT INTO fee_schedules (institution, version, published_us, effective_us, "
                "rates) VALUES (?,?,?,?,?)",
                (schedule.institution, schedule.version, published_us, effective_us,
                 _rates_json(schedule.rates)),
            )  # fmt: skip
        return replace(schedule, published_at=from_us(published_us))

    def schedules(self, institution: str) -> list[FeeSchedule]:
        """Every published schedule of ``institution``, by version."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM fee_schedules WHERE institution = ? ORDER BY version",  # noqa: S608
            (institution,),
        )
        return [_schedule(row) for row in rows.fetchall()]

    def in_force(self, institution: str, at: datetime) -> FeeSchedule:
        """The schedule in force at ``at``: the latest ``effective_from`` at or before it."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM fee_schedules WHERE institution = ? AND "  # noqa: S608
            "effective_us <= ? ORDER BY effective_us DESC LIMIT 1",
            (institution, to_us(at)),
        ).fetchone()
        if row is None:
            raise NoScheduleError(
                f"no fee schedule of {institution} is in force at {at.isoformat()}: publish one"
                " first (it charges nothing until a schedule takes effect)"
            )
        return _schedule(row)

    def fee_for(self, code: str, kind: str, amount_fen: int, at: datetime) -> Fee:
        """The fee on ``amount_fen`` of the transaction ``kind`` at ``at``."""
        schedule = self.in_force(code, at)
        rate = schedule.rates.get(kind)
        if rate is None:
            raise NoScheduleError(
                f"fee schedule {schedule.version} of {code} does not price {kind!r}; publish a"
                f" schedule that does (priced: {', '.join(sorted(schedule.rates))})"
            )
        return Fee(rate.fee(amount_fen), code, schedule.version, kind, amount_fen)

    def charge(self, code: str, kind: str, amount_fen: int, at: datetime, *,
               reference: str) -> Charge:  # fmt: skip
        """Price the transaction ``reference`` and record the fee charged on it."""
        fee = self.fee_for(code, kind, amount_fen, at)
        try:
            self.db.execute(
                "INSERT INTO fee_charges VALUES (?,?,?,?,?,?,?)",
                (reference, to_us(at), code, fee.version, kind, amount_fen, fee.fen),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"a fee was already charged on {reference}") from exc
        return Charge(reference, from_us(to_us(at)), fee)

    def trace(self, reference: str) -> Trace:
        """The fee charged on ``reference`` and the schedule it came from."""
        row = self.db.execute(
            "SELECT at_us, institution, version, kind, amount_fen, fee_fen FROM fee_charges"
            " WHERE reference = ?",
            (reference,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no fee was charged on {reference}")
        at_us, institution, version, kind, amount_fen, fee_fen = row
        schedule = self.db.execute(
            f"SELECT {_COLUMNS} FROM fee_schedules WHERE institution = ? AND version = ?",  # noqa: S608
            (institution, version),
        ).fetchone()
        fee = Fee(fee_fen, institution, version, kind, amount_fen)
        return Trace(Charge(reference, from_us(at_us), fee), _schedule(schedule))

    def _latest(self, institution: str) -> FeeSchedule | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM fee_schedules WHERE institution = ?"  # noqa: S608
            " ORDER BY version DESC LIMIT 1",
            (institution,),
        ).fetchone()
        return _schedule(row) if row else None

    @staticmethod
    def _check_order(schedule: FeeSchedule, last: FeeSchedule | None) -> None:
        if last is None:
            return
        if schedule.version <= last.version:
            raise ScheduleOrderError(
                f"fee schedule {schedule.version} of {schedule.institution} is not new: "
                f"published schedules are never edited; publish version {last.version + 1}"
            )
        if schedule.effective_from <= last.effective_from:
            raise ScheduleOrderError(
                f"fee schedule {schedule.version} of {schedule.institution} must take effect "
                f"after version {last.version} ({last.effective_from.isoformat()})"
            )
