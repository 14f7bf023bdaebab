"""The BEPS clearing page: the day and the open round, the bilateral positions of a round per
node, the queues, the net debit caps and their headroom, the closed rounds' settlement results
and the reconciliation; its CSV downloads; and "close the round now" for an operator.

Everything is read from the :class:`~zhifu.clearing.service.ClearingService` that ``zhifu
serve`` runs in this process (under the centre's lock); without one the page says so. Closing
a round goes through the centre's recorder, so the event log holds it like any other call, and
is written to the audit trail (``clearing.round.close``).

>>> CLEARING.path, CLEARING.permission
('/console/clearing', 'clearing.read')
>>> done = _csv_bytes(("a", "b"), [{"a": 1, "b": "0.01"}])
>>> done[:3], done.decode("utf-8-sig").splitlines()
(b'\\xef\\xbb\\xbf', ['a,b', '1,0.01'])
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect

from zhifu.clearing.calendar.days import beps_date
from zhifu.clearing.codes import BUSINESS, BusinessType
from zhifu.clearing.config import format_yuan
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.reports import to_csv
from zhifu.clearing.rounds import RoundKey, RoundState
from zhifu.core.errors import ZhifuError
from zhifu.security.access import allows
from zhifu.web.access import guarded_principal, site_of
from zhifu.web.pages import PAGE_HEADERS, Lang, escape, html_response
from zhifu.web.routes.console.clearing_views import (
    REPORTS,
    NodeMatrix,
    caps_rows,
    matrices,
    parse_round,
    queue_summary,
    reconciliations,
    round_label,
    settlement_rows,
)
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

Said = Annotated[str | None, QueryParameter(description="a value the page shows")]
Named = Annotated[str, PathParameter(description="positions, settlements, queue or caps")]
CLEARING = register("/console/clearing", "clearing.read", "小额批量清算（BEPS）", "BEPS clearing")
TEXT: Final[Texts] = {
    "absent": {
        "zh": "本进程中没有运行 BEPS 清算中心（zhifu serve --no-clearing，或应用单独启动）。",
        "en": "No BEPS centre runs in this process (zhifu serve --no-clearing, or the "
        "app started on its own).",
    },
    "stopped": {"zh": "清算中心已停止：{why}", "en": "The centre stopped: {why}"},
    "day": {
        "zh": "BEPS 日期 {day}，第 {n} 场（{closes} 截止）；日切 {cutoff}；中心时钟 {now}",
        "en": "BEPS date {day}, round {n} (closes {closes}); day cutoff {cutoff}; "
        "centre clock {now}",
    },
    "close": {"zh": "立即关闭本场并轧差", "en": "Close this round now"},
    "closed": {
        "zh": "已关闭 {round}：{items} 笔，状态 {state}",
        "en": "Closed {round}: {items} items, state {state}",
    },
    "closed_empty": {
        "zh": "已关闭 {round}：本场无轧差业务",
        "en": "Closed {round}: nothing netted in it",
    },
    "close_failed": {"zh": "未能关闭本场：{why}", "en": "The round was not closed: {why}"},
    "positions": {"zh": "双边轧差头寸：{round}", "en": "Bilateral positions: {round}"},
    "matrix_note": {
        "zh": "单元格：列中银行欠行中银行的金额（元，负数为行中银行欠列中银行）；"
        "末列为各行净额，合计为零。",
        "en": "A cell: what the column's bank owes the row's bank (yuan; negative: "
        "the row's bank owes). The last column is each bank's net; they sum "
        "to zero.",
    },
    "net": {"zh": "净额", "en": "Net"},
    "sum": {"zh": "合计", "en": "Sum"},
    "zero_ok": {"zh": "净额合计 {sum}：为零", "en": "Nets sum to {sum}: zero"},
    "zero_bad": {"zh": "净额合计 {sum}：不为零！", "en": "Nets sum to {sum}: not zero!"},
    "no_positions": {"zh": "本场尚无轧差头寸。", "en": "Nothing netted in this round yet."},
    "bad_round": {
        "zh": "无法识别的场次“{round}”（格式 2025-10-09R2），显示当前场次。",
        "en": "Not a round: “{round}” (write 2025-10-09R2); the open round is shown.",
    },
    "rounds": {"zh": "其他场次：", "en": "Other rounds: "},
    "queue": {"zh": "排队业务", "en": "Queued items"},
    "queue_columns": {
        "zh": "付款清算行|节点|业务类型|笔数|金额（元）",
        "en": "Payer clearing bank|Node|Business type|Items|Amount (yuan)",
    },
    "caps": {"zh": "净借记限额与可用额度", "en": "Net debit caps and headroom"},
    "caps_columns": {
        "zh": "直接参与者|节点|限额（元）|已提交未清算（元）|本场净额（元）|可用额度（元）",
        "en": "Direct participant|Node|Cap (yuan)|Submitted, unsettled (yuan)|"
        "Open round (yuan)|Headroom (yuan)",
    },
    "results": {"zh": "已关闭场次的清算结果", "en": "Settlement of the closed rounds"},
    "results_columns": {
        "zh": "场次|状态|笔数|清算日期|直接参与者|净额（元，正数为收款）",
        "en": "Round|State|Items|Settlement date|Direct participant|Net (yuan, positive: receives)",
    },
    "reserves": {"zh": "清算账户余额（元）", "en": "Settlement account balances (yuan)"},
    "reserve_columns": {"zh": "直接参与者|余额（元）", "en": "Direct participant|Balance (yuan)"},
    "recon": {"zh": "对账", "en": "Reconciliation"},
    "recon_columns": {
        "zh": "BEPS 日期|逐笔与头寸|清算账簿|银行数|差异",
        "en": "BEPS date|Items vs positions|Settlement books|Banks|Differences",
    },
    "agree": {"zh": "一致", "en": "agree"},
    "differ": {"zh": "不一致", "en": "differ"},
    "balanced": {"zh": "平衡", "en": "balanced"},
    "unbalanced": {"zh": "不平衡", "en": "not balanced"},
    "downloads": {
        "zh": "下载 CSV（UTF-8，带 BOM；金额为分与元两列）：",
        "en": "CSV downloads (UTF-8 with a BOM; amounts in fen and in yuan): ",
    },
    "unknown_report": {"zh": "没有名为“{name}”的报表。", "en": "No report named “{name}”."},
}
STATES: Final[dict[str, dict[Lang, str]]] = {
    RoundState.OPEN.value: {"zh": "未关闭", "en": "open"},
    RoundState.SUBMITTED.value: {"zh": "已提交待清算", "en": "submitted"},
    RoundState.AWAITING_CALENDAR.value: {"zh": "待节假日数据", "en": "awaiting calendar data"},
    RoundState.SETTLEMENT_QUEUED.value: {"zh": "清算排队（资金不足）", "en": "settlement queued"},
    RoundState.SETTLED.value: {"zh": "已清算", "en": "settled"},
}
REPORT_NAMES: Final = {
    "zh": {
        "positions": "双边头寸",
        "settlements": "清算结果",
        "queue": "排队业务",
        "caps": "限额与额度",
    },
    "en": {
        "positions": "positions",
        "settlements": "settlements",
        "queue": "queue",
        "caps": "caps",
    },
}


def _state(value: str, lang: Lang) -> str:
    return STATES.get(value, {"zh": value, "en": value})[lang]


def _business(value: str, lang: Lang) -> str:
    return BUSINESS[BusinessType(value)].name_zh if lang == "zh" else value.replace("_", " ")


def _head(system: ClearingSystem, lang: Lang) -> str:
    key = system.book.current
    closes = system.schedule.close_instant(key).strftime("%m-%d %H:%M")
    said = text(
        TEXT,
        "day",
        lang,
        day=key[0].isoformat(),
        n=key[1],
        closes=closes,
        cutoff=system.schedule.cutoff.strftime("%H:%M"),
        now=system.now.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return f'<p id="beps-day">{said}</p>'


def _matrix(found: NodeMatrix, lang: Lang) -> str:
    head = "".join(f"<th>{escape(b)}</th>" for b in found.banks)
    rows = "".join(
        f"<tr><th>{escape(bank)}</th>"
        + "".join(f'<td class="num">{fen_text(v) if v else "·"}</td>' for v in cells)
        + f'<td class="num net">{fen_text(net)}</td></tr>'
        for bank, cells, net in zip(found.banks, found.cells, found.nets, strict=True)
    )
    total = sum(found.nets)
    verdict = text(TEXT, "zero_ok" if total == 0 else "zero_bad", lang, sum=fen_text(total))
    foot = (
        f'<tr><th colspan="{len(found.banks) + 1}">{text(TEXT, "sum", lang)}</th>'
        f'<td class="num">{fen_text(total)}</td></tr>'
    )
    node = escape(found.node)
    return (
        f'<h3>{node}</h3><div class="wide"><table class="matrix" data-node="{node}">'
        f"<thead><tr><th></th>{head}<th>{text(TEXT, 'net', lang)}</th></tr></thead>"
        f"<tbody>{rows}</tbody><tfoot>{foot}</tfoot></table></div>"
        f'<p class="zero-sum {"ok" if total == 0 else "bad"}">{verdict}</p>'
    )


def _positions(system: ClearingSystem, chosen: str | None, lang: Lang) -> str:
    key, note = system.book.current, ""
    if chosen:
        wanted = parse_round(chosen)
        if wanted is None:
            note = (
                f'<p class="error" role="alert">{text(TEXT, "bad_round", lang, round=chosen)}</p>'
            )
        else:
            key = wanted
    found = matrices(system, key)
    body = "".join(_matrix(m, lang) for m in found)
    if not found:
        body = f'<p class="muted">{text(TEXT, "no_positions", lang)}</p>'
    others = sorted((k for k in system.book.bilateral if k != key), reverse=True)[:8]
    links = " ".join(
        f'<a href="{CLEARING.path}?lang={lang}&amp;round={round_label(k)}">{round_label(k)}</a>'
        for k in others
    )
    more = f'<p class="rounds">{text(TEXT, "rounds", lang)}{links}</p>' if others else ""
    title = text(TEXT, "positions", lang, round=round_label(key))
    return (
        f'{note}<h2 id="positions">{title}</h2><p class="muted">'
        f"{text(TEXT, 'matrix_note', lang)}</p>{body}{more}"
    )


def _tables(system: ClearingSystem, lang: Lang) -> str:
    queued = [
        [q.bank, q.node, _business(q.business_type, lang), str(q.count), fen_text(q.amount)]
        for q in queue_summary(system)
    ]
    caps = [
        [
            r["bank"],
            r["node"],
            fen_text(r["cap_fen"]),
            fen_text(r["unsettled_fen"]),
            fen_text(r["open_fen"]),
            fen_text(r["headroom_fen"]),
        ]
        for r in caps_rows(system)
    ]
    results = [
        [
            r["round"],
            _state(r["state"], lang),
            str(r["items"]),
            r["settlement_date"],
            r["bank"],
            fen_text(r["net_fen"]),
        ]
        for r in settlement_rows(system)
    ]
    return (
        f"<h2>{text(TEXT, 'queue', lang)}</h2>"
        f"{table('queue', TEXT['queue_columns'][lang], queued, lang)}"
        f"<h2>{text(TEXT, 'caps', lang)}</h2>"
        f"{table('caps', TEXT['caps_columns'][lang], caps, lang)}"
        f'<h2 id="settled">{text(TEXT, "results", lang)}</h2>'
        f"{table('results', TEXT['results_columns'][lang], results, lang)}"
    )


def _books(system: ClearingSystem, lang: Lang) -> str:
    banks = sorted(p.code for p in system.participants.values() if p.direct)
    reserves = [[b, fen_text(system.books.reserve_balance(b))] for b in banks]
    today = beps_date(system.now, system.schedule.cutoff)
    recon = [
        [
            r.beps_date.isoformat(),
            text(TEXT, "differ" if r.mismatches else "agree", lang),
            text(TEXT, "balanced" if r.books_balanced else "unbalanced", lang),
            str(len(r.banks)),
            "; ".join(r.mismatches),
        ]
        for r in reconciliations(system, today)
    ]
    return (
        f"<h2>{text(TEXT, 'reserves', lang)}</h2>"
        f"{table('reserves', TEXT['reserve_columns'][lang], reserves, lang)}"
        f'<h2 id="reconciliation">{text(TEXT, "recon", lang)}</h2>'
        f"{table('reconciliation-table', TEXT['recon_columns'][lang], recon, lang)}"
    )


def _downloads(lang: Lang) -> str:
    links = " · ".join(
        f'<a href="{CLEARING.path}/csv/{name}" download id="csv-{name}">{escape(label)}</a>'
        for name, label in REPORT_NAMES[lang].items()
    )
    return f'<p id="downloads">{text(TEXT, "downloads", lang)}{links}</p>'


def _closed_note(system: ClearingSystem, closed: str | None, failed: str | None, lang: Lang) -> str:
    if failed:
        return f'<p class="error" role="alert">{text(TEXT, "close_failed", lang, why=failed)}</p>'
    key = parse_round(closed or "")
    if key is None:
        return ""
    record = system.rounds.get(key)
    if record is None:
        return f'<p id="closed" role="status">{text(TEXT, "closed_empty", lang, round=closed)}</p>'
    note = text(
        TEXT,
        "closed",
        lang,
        round=round_label(key),
        items=len(record.items),
        state=_state(record.state.value, lang),
    )
    return f'<p id="closed" role="status">{note}</p>'


def _close_form(request: Request[Any, Any, Any], lang: Lang) -> str:
    if not allows(guarded_principal(request), "clearing.operate"):
        return ""
    return (
        f'<form method="post" action="{CLEARING.path}/close-round?lang={lang}" '
        f'class="close-round"><button type="submit" id="close-round">'
        f"{text(TEXT, 'close', lang)}</button></form>"
    )


@get("/console/clearing", include_in_schema=False, sync_to_thread=False)
def clearing_page(
    request: Request[Any, Any, Any],
    lang: Lng = None,
    round: Said = None,
    closed: Said = None,
    failed: Said = None,
) -> Response[str]:
    """The BEPS day, positions, queues, caps, results and reconciliation (see the module)."""
    chosen, service = lang_of(lang), service_of(request.app.state, "clearing")
    if service is None:
        body = f'<p id="not-running" class="muted">{text(TEXT, "absent", chosen)}</p>'
        return html_response(frame(chosen, CLEARING.title[chosen], body, CLEARING.path))
    centre, system = service.centre, service.system
    with centre.lock:
        stopped = centre.stopped
        parts = [
            _closed_note(system, closed, failed, chosen),
            _head(system, chosen),
            f'<p class="error">{text(TEXT, "stopped", chosen, why=stopped)}</p>' if stopped else "",
            _close_form(request, chosen),
            _downloads(chosen),
            _positions(system, round or closed, chosen),  # just closed: what it netted
            _tables(system, chosen),
            _books(system, chosen),
        ]
    query = f"round={escape(round)}" if round else ""
    return html_response(
        frame(
            chosen,
            CLEARING.title[chosen],
            f'<div class="books">{"".join(parts)}</div>',
            CLEARING.path,
            query=query,
        )
    )


def _csv_bytes(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
    """CSV text in UTF-8 with a byte-order mark (spreadsheets then read the Chinese right)."""
    return to_csv(rows, columns).encode("utf-8-sig")


@get("/console/clearing/csv/{report:str}", include_in_schema=False, sync_to_thread=False)
def clearing_csv(request: Request[Any, Any, Any], report: Named, lang: Lng = None) -> Response[Any]:
    """One of :data:`~zhifu.web.routes.console.clearing_views.REPORTS` as a CSV download."""
    chosen, service = lang_of(lang), service_of(request.app.state, "clearing")
    if report not in REPORTS or service is None:
        why = (
            text(TEXT, "unknown_report", chosen, name=report)
            if report not in REPORTS
            else text(TEXT, "absent", chosen)
        )
        document = frame(
            chosen, CLEARING.title[chosen], f'<p class="error">{why}</p>', CLEARING.path
        )
        return Response(document, status_code=404, media_type="text/html", headers=PAGE_HEADERS)
    columns, rows_of = REPORTS[report]
    with service.centre.lock:
        rows, day = rows_of(service.system), service.current_round[0]
    name = f"beps-{report}-{day.isoformat()}.csv"
    headers = {**PAGE_HEADERS, "content-disposition": f'attachment; filename="{name}"'}
    return Response(_csv_bytes(columns, rows), media_type="text/csv", headers=headers)


def close_now(service: Any) -> tuple[RoundKey, str]:
    """Close the service's open round through its recorder and commit the log; the round and
    what became of it (raises :class:`ZhifuError` when the centre cannot)."""
    centre = service.centre
    with centre.lock:
        if centre.stopped is not None:
            raise ZhifuError(f"the centre stopped: {centre.stopped}")
        key = service.current_round
        record = centre.engine.close_round()
        centre.commit()
        if record is None:
            return key, "closed: nothing netted"
        nets = sum(abs(v) for v in record.nets.values()) // 2
        return key, (
            f"closed: {len(record.items)} items, {format_yuan(nets)} yuan netted, "
            f"{record.state.value}"
        )


@post(
    "/console/clearing/close-round", include_in_schema=False, sync_to_thread=True, status_code=303
)
def close_round(request: Request[Any, Any, Any], lang: Lng = None) -> Response[Any]:
    """Close the open round now (``clearing.operate``), audit it, back to the page."""
    chosen, service = lang_of(lang), service_of(request.app.state, "clearing")
    who, site = guarded_principal(request), site_of(request.app.state)
    back = f"{CLEARING.path}?lang={chosen}"
    if service is None:
        return Redirect(path=back, status_code=303)
    origin = request.client.host if request.client else ""
    try:
        key, outcome = close_now(service)
    except ZhifuError as exc:
        site.record(who.name, "clearing.round.close", "open round", f"failed: {exc}", origin)
        return Redirect(path=f"{back}&failed={quote(str(exc)[:200])}", status_code=303)
    site.record(who.name, "clearing.round.close", round_label(key), outcome, origin)
    return Redirect(path=back + f"&closed={round_label(key)}", status_code=303)


ROUTES = [clearing_page, clearing_csv, close_round]
