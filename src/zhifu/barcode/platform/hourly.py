"""The barcode platform's orders of one day, hour by hour, read from its database file.

A read-only look for the operations dashboard of the web console: the file is opened read-only
(``mode=ro``), never created nor written, by a connection of its own that is closed at once,
so that it can be read beside the platform that serves from it. Hours are local
(Asia/Shanghai); amounts integer fen: what the orders created in that hour that were paid
(paid, partly or wholly refunded since) came to.

>>> import tempfile
>>> from pathlib import Path
>>> from zhifu.barcode.platform.db import Database
>>> folder = Path(tempfile.mkdtemp())
>>> Database(str(folder / "barcode.db")).close()
>>> hours = orders_by_hour(folder / "barcode.db", date(2026, 1, 5))
>>> len(hours), hours[9]
(24, HourFigure(hour=9, orders=0, paid=0, amount=0))
>>> orders_by_hour(folder / "none.db", date(2026, 1, 5)) is None
True
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Final, NamedTuple

from zhifu.barcode.platform.db import to_us
from zhifu.barcode.platform.orders import OrderStatus
from zhifu.core.clock import SHANGHAI

__all__ = ["HourFigure", "orders_by_hour"]

_PAID: Final = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)
_HOUR_US: Final = 3_600_000_000
_QUERY: Final = (
    "SELECT (created_us - ?) / ? AS h, COUNT(*), "
    "SUM(CASE WHEN status IN (?, ?, ?) THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN status IN (?, ?, ?) THEN amount ELSE 0 END) "
    "FROM orders WHERE created_us >= ? AND created_us < ? GROUP BY h"
)


class HourFigure(NamedTuple):
    """One local hour of a day: orders created, how many were paid, and their amount (fen)."""

    hour: int
    orders: int
    paid: int
    amount: int


def orders_by_hour(path: Path, day: date) -> list[HourFigure] | None:
    """The 24 hours of ``day`` (local time) in the platform database ``path``; None when there
    is no such file or it cannot be read as one."""
    if not path.is_file():
        return None
    start = to_us(datetime.combine(day, time(), SHANGHAI))
    end = to_us(datetime.combine(day + timedelta(days=1), time(), SHANGHAI))
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        rows = db.execute(_QUERY, (start, _HOUR_US, *_PAID, *_PAID, start, end)).fetchall()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    found = {int(h): HourFigure(int(h), int(n), int(p or 0), int(a or 0)) for h, n, p, a in rows}
    return [found.get(h, HourFigure(h, 0, 0, 0)) for h in range(24)]
