"""The compliance page: institutions and their licence states, fee schedules (in force and
announced, with their dates), complaints (open, and overdue against their service levels) and
the last reserve-fund reconciliation of each institution.

The licences are the site's registry; the fee schedules, complaints and reserve reconciliations
are :mod:`zhifu.compliance`'s books in the same file of the data directory (``compliance.db``),
opened for the request. Whatever is empty, the page says so (and how the reconciliation is run).

>>> rate_text(Rate(basis_points=38, fixed_fen=0, min_fen=1, max_fen=2_500))
'38 bp + 0.00, min 0.01, max 25.00'
>>> from zhifu.compliance.complaints import ComplaintBook
>>> book = ComplaintBook.open(":memory:")
>>> from datetime import datetime
>>> from zhifu.core.clock import SHANGHAI
>>> for n in range(5):
...     _ = book.open_complaint("c", "Z001", f"s{n}", at=datetime(2026, 1, 1, tzinfo=SHANGHAI))
>>> [c.subject for c in newest_complaints(book, 3)]
['s4', 's3', 's2']
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from litestar import Request, Response, get

from zhifu.acquirer.site import COMPLIANCE_FILE
from zhifu.compliance import ComplaintBook, FeeBook, Rate, ReserveBook
from zhifu.compliance.complaints import CLOSED, SLA, Complaint
from zhifu.compliance.errors import NotFoundError
from zhifu.compliance.fees import FeeSchedule
from zhifu.core.clock import SHANGHAI
from zhifu.web.access import site_of
from zhifu.web.pages import Lang, html_response
from zhifu.web.routes.console.frame import (
    Lng,
    Texts,
    fen_text,
    frame,
    lang_of,
    register,
    table,
    text,
)
from zhifu.web.services import service_of

COMPLIANCE = register(
    "/console/compliance",
    "compliance.read",
    "合规：机构、费率、投诉、备付金",
    "Compliance: institutions, fees, complaints, reserves",
)
COMPLAINTS_SHOWN: Final = 100
TEXT: Final[Texts] = {
    "institutions": {"zh": "机构与许可状态", "en": "Institutions and licence states"},
    "institution_columns": {
        "zh": "代码|类型|名称|状态|最近变更",
        "en": "Code|Kind|Name|State|Last change",
    },
    "fees": {"zh": "费率表", "en": "Fee schedules"},
    "fee_columns": {
        "zh": "机构|版本|状态|发布时间|生效时间|交易类型|费率",
        "en": "Institution|Version|Status|Published|Effective from|Kind|Rate",
    },
    "in_force": {"zh": "现行", "en": "in force"},
    "announced": {"zh": "已公告待生效", "en": "announced"},
    "superseded": {"zh": "已被取代", "en": "superseded"},
    "complaints": {"zh": "投诉", "en": "Complaints"},
    "complaint_counts": {
        "zh": "未结 {open} 件，其中超时 {late} 件（受理时限 {ack} 天，答复时限 {answer} 天）",
        "en": "{open} open, {late} of them overdue (acknowledge within {ack} "
        "days, answer within {answer} days)",
    },
    "complaint_columns": {
        "zh": "编号|机构|事由|收到|状态|受理|答复期限|超时",
        "en": "No.|Institution|Subject|Received|State|Acknowledged|Answer due|Overdue",
    },
    "late": {"zh": "超时", "en": "overdue"},
    "reserves": {
        "zh": "备付金对账（各机构最近一次）",
        "en": "Reserve funds (the last reconciliation of each institution)",
    },
    "reserve_columns": {
        "zh": "机构|日期|应付客户（元）|备付金（元）|差额（元）|结果|账户数",
        "en": "Institution|Day|Owed to customers (yuan)|Reserve (yuan)|"
        "Difference (yuan)|Result|Accounts",
    },
    "match": {"zh": "相符", "en": "matches"},
    "mismatch": {"zh": "不符", "en": "differs"},
    "how": {
        "zh": "尚无对账结果。对账由 zhifu.compliance.ReserveBook.reconcile 按日运行"
        "（客户账户 22411/22412 对备付金账户 10111），尚无命令或定时任务；"
        "见 docs/compliance.md。",
        "en": "No reconciliation yet. It is run per day by zhifu.compliance.ReserveBook."
        "reconcile (customer accounts 22411/22412 against the reserve account "
        "10111); no command or schedule runs it yet: see docs/compliance.md.",
    },
    "no_home": {
        "zh": "本进程不知道数据目录：费率、投诉与备付金账簿无法打开。",
        "en": "This process knows no data directory: the fee, complaint and reserve "
        "books cannot be opened.",
    },
    "none_yet": {"zh": "（尚无记录）", "en": "(nothing recorded yet)"},
}


@dataclass
class Books:
    """The compliance books of the data directory, open for one request."""

    fees: FeeBook
    complaints: ComplaintBook
    reserves: ReserveBook


@contextmanager
def open_books(home: Path | None) -> Iterator[Books | None]:
    """The fee, complaint and reserve books in ``home``'s compliance file (None: no home)."""
    if home is None:
        yield None
        return
    path = Path(home) / COMPLIANCE_FILE
    with ExitStack() as stack:
        fees = FeeBook.open(path)
        stack.callback(fees.close)
        complaints = ComplaintBook.open(path)
        stack.callback(complaints.close)
        reserves = ReserveBook.open(path)
        stack.callback(reserves.close)
        yield Books(fees, complaints, reserves)


def rate_text(rate: Rate) -> str:
    """A rate in words: basis points, the fixed part, the minimum and any maximum (yuan)."""
    top = f", max {fen_text(rate.max_fen)}" if rate.max_fen is not None else ""
    return f"{rate.basis_points} bp + {fen_text(rate.fixed_fen)}, min {fen_text(rate.min_fen)}{top}"


def newest_complaints(book: ComplaintBook, limit: int) -> list[Complaint]:
    """The newest ``limit`` complaints, newest first (numbers run 1, 2, ... with no gap)."""

    def exists(number: int) -> bool:
        try:
            book.get(number)
        except NotFoundError:
            return False
        return True

    high = 1
    while exists(high):
        high *= 2
    low = high // 2  # exists(low) unless low == 0; not exists(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if exists(middle) else (low, middle)
    return [book.get(n) for n in range(low, max(0, low - limit), -1)]


def _day(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def _institutions(site: Any, lang: Lang) -> tuple[str, list[str]]:
    with site.lock:
        found = site.compliance.institutions()
        last = {i.code: site.compliance.history(i.code)[-1:] for i in found}
    rows = [
        [
            i.code,
            i.kind.value,
            i.name,
            i.state.value,
            " ".join(f"{_day(c.at)} {c.action}" for c in last[i.code]),
        ]
        for i in found
    ]
    body = (
        f"<h2>{text(TEXT, 'institutions', lang)}</h2>"
        f"{table('institutions', TEXT['institution_columns'][lang], rows, lang)}"
    )
    return body, [i.code for i in found]


def _status(schedule: FeeSchedule, current: FeeSchedule | None, now: datetime) -> str:
    if schedule.effective_from > now:
        return "announced"
    return (
        "in_force" if current is not None and schedule.version == current.version else "superseded"
    )


def _fees(books: Books, codes: list[str], now: datetime, lang: Lang) -> str:
    rows = []
    for code in codes:
        schedules = books.fees.schedules(code)
        started = [s for s in schedules if s.effective_from <= now]
        current = max(started, key=lambda s: s.effective_from) if started else None
        for s in sorted(schedules, key=lambda s: s.version, reverse=True):
            status = text(TEXT, _status(s, current, now), lang)
            for kind, rate in sorted(s.rates.items()):
                rows.append(
                    [
                        code,
                        str(s.version),
                        status,
                        _day(s.published_at),
                        _day(s.effective_from),
                        kind,
                        rate_text(rate),
                    ]
                )
    return (
        f"<h2>{text(TEXT, 'fees', lang)}</h2>{table('fees', TEXT['fee_columns'][lang], rows, lang)}"
    )


def _complaints(books: Books, now: datetime, lang: Lang) -> str:
    late = {c.id for c in books.complaints.overdue(now)}
    shown = newest_complaints(books.complaints, COMPLAINTS_SHOWN)
    open_count = sum(c.state not in CLOSED for c in shown)
    rows = [
        [
            str(c.id),
            c.institution,
            c.subject,
            _day(c.received),
            c.state,
            _day(c.acknowledged),
            _day(c.received + SLA["answer"]) if c.state not in CLOSED else _day(c.answered),
            text(TEXT, "late", lang) if c.id in late else "",
        ]
        for c in shown
    ]
    counts = text(
        TEXT,
        "complaint_counts",
        lang,
        open=open_count,
        late=len(late),
        ack=SLA["acknowledge"].days,
        answer=SLA["answer"].days,
    )
    return (
        f'<h2>{text(TEXT, "complaints", lang)}</h2><p id="complaint-counts">{counts}</p>'
        f"{table('complaints', TEXT['complaint_columns'][lang], rows, lang)}"
    )


def _reserves(books: Books, codes: list[str], lang: Lang) -> str:
    rows = []
    for code in codes:
        for r in books.reserves.history(code)[-1:]:
            rows.append(
                [
                    code,
                    r.day.isoformat(),
                    fen_text(r.customers),
                    fen_text(r.reserve),
                    fen_text(r.difference),
                    text(TEXT, "match" if r.ok else "mismatch", lang),
                    str(r.accounts),
                ]
            )
    how = "" if rows else f'<p id="reserve-how" class="muted">{text(TEXT, "how", lang)}</p>'
    return (
        f"<h2>{text(TEXT, 'reserves', lang)}</h2>"
        f"{table('reserves', TEXT['reserve_columns'][lang], rows, lang)}{how}"
    )


@get("/console/compliance", include_in_schema=False, sync_to_thread=True)
def compliance_page(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """Institutions, fee schedules, complaints and reserve reconciliations (see the module)."""
    chosen, site = lang_of(lang), site_of(request.app.state)
    now = datetime.now(SHANGHAI)
    body, codes = _institutions(site, chosen)
    parts = [body]
    with open_books(service_of(request.app.state, "home")) as books:
        if books is None:
            parts.append(f'<p id="no-home" class="muted">{text(TEXT, "no_home", chosen)}</p>')
        else:
            parts += [
                _fees(books, codes, now, chosen),
                _complaints(books, now, chosen),
                _reserves(books, codes, chosen),
            ]
    body = f'<div class="books">{"".join(parts)}</div>'
    return html_response(frame(chosen, COMPLIANCE.title[chosen], body, COMPLIANCE.path))


ROUTES = [compliance_page]
