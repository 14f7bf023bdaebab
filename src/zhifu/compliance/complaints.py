"""Customer complaints: received, investigated, resolved or rejected, each against an SLA.

Payment institutions must take and settle their customers' complaints and publish yearly
statistics of them. The states and moves are the table :data:`MOVES`; the service levels are
:data:`SLA` — zhifu's defaults: acknowledged (investigating) within 2 days of receipt,
answered (resolved or rejected) within 30 days. :meth:`ComplaintBook.overdue` lists what is
past its level now; :meth:`ComplaintBook.statistics` counts a year's complaints by institution
and outcome. Every move is a row of an append-only history.

>>> from datetime import datetime, timedelta
>>> from zhifu.core.clock import SHANGHAI
>>> book = ComplaintBook.open(":memory:")
>>> t0 = datetime(2026, 3, 1, 9, tzinfo=SHANGHAI)
>>> cid = book.open_complaint("customer:C1", "Z001", "a payment taken twice", at=t0)
>>> [c.id for c in book.overdue(t0 + timedelta(days=2, seconds=1))] == [cid]
True
>>> book.move(cid, "investigate", actor="agent:wu", note="looking", at=t0 + timedelta(days=1))
'investigating'
>>> book.overdue(t0 + timedelta(days=29))
[]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from zhifu.compliance._store import append_only, connect, from_us, to_us, transaction
from zhifu.compliance.errors import IllegalTransitionError, NotFoundError

__all__ = ["MOVES", "SLA", "Complaint", "ComplaintBook"]

MOVES: Final[Mapping[str, tuple[frozenset[str], str]]] = {
    "investigate": (frozenset({"received"}), "investigating"),
    "resolve": (frozenset({"received", "investigating"}), "resolved"),
    "reject": (frozenset({"received", "investigating"}), "rejected"),
}
"""Each move: the states it may start from, and where it leads."""
SLA: Final[Mapping[str, timedelta]] = {
    "acknowledge": timedelta(days=2),
    "answer": timedelta(days=30),
}
"""zhifu's default service levels, counted from receipt."""
CLOSED: Final = frozenset({"resolved", "rejected"})
SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS complaints (id INTEGER PRIMARY KEY, customer TEXT NOT NULL,
    institution TEXT NOT NULL, subject TEXT NOT NULL, received INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS complaint_moves (complaint INTEGER NOT NULL, at INTEGER NOT NULL,
    actor TEXT NOT NULL, move TEXT NOT NULL, state TEXT NOT NULL, note TEXT NOT NULL);"""
    + append_only("complaints")
    + append_only("complaint_moves")
)


@dataclass(frozen=True, slots=True)
class Complaint:
    """A complaint and where it stands."""

    id: int
    customer: str
    institution: str
    subject: str
    received: datetime
    state: str
    acknowledged: datetime | None
    answered: datetime | None


class ComplaintBook:
    """The complaints (SQLite, append-only)."""

    def __init__(self, path: str | Path) -> None:
        self.db = connect(path, SCHEMA)

    @classmethod
    def open(cls, path: str | Path) -> ComplaintBook:
        """Open (or create) the book."""
        return cls(path)

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def open_complaint(self, customer: str, institution: str, subject: str, *, at: datetime) -> int:
        """Record a complaint as received; its number."""
        with transaction(self.db) as db:
            row = (customer, institution, subject, to_us(at))
            cur = db.execute("INSERT INTO complaints (customer, institution, subject, received) "
                             "VALUES (?,?,?,?)", row)  # fmt: skip
        assert cur.lastrowid is not None
        return cur.lastrowid

    def get(self, complaint: int) -> Complaint:
        """One complaint, with its state and the times it was acknowledged and answered."""
        row = self.db.execute("SELECT id, customer, institution, subject, received FROM "
                              "complaints WHERE id = ?", (complaint,)).fetchone()  # fmt: skip
        if row is None:
            raise NotFoundError(f"no complaint {complaint}")
        moves = self.db.execute("SELECT at, state FROM complaint_moves WHERE complaint = ? "
                                "ORDER BY rowid", (complaint,)).fetchall()  # fmt: skip
        state, acknowledged, answered = "received", None, None
        for at, new in moves:
            state = new
            acknowledged = acknowledged or from_us(at)
            answered = from_us(at) if new in CLOSED else answered
        return Complaint(row[0], row[1], row[2], row[3], from_us(row[4]), state, acknowledged,
                         answered)  # fmt: skip

    def move(self, complaint: int, move: str, *, actor: str, note: str, at: datetime) -> str:
        """Move a complaint on (``investigate``, ``resolve``, ``reject``); the new state."""
        current = self.get(complaint).state
        allowed, target = MOVES.get(move, (frozenset(), ""))
        if current not in allowed:
            possible = tuple(m for m, (start, _) in MOVES.items() if current in start)
            raise IllegalTransitionError(f"complaint {complaint}", state=current, action=move,
                                         allowed=possible)  # fmt: skip
        with transaction(self.db) as db:
            db.execute("INSERT INTO complaint_moves VALUES (?,?,?,?,?,?)",
                       (complaint, to_us(at), actor, move, target, note))  # fmt: skip
        return target

    def overdue(self, now: datetime) -> list[Complaint]:
        """The open complaints past a service level at ``now``."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM complaints ORDER BY id")]
        late = []
        for complaint in (self.get(i) for i in ids):
            if complaint.state in CLOSED:
                continue
            waited = now - complaint.received
            unacknowledged = complaint.acknowledged is None and waited > SLA["acknowledge"]
            if unacknowledged or waited > SLA["answer"]:
                late.append(complaint)
        return late

    def statistics(self, year: int) -> dict[str, dict[str, int]]:
        """A year's complaints by institution and state (for the yearly publication)."""
        counts: dict[str, Counter[str]] = {}
        for (number,) in self.db.execute("SELECT id FROM complaints ORDER BY id"):
            complaint = self.get(number)
            if complaint.received.year == year:
                counts.setdefault(complaint.institution, Counter())[complaint.state] += 1
        return {inst: dict(c) for inst, c in sorted(counts.items())}
