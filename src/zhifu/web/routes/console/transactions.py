"""The card transactions of the acquirer journal: a search form and its pages of exchanges
(newest first, 50 a page), each linking to its detail (:mod:`.transaction`).

Criteria: terminal (41), merchant (42), batch (60.2), STAN (11), RRN (37 of the answer), order
id (the acquirer's transaction id, terminal-batch-STAN), day, and approved / declined / all;
network management messages (sign-on, echo...) only when asked. The queries are
:class:`zhifu.acquirer.exchanges.Exchanges`' (indexed, one row past the page).

>>> _query({"terminal": "10000001", "rrn": "", "page": "2"}, "en")
'lang=en&amp;terminal=10000001&amp;page=2'
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from litestar import Request, Response, get

from zhifu.acquirer.exchanges import Criteria, ExchangeRow, Exchanges
from zhifu.core.errors import UsageError
from zhifu.iso8583.response_codes import lookup
from zhifu.web.pages import PAGE_HEADERS, Lang, escape, html_response
from zhifu.web.routes.console import transaction
from zhifu.web.routes.console.frame import (
    Lng,
    Texts,
    fen_text,
    frame,
    lang_of,
    register,
    text,
)
from zhifu.web.services import service_of

TRANSACTIONS = register("/console/transactions", "transactions.read", "交易查询",
                        "Transactions")  # fmt: skip
FIELDS: Final = ("terminal", "merchant", "batch", "stan", "rrn", "order", "date", "status")
TEXT: Final[Texts] = {
    "terminal": {"zh": "终端号（41）", "en": "Terminal (41)"},
    "merchant": {"zh": "商户号（42）", "en": "Merchant (42)"},
    "batch": {"zh": "批次号（60.2）", "en": "Batch (60.2)"},
    "stan": {"zh": "流水号（11）", "en": "STAN (11)"},
    "rrn": {"zh": "检索参考号（37）", "en": "RRN (37)"},
    "order": {"zh": "订单号（终端-批次-流水）", "en": "Order id (terminal-batch-STAN)"},
    "date": {"zh": "日期", "en": "Date"},
    "status": {"zh": "结果", "en": "Outcome"},
    "all": {"zh": "全部", "en": "All"},
    "approved": {"zh": "批准", "en": "Approved"},
    "declined": {"zh": "拒绝", "en": "Declined"},
    "every": {"zh": "含签到、回响等管理报文", "en": "Include sign-on, echo and other management"},
    "search": {"zh": "查询", "en": "Search"},
    "columns": {
        "zh": "序号|时间|类型|终端|商户|批次|流水|金额（元）|卡号|应答|检索参考号",
        "en": "Seq|At|Type|Terminal|Merchant|Batch|STAN|Amount (yuan)|Card|Answer|RRN",
    },
    "none": {"zh": "没有符合条件的交易", "en": "No transaction matches"},
    "newer": {"zh": "← 较新", "en": "← Newer"},
    "older": {"zh": "较旧 →", "en": "Older →"},
    "page": {"zh": "第 {n} 页", "en": "Page {n}"},
    "no_answer": {"zh": "无应答", "en": "no answer"},
    "no_acquirer": {
        "zh": "收单主机未在本进程运行：无交易可查",
        "en": "The acquirer host is not running in this process: nothing to search",
    },
    "bad": {"zh": "{field}：格式不对（{hint}）", "en": "{field}: {hint}"},
    "dashboard": {"zh": "运营看板", "en": "Dashboard"},
}
HINTS_ZH: Final[dict[str, str]] = {
    "terminal": "8 位字符", "merchant": "15 位字符", "batch": "至多 6 位数字",
    "stan": "至多 6 位数字", "rrn": "12 位字母或数字",
    "order": "终端-批次-流水，如 10000001-000001-000123",
    "date": "YYYY-MM-DD", "status": "全部、批准或拒绝", "page": "页码为正整数",
}  # fmt: skip


def _query(values: dict[str, str], lang: Lang | None) -> str:
    """The query string of a search (empty criteria left out), escaped for an attribute."""
    kept = {"lang": lang} if lang else {}
    return escape(urlencode({**kept, **{k: v for k, v in values.items() if v}}))


def _form(lang: Lang, values: dict[str, str], message: str) -> str:
    error = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    inputs = "".join(f'<label>{text(TEXT, name, lang)} <input name="{name}" '
                     f'value="{escape(values.get(name, ""))}"'
                     f'{" type=date" if name == "date" else ""}></label>'
                     for name in FIELDS[:-1])  # fmt: skip
    chosen = values.get("status") or "all"
    options = "".join(f'<option value="{s}"{" selected" if s == chosen else ""}>'
                      f"{text(TEXT, s, lang)}</option>"
                      for s in ("all", "approved", "declined"))  # fmt: skip
    every = " checked" if values.get("every") else ""
    return (f'{error}<form method="get" action="{TRANSACTIONS.path}" class="filters" '
            f'id="search"><input type="hidden" name="lang" value="{lang}">{inputs}'
            f'<label>{text(TEXT, "status", lang)} <select name="status">{options}</select></label>'
            f'<label class="check"><input type="checkbox" name="every" value="1"{every}> '
            f'{text(TEXT, "every", lang)}</label>'
            f'<button type="submit">{text(TEXT, "search", lang)}</button></form>')  # fmt: skip


def _cells(row: ExchangeRow, lang: Lang) -> list[str]:
    amount = fen_text(row.amount) if row.amount is not None else ""
    code = row.response_code
    answer = (f"{code} {lookup(code).meaning_cn if lang == 'zh' else lookup(code).meaning_en}"
              if code else TEXT["no_answer"][lang])  # fmt: skip
    return [row.at[:19].replace("T", " "), row.mti, row.terminal, row.merchant, row.batch,
            row.stan, amount, row.pan, answer, row.rrn]  # fmt: skip


def _results(lang: Lang, rows: list[ExchangeRow]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in TEXT["columns"][lang].split("|"))
    body = "".join(
        f'<tr class="{"ok" if r.response_code and lookup(r.response_code).approved else "no"}">'
        f'<td><a href="{TRANSACTIONS.path}/{r.seq}?lang={lang}">{r.seq}</a></td>'
        + "".join(f"<td>{escape(v)}</td>" for v in _cells(r, lang))
        + "</tr>"
        for r in rows
    )
    empty = f'<p id="no-match" class="muted">{text(TEXT, "none", lang)}</p>' if not rows else ""
    return (f'<div class="wide"><table id="exchanges"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{empty}")  # fmt: skip


def _pager(lang: Lang, values: dict[str, str], page: int, more: bool) -> str:
    links = []
    if page > 1:
        links.append(f'<a id="newer" href="{TRANSACTIONS.path}?'
                     f'{_query({**values, "page": str(page - 1)}, lang)}">'
                     f"{text(TEXT, 'newer', lang)}</a>")  # fmt: skip
    links.append(f"<span>{text(TEXT, 'page', lang, n=page)}</span>")
    if more:
        links.append(f'<a id="older" href="{TRANSACTIONS.path}?'
                     f'{_query({**values, "page": str(page + 1)}, lang)}">'
                     f"{text(TEXT, 'older', lang)}</a>")  # fmt: skip
    return f'<p class="pager">{" ".join(links)}</p>'


def _page_number(value: str) -> int:
    if not value:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise UsageError("a page number is a whole number from 1", argument="page")
    return int(value)


def _problem(lang: Lang, exc: UsageError) -> str:
    name = exc.argument or "page"
    field = TEXT[name][lang] if name in TEXT else name
    hint = HINTS_ZH.get(name, exc.message) if lang == "zh" else exc.message
    return text(TEXT, "bad", lang, field=field, hint=hint)


@get("/console/transactions", include_in_schema=False, sync_to_thread=True)
def transactions(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """The search form and one page of what it found."""
    chosen = lang_of(lang)
    query = request.query_params
    values = {name: str(query.get(name) or "").strip()[:40] for name in (*FIELDS, "every")}
    host = service_of(request.app.state, "acquirer")
    title = TRANSACTIONS.title[chosen]
    nav = f'<p><a href="/console/dashboard?lang={chosen}">{text(TEXT, "dashboard", chosen)}</a></p>'
    keep = _query(values, None)
    if host is None:
        body = (f'{nav}{_form(chosen, values, "")}<p id="no-acquirer" class="muted">'
                f'{text(TEXT, "no_acquirer", chosen)}</p>')  # fmt: skip
        return html_response(frame(chosen, title, body, TRANSACTIONS.path, query=keep))
    try:
        number = _page_number(str(query.get("page") or "").strip())
        criteria = Criteria.parse(
            terminal=values["terminal"], merchant=values["merchant"], batch=values["batch"],
            stan=values["stan"], rrn=values["rrn"], order=values["order"], day=values["date"],
            status=values["status"], every_message=bool(values["every"]),
        )  # fmt: skip
    except UsageError as exc:
        body = f"{nav}{_form(chosen, values, _problem(chosen, exc))}"
        document = frame(chosen, title, body, TRANSACTIONS.path, query=keep)
        return Response(document, status_code=400, media_type="text/html", headers=PAGE_HEADERS)
    rows, more = Exchanges(host.database, host.journal).search(criteria, number - 1)
    body = (f"{nav}{_form(chosen, values, '')}{_results(chosen, rows)}"
            f"{_pager(chosen, values, number, more)}")  # fmt: skip
    return html_response(frame(chosen, title, body, TRANSACTIONS.path, query=keep))


ROUTES = [transactions, *transaction.ROUTES]
