"""The message journal read as exchanges (a request row and its response row), for people.

Read-only queries of the acquirer database behind the web console's operations pages:

* :meth:`Exchanges.search` — exchanges by terminal, merchant, batch (60.2), STAN, RRN (37 of
  the answer), order id, day and outcome, newest first, a page at a time;
* :meth:`Exchanges.day` — a day's figures hour by hour (aggregated in SQL, never row by row in
  Python): card answers by response code, approved amounts, reversals left unanswered;
* :meth:`Exchanges.exchange` — one exchange's rows, and :func:`transfers_of` the ledger
  transfers its transaction id made at the acquirer and the issuer.

Every search runs on an index of the journal schema (:mod:`zhifu.acquirer.journal`) and stops at
one row past the page. Rows hold what the journal holds: fields already redacted (PAN 6 + 4).

The order id of a card transaction is the acquirer's transaction id, terminal (41), batch (60.2)
and STAN (11): ``10000001-000001-000123``.

>>> from zhifu.acquirer.database import Database
>>> from zhifu.acquirer.journal import Journal
>>> criteria = Criteria.parse(order="10000001-000001-000123", status="approved")
>>> criteria.terminal, criteria.batch, criteria.stan, criteria.status
('10000001', '000001', '000123', 'approved')
>>> Criteria.parse(stan="12").stan
'000012'
>>> db = Database()
>>> _ = Journal(db)
>>> Exchanges(db).search(criteria)
([], False)
>>> Exchanges(db).day(date(2026, 1, 5)).total
0
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final, NamedTuple

from zhifu.acquirer.database import Database
from zhifu.acquirer.journal import Journal, JournalEntry
from zhifu.acquirer.payments.kinds import MERCHANT_CREDITS
from zhifu.codec.tags import name_of
from zhifu.codec.tlv import decode as decode_tlv
from zhifu.codec.tlv import describe
from zhifu.core.errors import DecodeError, UsageError
from zhifu.iso8583.response_codes import APPROVED_CODES
from zhifu.issuer.funds import transfer_id
from zhifu.issuer.link import transaction_id
from zhifu.ledger import Ledger, Transfer
from zhifu.ledger.ids import derive_id

__all__ = [
    "PAGE_SIZE",
    "Criteria",
    "DayFigures",
    "ExchangeRow",
    "Exchanges",
    "Posting",
    "icc_tree",
    "transfers_of",
    "txn_id_of",
]

PAGE_SIZE: Final = 50
TRANSACTIONS: Final = ("0100", "0200", "0220", "0320", "0400", "0420", "0500", "0620")
"""The request MTIs of card transactions (the rest is network management)."""
PAYMENT_ANSWERS: Final = ("0110", "0210", "0230")
"""Answers to payments: the dashboard's volumes, response codes and approval rate."""
REVERSALS: Final = ("0400", "0420")
STATUSES: Final = ("all", "approved", "declined")

RRN_EXPR: Final = """json_extract(fields, '$."37"')"""
BATCH_EXPR: Final = """substr(json_extract(fields, '$."60"'), 3, 6)"""
"""The expressions the journal indexes (``journal_rrn``, ``journal_batch``): a query must
spell them exactly so for SQLite to use the index."""

_ACQUIRER_STEPS: Final = ("card", "reversal")
_ISSUER_STEPS: Final = ("purchase", "hold", "completion", "preauth-void", "return", "ecash",
                        "ecash-void", "reversal")  # fmt: skip
_APPROVED: Final = tuple(sorted(APPROVED_CODES))
_CREDITS: Final = tuple(sorted(kind.value for kind in MERCHANT_CREDITS))
_ORDER: Final = re.compile(r"([ -~]{8})-(\d{6})-(\d{6})")


def _marks(values: tuple[str, ...]) -> str:
    return ",".join("?" * len(values))


_SEARCH: Final = (
    "SELECT q.seq, q.at, q.mti, q.terminal_id, q.merchant_id, q.stan, q.fields, "
    "r.response_code, r.fields, r.duration_ms FROM journal q "
    "LEFT JOIN journal r ON r.exchange = q.seq AND r.direction = 'out' "
    "WHERE {where} ORDER BY q.seq DESC LIMIT ? OFFSET ?"
)
"""A page of exchanges; ``{where}`` is made of fixed conditions only (values are bound)."""
_BY_RRN: Final = (
    f"q.seq IN (SELECT exchange FROM journal WHERE direction = 'out' AND {RRN_EXPR} = ?)"  # noqa: S608
)
_HOUR: Final = (
    "SELECT response_code, COUNT(*) FROM journal WHERE direction = 'out' "  # noqa: S608 - fixed
    f"AND mti IN ({_marks(PAYMENT_ANSWERS)}) AND at >= ? AND at < ? GROUP BY response_code"
)
_AMOUNT: Final = (
    "SELECT SUM(amount) FROM card_txns WHERE field_39 = '00' "  # noqa: S608 - fixed
    f"AND kind IN ({_marks(_CREDITS)}) AND created >= ? AND created < ?"
)
_REVERSALS: Final = (
    "SELECT COUNT(*), SUM(NOT EXISTS (SELECT 1 FROM journal r WHERE r.exchange = q.seq "  # noqa: S608
    f"AND r.direction = 'out')) FROM journal q WHERE q.direction = 'in' "
    f"AND q.mti IN ({_marks(REVERSALS)}) AND q.at >= ? AND q.at < ?"
)
"""A day's figures hour by hour, one query per hour: each reads one hour of an index and sorts
only that hour's few groups (one query grouping the whole day by hour sorts every row)."""


@dataclass(frozen=True)
class Criteria:
    """What a search asks: every given criterion must hold (the empty one asks for all)."""

    terminal: str = ""
    merchant: str = ""
    batch: str = ""
    stan: str = ""
    rrn: str = ""
    day: date | None = None
    status: str = "all"
    every_message: bool = False  # True: network management too (sign-on, echo...)

    @classmethod
    def parse(cls, *, terminal: str = "", merchant: str = "", batch: str = "", stan: str = "",
              rrn: str = "", order: str = "", day: str = "", status: str = "",
              every_message: bool = False) -> Criteria:  # fmt: skip
        """Criteria from a form's texts; :class:`UsageError` naming the field of a bad one."""
        terminal, merchant, batch, stan, rrn = (v.strip() for v in (terminal, merchant, batch,
                                                                      stan, rrn))  # fmt: skip
        if order.strip():
            found = _ORDER.fullmatch(order.strip())
            if found is None:
                raise UsageError("an order id is terminal-batch-STAN", argument="order")
            terminal, batch, stan = found.groups()
        _check(terminal, r"[ -~]{8}", "8 characters", "terminal")
        _check(merchant, r"[ -~]{15}", "15 characters", "merchant")
        _check(batch, r"\d{1,6}", "up to 6 digits", "batch")
        _check(stan, r"\d{1,6}", "up to 6 digits", "stan")
        _check(rrn, r"[0-9A-Za-z]{12}", "12 letters or digits", "rrn")
        if (status or "all") not in STATUSES:
            raise UsageError(f"one of {', '.join(STATUSES)}", argument="status")
        return cls(terminal, merchant, batch.zfill(6) if batch else "",
                   stan.zfill(6) if stan else "", rrn, _day(day), status or "all",
                   every_message)  # fmt: skip


def _check(value: str, pattern: str, what: str, argument: str) -> None:
    if value and re.fullmatch(pattern, value) is None:
        raise UsageError(f"expected {what}", argument=argument)


def _day(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError("a date is YYYY-MM-DD", argument="date") from None


class ExchangeRow(NamedTuple):
    """One line of a search: the request's columns, and its answer's when there is one."""

    seq: int
    at: str
    mti: str
    terminal: str
    merchant: str
    stan: str
    batch: str
    amount: int | None
    pan: str
    response_code: str | None
    rrn: str
    duration_ms: float | None


class HourCard(NamedTuple):
    """One hour of card answers: how many, how many approved, the approved amount (fen)."""

    hour: int
    answers: int
    approved: int
    amount: int


@dataclass(frozen=True)
class DayFigures:
    """A day's card figures (see :meth:`Exchanges.day`)."""

    hours: list[HourCard]
    codes: list[tuple[str, int]]
    reversals: int
    unanswered_reversals: int
    in_doubt: int
    amounts_known: bool = True
    total: int = field(init=False)
    approved: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(h.answers for h in self.hours))
        object.__setattr__(self, "approved", sum(h.approved for h in self.hours))


def _bounds(day: date) -> tuple[str, str]:
    """The ``at`` texts a day lies between (ISO local times sort as text)."""
    return day.isoformat(), (day + timedelta(days=1)).isoformat()


class Exchanges:
    """Read-only queries over the journal (and the card transactions) of ``db``."""

    def __init__(self, db: Database, journal: Journal | None = None) -> None:
        """Queries over ``db``; ``journal``: the host's own (else one is opened on ``db``)."""
        self._db = db
        self._journal = journal or Journal(db)

    def _has(self, table: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._db.query_one(sql, (table,)) is not None

    # --- search ---------------------------------------------------------------------------

    def search(self, criteria: Criteria, page: int = 0) -> tuple[list[ExchangeRow], bool]:
        """One page (:data:`PAGE_SIZE` rows, newest first) and whether another follows."""
        where, params = self._where(criteria)
        sql = _SEARCH.format(where=" AND ".join(where))
        rows = self._db.query(sql, (*params, PAGE_SIZE + 1, max(0, page) * PAGE_SIZE))
        return [_row(r) for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE

    def _where(self, c: Criteria) -> tuple[list[str], list[Any]]:
        # the + keeps SQLite from picking the day index for these two (a page walks the seqs)
        where, params = ["+q.direction = 'in'"], list[Any]()
        if not c.every_message:
            where.append(f"+q.mti IN ({_marks(TRANSACTIONS)})")
            params += TRANSACTIONS
        for column, value in (("terminal_id", c.terminal), ("merchant_id", c.merchant),
                              ("stan", c.stan)):  # fmt: skip
            if value:
                where.append(f"q.{column} = ?")
                params.append(value)
        if c.batch:
            # the batch index is partial (requests only): its condition is spelt out plainly
            where.append(f"q.direction = 'in' AND {BATCH_EXPR.replace('fields', 'q.fields')} = ?")
            params.append(c.batch)
        if c.rrn:
            where.append(_BY_RRN)
            params.append(c.rrn)
        if c.day is not None:
            low, high = self._seq_range(c.day)
            where.append("q.seq BETWEEN ? AND ? AND q.at >= ? AND q.at < ?")
            params += [low, high, *_bounds(c.day)]
        if c.status != "all":
            where.append(f"r.response_code {'' if c.status == 'approved' else 'NOT '}IN "
                         f"({_marks(_APPROVED)})")  # fmt: skip
            params += _APPROVED
        return where, params

    def _seq_range(self, day: date) -> tuple[int, int]:
        """The first and last request seq of a day (the ``journal_at`` index answers)."""
        sql = "SELECT MIN(seq), MAX(seq) FROM journal WHERE direction = 'in' AND at >= ? AND at < ?"
        row = self._db.query_one(sql, _bounds(day))
        return (0, -1) if row is None or row[0] is None else (int(row[0]), int(row[1]))

    # --- one exchange -----------------------------------------------------------------------

    def exchange(self, seq: int) -> tuple[JournalEntry, JournalEntry | None] | None:
        """The request row ``seq`` and its answer (None: not yet, or none); None when ``seq``
        is not the row of a request."""
        rows = self._journal.exchange(seq)
        request = next((r for r in rows if r.seq == seq and r.direction != "out"), None)
        if request is None:
            return None
        return request, next((r for r in rows if r.direction == "out"), None)

    # --- a day --------------------------------------------------------------------------------

    def day(self, day: date) -> DayFigures:
        """The card figures of ``day``: answers to payments per hour and by field 39 (the
        journal), approved amounts of the kinds that pay the merchant (the card transactions),
        reversals asked that day and those still unanswered, transactions left in doubt."""
        known = self._has("card_txns")
        hours, codes = [], dict[str, int]()
        for hour, (low, high) in enumerate(_hours(day)):
            counts = self._db.query(_HOUR, (*PAYMENT_ANSWERS, low, high))
            for code, n in counts:
                codes[code or "--"] = codes.get(code or "--", 0) + n
            approved = sum(n for code, n in counts if code in APPROVED_CODES)
            total = self._db.query_one(_AMOUNT, (*_CREDITS, low, high)) if known else None
            amount = int(total[0] or 0) if total else 0
            hours.append(HourCard(hour, sum(n for _, n in counts), approved, amount))
        row = self._db.query_one(_REVERSALS, (*REVERSALS, *_bounds(day)))
        reversals, unanswered = (0, 0) if row is None else (int(row[0] or 0), int(row[1] or 0))
        doubt = self._db.query_one("SELECT COUNT(*) FROM card_in_doubt") if known else None
        return DayFigures(hours, sorted(codes.items(), key=lambda kv: (-kv[1], kv[0])),
                          reversals, unanswered, int(doubt[0]) if doubt else 0, known)  # fmt: skip


def _hours(day: date) -> list[tuple[str, str]]:
    """The ``at`` bounds of the 24 hours of a day.

    >>> _hours(date(2026, 1, 5))[23]
    ('2026-01-05T23', '2026-01-06')
    """
    text = day.isoformat()
    ends = [f"{text}T{h:02d}" for h in range(1, 24)] + [(day + timedelta(days=1)).isoformat()]
    return [(f"{text}T{h:02d}", end) for h, end in enumerate(ends)]


def _row(r: tuple[Any, ...]) -> ExchangeRow:
    request: dict[str, str] = json.loads(r[6])
    answer: dict[str, str] = json.loads(r[8]) if r[8] else {}
    amount = request.get("4") or answer.get("4")
    return ExchangeRow(
        int(r[0]), str(r[1]), r[2] or "", r[3] or "", r[4] or "", r[5] or "",
        (request.get("60") or "")[2:8], int(amount) if amount and amount.isdigit() else None,
        request.get("2", ""), r[7], answer.get("37", ""), r[9],
    )  # fmt: skip


def txn_id_of(fields: dict[str, str]) -> str:
    """The transaction id of a request's (redacted) fields: terminal, batch, STAN.

    >>> txn_id_of({"41": "10000001", "60": "22000007000600", "11": "000042"})
    '10000001-000007-000042'
    """
    return transaction_id(fields.get("41", ""), (fields.get("60") or "")[2:8], fields.get("11", ""))


class Posting(NamedTuple):
    """A ledger transfer of a transaction: who made it and which step, and the transfer."""

    side: str
    step: str
    transfer: Transfer


def transfers_of(ledger: Ledger, txn_id: str) -> list[Posting]:
    """The transfers ``txn_id`` made (their ids derive from it, :mod:`zhifu.ledger.ids`): the
    acquirer's merchant posting and its reversal, the issuer's steps, and the settlement of the
    terminal's batch it belongs to (and its fee)."""
    wanted = [("acquirer", step, derive_id("acquirer", step, txn_id)) for step in _ACQUIRER_STEPS]
    wanted += [("issuer", step, transfer_id(step, txn_id)) for step in _ISSUER_STEPS]
    batch = txn_id.rsplit("-", 1)[0]
    wanted += [("acquirer", step, derive_id("acquirer", step, batch)) for step in ("settle", "fee")]
    found = {t.id: t for t in ledger.lookup_transfers([w[2] for w in wanted])}
    return [Posting(side, step, found[i]) for side, step, i in wanted if i in found]


def icc_tree(value: str) -> list[dict[str, Any]]:
    """Field 55 as the journal keeps it, as a tree of ``tag``, ``name`` and ``value`` (masked
    as stored) or ``children``; raw hex is decoded (and masked) the same way.

    The journal writes ``5A=622800******1117 9F36=00CD 70[9F10=0102]`` (see
    :func:`zhifu.iso8583.redact.redact`).

    >>> tree = icc_tree("9F36=00CD 70[5A=622800******1117 9F10=0102]")
    >>> tree[0]["name"], tree[1]["children"][0]["value"]
    ('Application Transaction Counter (ATC)', '622800******1117')
    >>> icc_tree("9F360200CD")[0]["value"]
    '00CD'
    >>> icc_tree("<12 bytes, not TLV>")
    []
    """
    text = value.strip()
    if _HEX.fullmatch(text) and len(text) % 2 == 0:
        try:
            return describe(decode_tlv(bytes.fromhex(text)))
        except DecodeError:
            return []
    try:
        items, end = _items(text, 0)
    except (ValueError, IndexError):
        return []
    return items if end == len(text) else []


_HEX: Final = re.compile(r"[0-9A-Fa-f]+")
_TAG: Final = re.compile(r"[0-9A-F]{2,8}")


def _items(text: str, pos: int) -> tuple[list[dict[str, Any]], int]:
    """The objects from ``pos`` up to a closing ``]`` or the end; the position after them."""
    items: list[dict[str, Any]] = []
    while pos < len(text) and text[pos] != "]":
        cut = min((i for i in (text.find("=", pos), text.find("[", pos)) if i >= 0), default=-1)
        tag = text[pos:cut]
        if cut < 0 or not _TAG.fullmatch(tag):
            raise ValueError("not a tag")
        entry: dict[str, Any] = {"tag": tag, "name": name_of(int(tag, 16))}
        if text[cut] == "[":
            entry["children"], pos = _items(text, cut + 1)
            pos += 1  # the ]
        else:
            end = len(text)
            for stop in (" ", "]"):
                found = text.find(stop, cut + 1)
                end = min(end, found) if found >= 0 else end
            entry["value"], pos = text[cut + 1 : end], end
        items.append(entry)
        pos += 1 if pos < len(text) and text[pos] == " " else 0
    return items, pos
