"""The ledger pages: accounts by chart code with their balances and subtotals (debits equal
credits), and one account's postings, newest first, with the running balance.

Two sets of books can be shown (``?books=``): ``card`` (default), the ledger the acquirer and the
in-process issuer post to — the acquirer host's when it runs in this process, else the data
directory's ``ledger.db`` (or ``ZHIFU_LEDGER_URL``) opened read-only for the request — and
``clearing``, the BEPS centres' settlement ledger (reserve accounts at the PBOC).

Balances are shown on the account's normal side (:mod:`zhifu.ledger.chart`): credits less debits
for a liability or income account, debits less credits otherwise.

>>> normal_balance(20111, debits=100, credits=350), normal_balance(10031, debits=100, credits=350)
(250, -250)
>>> account_id("ff"), account_id("xyz"), account_id("0")
(255, None, None)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Final

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter

from zhifu.clearing.settlement import LedgerBooks
from zhifu.core.errors import ZhifuError
from zhifu.issuer.home import LEDGER_ENV
from zhifu.ledger import Ledger, Transfer, TransferFlags
from zhifu.ledger.chart import BY_CODE, Side
from zhifu.ledger.listing import accounts_of_code, code_totals, posted_since
from zhifu.ledger.model import ID_MAX
from zhifu.web.pages import PAGE_HEADERS, Lang, escape, html_response
from zhifu.web.routes.console.frame import (
    COMMON,
    Lng,
    Texts,
    fen_text,
    frame,
    instant,
    lang_of,
    register,
    table,
    text,
)
from zhifu.web.services import service_of

Books = Annotated[str | None, QueryParameter(description="card (default) or clearing")]
Code = Annotated[int | None, QueryParameter(description="a chart code", ge=0)]
Number = Annotated[int, QueryParameter(description="a page, or a timestamp", ge=0)]
LEDGER = register(
    "/console/ledger", "ledger.read", "账务：科目与余额", "Ledger: accounts and balances"
)
SHOWN_PER_CODE: Final = 20  # accounts listed under each code on the overview
PAGE_SIZE: Final = 50  # postings (or accounts of one code) per page
NS: Final = 1_000_000_000
_UNPOSTED: Final = TransferFlags.PENDING | TransferFlags.VOID_PENDING_TRANSFER
TEXT: Final[Texts] = {
    "card": {"zh": "收单与发卡账务", "en": "Acquiring and issuing books"},
    "clearing": {"zh": "BEPS 清算账户（人民银行）", "en": "BEPS settlement accounts (PBOC)"},
    "absent": {
        "zh": "本进程中没有这套账务，数据目录中也没有账务数据库。",
        "en": "These books are not open in this process and the data directory holds "
        "no ledger database.",
    },
    "read_only": {
        "zh": "（从数据目录只读打开）",
        "en": "(opened read-only from the data directory)",
    },
    "totals": {"zh": "科目汇总", "en": "Totals by chart code"},
    "totals_columns": {
        "zh": "科目|名称|方向|账户数|借方发生（元）|贷方发生（元）|余额（元）|未决借/贷（元）",
        "en": "Code|Name|Side|Accounts|Debits posted (yuan)|Credits posted (yuan)|"
        "Balance (yuan)|Pending dr/cr (yuan)",
    },
    "equal": {
        "zh": "借方合计 {d} = 贷方合计 {c}：借贷相等",
        "en": "Debits {d} = credits {c}: the books balance",
    },
    "unequal": {
        "zh": "借方合计 {d} ≠ 贷方合计 {c}：借贷不等！",
        "en": "Debits {d} ≠ credits {c}: the books do not balance!",
    },
    "accounts": {"zh": "账户", "en": "Accounts"},
    "account_columns": {
        "zh": "账户|借方（元）|贷方（元）|余额（元）|未决借/贷（元）",
        "en": "Account|Debits (yuan)|Credits (yuan)|Balance (yuan)|Pending dr/cr (yuan)",
    },
    "subtotal": {"zh": "小计 {code}（{n} 个账户）", "en": "Subtotal {code} ({n} accounts)"},
    "more": {"zh": "全部 {n} 个账户", "en": "all {n} accounts"},
    "next": {"zh": "下一页", "en": "Next page"},
    "empty": {"zh": "账务中还没有账户。", "en": "The books hold no account yet."},
    "unknown": {"zh": "没有账户“{account}”。", "en": "No account “{account}”."},
    "account": {"zh": "账户 {account}", "en": "Account {account}"},
    "facts": {
        "zh": "科目 {code} {name}；余额 {balance} 元（{side}方）；借方 {d}，贷方 {c}；"
        "未决借 {dp}，未决贷 {cp}",
        "en": "Code {code} {name}; balance {balance} yuan ({side} side); debits {d}, "
        "credits {c}; pending debits {dp}, credits {cp}",
    },
    "postings": {"zh": "记账明细（最新在前）", "en": "Postings (newest first)"},
    "posting_columns": {
        "zh": "时间|转账|对方账户|借方（元）|贷方（元）|余额（元）|状态",
        "en": "At|Transfer|Other account|Debit (yuan)|Credit (yuan)|Balance (yuan)|State",
    },
    "posted": {"zh": "已记账", "en": "posted"},
    "pending": {"zh": "未决（不计入余额）", "en": "pending (not in the balance)"},
    "voided": {"zh": "撤销未决", "en": "voids a hold"},
    "back": {"zh": "返回科目汇总", "en": "Back to the totals"},
    "failed": {"zh": "账务无法读取：{why}", "en": "The books cannot be read: {why}"},
}
SIDES: Final = {"debit": {"zh": "借", "en": "debit"}, "credit": {"zh": "贷", "en": "credit"}}


def normal_balance(code: int, *, debits: int, credits: int) -> int:
    """The balance on the code's normal side (debit side for a code the chart lacks)."""
    entry = BY_CODE.get(code)
    return credits - debits if entry is not None and entry.side is Side.CREDIT else debits - credits


def _side(code: int, lang: Lang) -> str:
    entry = BY_CODE.get(code)
    return SIDES["credit" if entry is not None and entry.side is Side.CREDIT else "debit"][lang]


def _name(code: int, lang: Lang) -> str:
    entry = BY_CODE.get(code)
    if entry is None:
        return "?"
    return entry.name_zh if lang == "zh" else entry.name_en


def account_id(text_id: str) -> int | None:
    """An account id written in hex (as the pages link them); None when it is not one."""
    try:
        value = int(text_id, 16)
    except ValueError:
        return None
    return value if 0 < value < ID_MAX else None


@contextmanager
def open_books(state: State, books: str) -> Iterator[tuple[Ledger | None, bool]]:
    """The ledger ``books`` names, and whether it was opened here read-only (then closed at
    the end of the block); None when neither this process nor the data directory has it."""
    if books == "clearing":
        service = service_of(state, "clearing")
        found = getattr(service.system, "books", None) if service is not None else None
        yield (found.ledger if isinstance(found, LedgerBooks) else None), False
        return
    host = service_of(state, "acquirer")
    ledger = getattr(getattr(host, "services", None), "ledger", None)
    if isinstance(ledger, Ledger):
        yield ledger, False
        return
    url, home = os.environ.get(LEDGER_ENV, "").strip(), service_of(state, "home")
    if not url and home is not None and (Path(home) / "ledger.db").is_file():
        url = f"sqlite:///{Path(home).resolve() / 'ledger.db'}"
    if not url:
        yield None, False
        return
    opened = Ledger.open(url, create=False)
    try:
        yield opened, True
    finally:
        opened.close()


def _wrap(parts: list[str]) -> str:
    return f'<div class="books">{"".join(parts)}</div>'


def _books_of(value: str | None) -> str:
    return "clearing" if value == "clearing" else "card"


def _switch(books: str, lang: Lang, path: str) -> str:
    current = ' aria-current="page"'
    links = [
        f'<a href="{path}?lang={lang}&amp;books={b}" id="books-{b}"'
        f"{current if b == books else ''}>{text(TEXT, b, lang)}</a>"
        for b in ("card", "clearing")
    ]
    return f'<p class="book-switch">{" · ".join(links)}</p>'


def _pending(dp: int, cp: int) -> str:
    return f"{fen_text(dp)} / {fen_text(cp)}" if dp or cp else ""


def _totals(ledger: Ledger, lang: Lang) -> tuple[str, list[Any]]:
    totals = code_totals(ledger)
    rows = [
        [
            str(t.code),
            _name(t.code, lang),
            _side(t.code, lang),
            str(t.accounts),
            fen_text(t.debits_posted),
            fen_text(t.credits_posted),
            fen_text(normal_balance(t.code, debits=t.debits_posted, credits=t.credits_posted)),
            _pending(t.debits_pending, t.credits_pending),
        ]
        for t in totals
    ]
    debits, credits = sum(t.debits_posted for t in totals), sum(t.credits_posted for t in totals)
    verdict = text(
        TEXT,
        "equal" if debits == credits else "unequal",
        lang,
        d=fen_text(debits),
        c=fen_text(credits),
    )
    state = "ok" if debits == credits else "bad"
    body = (
        f"<h2>{text(TEXT, 'totals', lang)}</h2>"
        f"{table('totals', TEXT['totals_columns'][lang], rows, lang)}"
        f'<p id="balance-check" class="{state}">{verdict}</p>'
    )
    return body, totals


def _account_rows(ledger: Ledger, code: int, offset: int, limit: int, lang: Lang) -> str:
    rows = []
    for a in accounts_of_code(ledger, code, offset=offset, limit=limit):
        link = f'<a href="{LEDGER.path}/{a.id:x}?lang={lang}&amp;books={{books}}">{a.id:x}</a>'
        balance = normal_balance(code, debits=a.debits_posted, credits=a.credits_posted)
        rows.append(
            f'<tr><td class="id">{link}</td><td class="num">{fen_text(a.debits_posted)}'
            f'</td><td class="num">{fen_text(a.credits_posted)}</td><td class="num">'
            f"{fen_text(balance)}</td><td>{_pending(a.debits_pending, a.credits_pending)}"
            "</td></tr>"
        )
    return "".join(rows)


def _by_code(
    ledger: Ledger, totals: list[Any], *, books: str, only: int | None, page: int, lang: Lang
) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in TEXT["account_columns"][lang].split("|"))
    parts = []
    for t in totals:
        if only is not None and t.code != only:
            continue
        limit = PAGE_SIZE if only is not None else SHOWN_PER_CODE
        offset = page * PAGE_SIZE if only is not None else 0
        rows = _account_rows(ledger, t.code, offset, limit, lang).replace("{books}", books)
        balance = normal_balance(t.code, debits=t.debits_posted, credits=t.credits_posted)
        subtotal = text(TEXT, "subtotal", lang, code=t.code, n=t.accounts)
        more = ""
        if only is None and t.accounts > SHOWN_PER_CODE:
            more = (
                f' <a href="{LEDGER.path}?lang={lang}&amp;books={books}&amp;code={t.code}">'
                f"{text(TEXT, 'more', lang, n=t.accounts)}</a>"
            )
        elif only is not None and offset + PAGE_SIZE < t.accounts:
            more = (
                f' <a href="{LEDGER.path}?lang={lang}&amp;books={books}&amp;code={t.code}'
                f'&amp;page={page + 1}" rel="next">{text(TEXT, "next", lang)}</a>'
            )
        parts.append(
            f'<tr class="code" id="code-{t.code}"><th colspan="5">{t.code} '
            f"{escape(_name(t.code, lang))}</th></tr>{rows}"
            f'<tr class="subtotal" data-code="{t.code}"><th>{subtotal}{more}</th>'
            f'<td class="num">{fen_text(t.debits_posted)}</td>'
            f'<td class="num">{fen_text(t.credits_posted)}</td><td class="num">'
            f"{fen_text(balance)}</td><td>{_pending(t.debits_pending, t.credits_pending)}</td>"
            "</tr>"
        )
    return (
        f'<h2>{text(TEXT, "accounts", lang)}</h2><div class="wide"><table id="accounts">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(parts)}</tbody></table></div>"
    )


@get("/console/ledger", include_in_schema=False, sync_to_thread=True)
def ledger_page(
    request: Request[Any, Any, Any],
    lang: Lng = None,
    books: Books = None,
    code: Code = None,
    page: Number = 0,
) -> Response[str]:
    """Totals by chart code (debits = credits), then the accounts of each code."""
    chosen, which = lang_of(lang), _books_of(books)
    parts = [_switch(which, chosen, LEDGER.path)]
    try:
        with open_books(request.app.state, which) as (ledger, read_only):
            if ledger is None:
                parts.append(
                    f'<p id="not-running" class="muted">{text(TEXT, "absent", chosen)}</p>'
                )
            else:
                note = (
                    f'<p class="muted">{text(TEXT, "read_only", chosen)}</p>' if read_only else ""
                )
                body, totals = _totals(ledger, chosen)
                empty = f'<p class="muted">{text(TEXT, "empty", chosen)}</p>' if not totals else ""
                parts += [
                    note,
                    body,
                    empty,
                    _by_code(
                        ledger, totals, books=which, only=code, page=max(0, page), lang=chosen
                    ),
                ]
    except ZhifuError as exc:
        parts.append(f'<p class="error">{text(TEXT, "failed", chosen, why=str(exc))}</p>')
    query = f"books={which}" + (f"&amp;code={code}" if code is not None else "")
    return html_response(
        frame(chosen, LEDGER.title[chosen], _wrap(parts), LEDGER.path, query=query)
    )


def _posted(t: Transfer) -> bool:
    flags = TransferFlags(t.flags)
    return not flags & _UNPOSTED or bool(flags & TransferFlags.POST_PENDING_TRANSFER)


def _state(t: Transfer, lang: Lang) -> str:
    flags = TransferFlags(t.flags)
    key = (
        "voided"
        if flags & TransferFlags.VOID_PENDING_TRANSFER
        else "pending"
        if flags & TransferFlags.PENDING
        else "posted"
    )
    return TEXT[key][lang]


def _postings(ledger: Ledger, account: Any, before: int, books: str, lang: Lang) -> str:
    """One page of postings, newest first, stamped before ``before`` (0: the newest)."""
    top = before - 1 if before > 1 else 0  # 0: no bound
    found = ledger.get_account_transfers(
        account.id, timestamp_max=top, limit=PAGE_SIZE, reversed=True
    )
    newer_d, newer_c = posted_since(ledger, account.id, before) if before else (0, 0)
    debits, credits = account.debits_posted - newer_d, account.credits_posted - newer_c
    rows = []
    for t in found:
        mine_debit = t.debit_account_id == account.id
        other = t.credit_account_id if mine_debit else t.debit_account_id
        balance = normal_balance(account.code, debits=debits, credits=credits)
        link = f'<a href="{LEDGER.path}/{other:x}?lang={lang}&amp;books={books}">{other:x}</a>'
        amount = fen_text(t.amount)
        rows.append(
            f'<tr><td>{instant(t.timestamp // NS)}</td><td class="id">{t.id:x}</td>'
            f'<td class="id">{link}</td><td class="num">{amount if mine_debit else ""}'
            f'</td><td class="num">{"" if mine_debit else amount}</td>'
            f'<td class="num">{fen_text(balance)}</td><td>{_state(t, lang)}</td></tr>'
        )
        if _posted(t):
            debits, credits = (
                (debits - t.amount, credits) if mine_debit else (debits, credits - t.amount)
            )
    head = "".join(f"<th>{escape(c)}</th>" for c in TEXT["posting_columns"][lang].split("|"))
    more = ""
    if len(found) == PAGE_SIZE:
        more = (
            f'<p><a href="{LEDGER.path}/{account.id:x}?lang={lang}&amp;books={books}'
            f'&amp;before={found[-1].timestamp}" rel="next">{text(TEXT, "next", lang)}</a></p>'
        )
    empty = "" if rows else f'<p class="muted">{text(COMMON, "empty", lang)}</p>'
    return (
        f'<h2>{text(TEXT, "postings", lang)}</h2><div class="wide"><table id="postings">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f"{empty}{more}"
    )


def _not_found(lang: Lang, account: str, books: str) -> Response[str]:
    home = f"{LEDGER.path}?lang={lang}&amp;books={books}"
    back = f'<p><a href="{home}">{text(TEXT, "back", lang)}</a></p>'
    body = f'<p class="error" id="unknown">{text(TEXT, "unknown", lang, account=account)}</p>{back}'
    document = frame(lang, LEDGER.title[lang], body, LEDGER.path)
    return Response(document, status_code=404, media_type="text/html", headers=PAGE_HEADERS)


@get("/console/ledger/{account:str}", include_in_schema=False, sync_to_thread=True)
def ledger_account(
    request: Request[Any, Any, Any],
    account: Annotated[str, PathParameter(description="the account id in hex")],
    lang: Lng = None,
    books: Books = None,
    before: Number = 0,
) -> Response[str]:
    """One account: its balances and its postings, newest first, with the running balance."""
    chosen, which, wanted = lang_of(lang), _books_of(books), account_id(account)
    if wanted is None:
        return _not_found(chosen, account, which)
    path = f"{LEDGER.path}/{wanted:x}"
    with open_books(request.app.state, which) as (ledger, _):
        found = ledger.lookup_accounts([wanted]) if ledger is not None else []
        if ledger is None or not found:
            return _not_found(chosen, account, which)
        one = found[0]
        balance = normal_balance(one.code, debits=one.debits_posted, credits=one.credits_posted)
        facts = text(
            TEXT,
            "facts",
            chosen,
            code=one.code,
            name=_name(one.code, chosen),
            balance=fen_text(balance),
            side=_side(one.code, chosen),
            d=fen_text(one.debits_posted),
            c=fen_text(one.credits_posted),
            dp=fen_text(one.debits_pending),
            cp=fen_text(one.credits_pending),
        )
        postings = _postings(ledger, one, max(0, before), which, chosen)
    back = (
        f'<a href="{LEDGER.path}?lang={chosen}&amp;books={which}">{text(TEXT, "back", chosen)}</a>'
    )
    body = _wrap([f'<p id="account-facts">{facts}</p>', postings, f"<p>{back}</p>"])
    title = TEXT["account"][chosen].format(account=f"{wanted:x}")
    return html_response(frame(chosen, title, body, path, query=f"books={which}"))


ROUTES = [ledger_page, ledger_account]
