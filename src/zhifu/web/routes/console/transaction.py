"""One card transaction: its request and response field by field as the journal keeps them
(redacted: a PAN shows its first 6 and last 4 digits), field 55 as a BER-TLV tree with the
EMV tag names, the ledger transfers its transaction id made, and the audit records that name
it or its terminal.

Field names come from the ISO 8583 field table (:mod:`zhifu.iso8583.specs`), the sub-fields
of 60 from :func:`zhifu.iso8583.fields_60.describe_field_60`, response codes from
:mod:`zhifu.iso8583.response_codes`, account names from the chart
(:mod:`zhifu.ledger.chart`). An unknown ``seq`` answers a 404 page.

>>> _field_label("37", "en"), _field_label("37", "zh")
('retrieval reference number (RRN)', '检索参考号')
"""

from __future__ import annotations

import re
from typing import Any, Final

from litestar import Request, Response, get
from litestar.params import FromPath

from zhifu.acquirer.exchanges import Exchanges, Posting, icc_tree, transfers_of, txn_id_of
from zhifu.acquirer.journal import JournalEntry
from zhifu.core.errors import DecodeError
from zhifu.iso8583.fields_60 import describe_field_60
from zhifu.iso8583.response_codes import lookup
from zhifu.iso8583.specs import ABSENT, FIELDS, MESSAGE_TYPES
from zhifu.ledger import Ledger
from zhifu.ledger.chart import BY_CODE
from zhifu.ledger.model import TransferFlags
from zhifu.security.audit_trail import AuditRecord
from zhifu.web.access import site_of
from zhifu.web.pages import PAGE_HEADERS, Lang, escape, html_response
from zhifu.web.routes.console.frame import (
    Lng,
    Texts,
    fen_text,
    frame,
    instant,
    lang_of,
    table,
    text,
)
from zhifu.web.services import service_of

PATH: Final = "/console/transactions"
AUDIT_SHOWN: Final = 20
TEXT: Final[Texts] = {
    "title": {"zh": "交易 #{seq}", "en": "Transaction #{seq}"},
    "missing": {"zh": "没有序号为 {seq} 的交易请求", "en": "No transaction request with seq {seq}"},
    "missing_title": {"zh": "未找到交易", "en": "Transaction not found"},
    "back": {"zh": "返回交易查询", "en": "Back to the search"},
    "no_acquirer": {
        "zh": "收单主机未在本进程运行",
        "en": "The acquirer host is not running in this process",
    },
    "summary_columns": {"zh": "项目|内容", "en": "Item|Value"},
    "txn_id": {"zh": "订单号（交易标识）", "en": "Order id (transaction id)"},
    "received": {"zh": "收到时间", "en": "Received"},
    "peer": {"zh": "来自", "en": "From"},
    "outcome": {"zh": "结果", "en": "Outcome"},
    "took": {"zh": "主机耗时", "en": "Host time"},
    "note": {"zh": "说明", "en": "Note"},
    "no_answer": {"zh": "尚无应答", "en": "No answer yet"},
    "request": {"zh": "请求 {mti}", "en": "Request {mti}"},
    "response": {"zh": "应答 {mti}", "en": "Response {mti}"},
    "field_columns": {"zh": "域|名称|值", "en": "Field|Name|Value"},
    "icc": {"zh": "55 域（IC 卡数据）：{which}", "en": "Field 55 (ICC data): {which}"},
    "icc_bad": {"zh": "（无法解析为 TLV）", "en": "(not readable as TLV)"},
    "ledger": {"zh": "账务分录", "en": "Ledger transfers"},
    "ledger_columns": {
        "zh": "方|步骤|借方科目|贷方科目|金额（元）|标志|时间",
        "en": "Side|Step|Debit account|Credit account|Amount (yuan)|Flags|At",
    },
    "no_ledger": {"zh": "本进程中没有账本", "en": "No ledger in this process"},
    "audit": {"zh": "相关审计记录", "en": "Audit records naming it"},
    "audit_columns": {
        "zh": "序号|时间|操作者|操作|对象|结果",
        "en": "Seq|At|Actor|Action|Object|Outcome",
    },
}


def _field_label(number: str, lang: Lang) -> str:
    spec = FIELDS.get(number)
    if spec is None:
        return ABSENT.get(number, "?")
    return spec.name_cn if lang == "zh" else spec.name_en


def _value_cell(number: str, value: str, lang: Lang) -> str:
    """A field's value, with the meaning of 39 and the sub-fields of 60 where they are known."""
    shown = f"<code>{escape(value)}</code>"
    if number == "39":
        code = lookup(value)
        shown += f" {escape(code.meaning_cn if lang == 'zh' else code.meaning_en)}"
    elif number == "60":
        try:
            subs = describe_field_60(value)
        except DecodeError:
            subs = []
        parts = [f"{s['id']} {s['name']} {s['value']}" + (f" ({s['meaning']})" if s.get(
            "meaning") else "") for s in subs]  # fmt: skip
        shown += "".join(f"<br><small>{escape(p)}</small>" for p in parts)
    return shown


def _fields(entry: JournalEntry, lang: Lang, table_id: str) -> str:
    mti = entry.mti or ""
    names = MESSAGE_TYPES.get(mti, ("", ""))
    rows = [f"<tr><td>MTI</td><td>{escape(names[0] if lang == 'zh' else names[1])}</td>"
            f"<td><code>{escape(mti)}</code></td></tr>"]  # fmt: skip
    numbers = sorted((n for n in entry.fields if n.isdigit()), key=int)
    rows += [f"<tr><td>{n}</td><td>{escape(_field_label(n, lang))}</td>"
             f"<td>{_value_cell(n, entry.fields[n], lang)}</td></tr>" for n in numbers]  # fmt: skip
    head = "".join(f"<th>{escape(c)}</th>" for c in TEXT["field_columns"][lang].split("|"))
    return (f'<div class="wide"><table id="{table_id}" class="fields"><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table></div>")  # fmt: skip


def _tree(entries: list[dict[str, Any]]) -> str:
    items = []
    for e in entries:
        head = f"<code>{escape(e['tag'])}</code> {escape(e['name'])}"
        if "children" in e:
            items.append(f"<li>{head}{_tree(e['children'])}</li>")
        else:
            items.append(f"<li>{head}: <code>{escape(e['value'])}</code></li>")
    return f"<ul>{''.join(items)}</ul>"


def _icc(entry: JournalEntry | None, which: str, lang: Lang) -> str:
    if entry is None or "55" not in entry.fields:
        return ""
    tree = icc_tree(entry.fields["55"])
    shown = _tree(tree) if tree else f'<p class="muted">{text(TEXT, "icc_bad", lang)}</p>'
    title = text(TEXT, "icc", lang, which=TEXT[which][lang].format(mti=entry.mti or ""))
    return f'<h2>{title}</h2><div class="tlv" id="icc-{which}">{shown}</div>'


def _account(ledger: Ledger, account_id: int, lang: Lang) -> str:
    found = ledger.lookup_accounts([account_id]) if account_id else []
    entry = BY_CODE.get(found[0].code) if found else None
    name = (entry.name_zh if lang == "zh" else entry.name_en) if entry else ""
    return f"{found[0].code} {name}" if found else "-"


def _ledger(ledger: Ledger | None, postings: list[Posting], lang: Lang) -> str:
    title = f"<h2>{text(TEXT, 'ledger', lang)}</h2>"
    if ledger is None:
        return f'{title}<p class="muted">{text(TEXT, "no_ledger", lang)}</p>'
    rows = [[p.side, p.step, _account(ledger, p.transfer.debit_account_id, lang),
             _account(ledger, p.transfer.credit_account_id, lang), fen_text(p.transfer.amount),
             str(TransferFlags(p.transfer.flags).name or "-"),
             instant(p.transfer.timestamp // 1_000_000_000) if p.transfer.timestamp else ""]
            for p in postings]  # fmt: skip
    return title + table("transfers", TEXT["ledger_columns"][lang], rows, lang)


def _audit(records: list[AuditRecord], txn_id: str, terminal: str, lang: Lang) -> str:
    words = re.compile(rf"(^|[\s:/]){re.escape(terminal)}($|[\s:/-])") if terminal else None
    found = [r for r in records
             if txn_id in r.object or (words is not None and words.search(r.object))]  # fmt: skip
    rows = [[str(r.seq), r.at[:19], r.actor, r.action, r.object, r.outcome]
            for r in reversed(found[-AUDIT_SHOWN:])]  # fmt: skip
    return (f"<h2>{text(TEXT, 'audit', lang)}</h2>"
            f"{table('audit', TEXT['audit_columns'][lang], rows, lang)}")  # fmt: skip


def _summary(request: JournalEntry, answer: JournalEntry | None, txn_id: str, lang: Lang) -> str:
    if answer is not None and answer.response_code:
        code = lookup(answer.response_code)
        outcome = f"{code.code} {code.meaning_cn if lang == 'zh' else code.meaning_en}"
    else:
        outcome = TEXT["no_answer"][lang]
    took = f"{answer.duration_ms:.1f} ms" if answer is not None and answer.duration_ms else ""
    note = "; ".join(n for n in (request.note, answer.note if answer else "") if n)
    rows = [
        [TEXT[k][lang], v]
        for k, v in (
            ("txn_id", txn_id),
            ("received", request.at.strftime("%Y-%m-%d %H:%M:%S")),
            ("peer", request.peer),
            ("outcome", outcome),
            ("took", took),
            ("note", note),
        )
        if v
    ]
    return table("summary", TEXT["summary_columns"][lang], rows, lang)


def _not_found(lang: Lang, seq: int) -> Response[str]:
    body = (
        f'<p id="missing">{text(TEXT, "missing", lang, seq=seq)}</p>'
        f'<p><a href="{PATH}?lang={lang}">{text(TEXT, "back", lang)}</a></p>'
    )
    document = frame(lang, TEXT["missing_title"][lang], body, f"{PATH}/{seq}")
    return Response(document, status_code=404, media_type="text/html", headers=PAGE_HEADERS)


@get("/console/transactions/{seq:int}", include_in_schema=False, sync_to_thread=True)
def transaction(
    request: Request[Any, Any, Any], seq: FromPath[int], lang: Lng = None
) -> Response[str]:
    """The request and response of exchange ``seq``, its transfers and audit records."""
    chosen = lang_of(lang)
    host = service_of(request.app.state, "acquirer")
    if host is None:
        body = f'<p id="no-acquirer" class="muted">{text(TEXT, "no_acquirer", chosen)}</p>'
        return html_response(frame(chosen, TEXT["missing_title"][chosen], body, f"{PATH}/{seq}"))
    found = Exchanges(host.database, host.journal).exchange(seq) if seq > 0 else None
    if found is None:
        return _not_found(chosen, seq)
    asked, answer = found
    txn_id = txn_id_of(asked.fields)
    ledger: Ledger | None = host.services.ledger
    postings = transfers_of(ledger, txn_id) if ledger is not None else []
    site = site_of(request.app.state)
    with site.lock:
        records = site.trail.records()
    which = text(TEXT, "response", chosen, mti=answer.mti or "") if answer else ""
    body = (
        f'<p><a href="{PATH}?lang={chosen}">{text(TEXT, "back", chosen)}</a></p>'
        f"{_summary(asked, answer, txn_id, chosen)}"
        f"<h2>{text(TEXT, 'request', chosen, mti=asked.mti or '')}</h2>"
        f"{_fields(asked, chosen, 'request')}{_icc(asked, 'request', chosen)}"
        + (f"<h2>{which}</h2>{_fields(answer, chosen, 'response')}"
           f"{_icc(answer, 'response', chosen)}" if answer is not None else "")
        + f"{_ledger(ledger, postings, chosen)}"
        f"{_audit(records, txn_id, asked.terminal_id or '', chosen)}"
    )  # fmt: skip
    title = TEXT["title"][chosen].format(seq=seq)
    return html_response(frame(chosen, title, body, f"{PATH}/{seq}"))


ROUTES = [transaction]
