"""The operations dashboard: a day's card and barcode volumes and amounts hour by hour, card
answers by response code (field 39), the approval rate, reversals left unanswered, and the
risk rules' last alerts.

Card figures come from the acquirer database of the host running in this process
(:mod:`zhifu.acquirer.exchanges`, aggregated in SQL); barcode figures from the barcode
platform's database in the data directory (:mod:`zhifu.barcode.platform.hourly`), read-only.
Either one that is not there is said to be missing, and the rest is shown. Charts are SVG drawn
here (:mod:`~zhifu.web.routes.console.charts`).

>>> rate_text(973, 1000), rate_text(0, 0), rate_text(1, 3)
('97.3%', '-', '33.3%')
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Final

from litestar import Request, Response, get
from litestar.params import QueryParameter

from zhifu.acquirer.exchanges import DayFigures, Exchanges
from zhifu.barcode.platform.hourly import HourFigure, orders_by_hour
from zhifu.core.clock import SHANGHAI
from zhifu.iso8583.response_codes import lookup
from zhifu.web.access import site_of
from zhifu.web.pages import PAGE_HEADERS, Lang, escape, html_response
from zhifu.web.routes.console.charts import hour_bars, label_bars, short
from zhifu.web.routes.console.frame import (
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

DASHBOARD = register("/console/dashboard", "transactions.read", "运营看板", "Operations dashboard")
TEXT: Final[Texts] = {
    "day": {"zh": "日期", "en": "Date"},
    "show": {"zh": "查看", "en": "Show"},
    "bad_date": {"zh": "日期格式应为 YYYY-MM-DD", "en": "A date is YYYY-MM-DD"},
    "summary": {"zh": "{day} 概况", "en": "{day} at a glance"},
    "answers": {"zh": "银行卡应答笔数", "en": "Card answers"},
    "approved": {"zh": "批准笔数", "en": "Approved"},
    "rate": {"zh": "批准率", "en": "Approval rate"},
    "reversals": {"zh": "冲正请求", "en": "Reversals asked"},
    "unanswered": {"zh": "未应答的冲正", "en": "Reversals unanswered"},
    "in_doubt": {"zh": "待冲正（存疑交易）", "en": "Pending reversal (in doubt)"},
    "card": {"zh": "银行卡", "en": "Cards"},
    "card_volume": {"zh": "每小时应答笔数", "en": "Answers per hour"},
    "card_amount": {"zh": "每小时批准金额（元）", "en": "Approved amount per hour (yuan)"},
    "no_amounts": {
        "zh": "本主机未启用银行卡支付：无金额",
        "en": "No card payments on this host: no amounts",
    },
    "codes": {"zh": "按应答码（39 域）", "en": "By response code (field 39)"},
    "code_columns": {"zh": "应答码|含义|笔数", "en": "Code|Meaning|Count"},
    "barcode": {"zh": "条码支付", "en": "Barcode payments"},
    "barcode_volume": {"zh": "每小时订单数", "en": "Orders per hour"},
    "barcode_amount": {"zh": "每小时已付金额（元）", "en": "Paid amount per hour (yuan)"},
    "barcode_total": {
        "zh": "订单 {orders} 笔，已付 {paid} 笔，金额 {amount} 元",
        "en": "{orders} orders, {paid} paid, {amount} yuan",
    },
    "no_acquirer": {
        "zh": "收单主机未在本进程运行：无银行卡数据",
        "en": "The acquirer host is not running in this process: no card figures",
    },
    "no_barcode": {
        "zh": "数据目录中没有条码平台数据库（{path}）：无条码数据",
        "en": "No barcode platform database in the data directory ({path}): no barcode figures",
    },
    "alerts": {"zh": "最近的风险告警", "en": "Latest risk alerts"},
    "alert_columns": {"zh": "时间|规则|结果|对象|原因", "en": "At|Rule|Outcome|Subject|Why"},
    "transactions": {"zh": "查询交易", "en": "Search transactions"},
}
Day = Annotated[str | None, QueryParameter(name="date", description="YYYY-MM-DD (default: today)")]
ALERTS: Final = 10


def rate_text(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal (integer arithmetic)."""
    if whole <= 0:
        return "-"
    tenths = (part * 1000 + whole // 2) // whole
    return f"{tenths // 10}.{tenths % 10}%"


def _yuan(fen: int) -> str:
    return short(fen // 100)


def _form(lang: Lang, day: date, message: str) -> str:
    error = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    return (f'{error}<form method="get" action="{DASHBOARD.path}" class="filters">'
            f'<input type="hidden" name="lang" value="{lang}">'
            f'<label>{text(TEXT, "day", lang)} <input type="date" name="date" '
            f'value="{day.isoformat()}"></label>'
            f'<button type="submit">{text(TEXT, "show", lang)}</button>'
            f' <a href="/console/transactions?lang={lang}">{text(TEXT, "transactions", lang)}</a>'
            "</form>")  # fmt: skip


def _summary(lang: Lang, figures: DayFigures) -> str:
    items = [("answers", str(figures.total)), ("approved", str(figures.approved)),
             ("rate", rate_text(figures.approved, figures.total)),
             ("reversals", str(figures.reversals)),
             ("unanswered", str(figures.unanswered_reversals)),
             ("in_doubt", str(figures.in_doubt))]  # fmt: skip
    cells = "".join(f'<div id="sum-{key}"><dt>{text(TEXT, key, lang)}</dt>'
                    f"<dd>{escape(value)}</dd></div>" for key, value in items)  # fmt: skip
    return f'<dl class="figures">{cells}</dl>'


def _card(lang: Lang, figures: DayFigures) -> str:
    volume = hour_bars("card-volume", [h.answers for h in figures.hours],
                       TEXT["card_volume"][lang], short)  # fmt: skip
    if figures.amounts_known:
        amount = hour_bars("card-amount", [h.amount for h in figures.hours],
                           TEXT["card_amount"][lang], _yuan)  # fmt: skip
    else:
        amount = f'<p class="muted">{text(TEXT, "no_amounts", lang)}</p>'

    def meaning(code: str) -> str:
        found = lookup(code)
        return found.meaning_cn if lang == "zh" else found.meaning_en

    labels = [(f"{code} {meaning(code)[:20]}", n) for code, n in figures.codes]
    rows = [[code, meaning(code), str(n)] for code, n in figures.codes]
    return (f"<h2>{text(TEXT, 'card', lang)}</h2>{_summary(lang, figures)}"
            f"<h3>{text(TEXT, 'card_volume', lang)}</h3>{volume}"
            f"<h3>{text(TEXT, 'card_amount', lang)}</h3>{amount}"
            f"<h3>{text(TEXT, 'codes', lang)}</h3>"
            f"{label_bars('card-codes', labels, TEXT['codes'][lang]) if labels else ''}"
            f"{table('codes', TEXT['code_columns'][lang], rows, lang)}")  # fmt: skip


def _barcode(lang: Lang, hours: list[HourFigure]) -> str:
    total = text(TEXT, "barcode_total", lang, orders=sum(h.orders for h in hours),
                 paid=sum(h.paid for h in hours),
                 amount=fen_text(sum(h.amount for h in hours)))  # fmt: skip
    volume = hour_bars("barcode-volume", [h.orders for h in hours],
                       TEXT["barcode_volume"][lang], short)  # fmt: skip
    amount = hour_bars("barcode-amount", [h.amount for h in hours],
                       TEXT["barcode_amount"][lang], _yuan)  # fmt: skip
    return (f'<p id="barcode-total">{total}</p>'
            f"<h3>{text(TEXT, 'barcode_volume', lang)}</h3>{volume}"
            f"<h3>{text(TEXT, 'barcode_amount', lang)}</h3>{amount}")  # fmt: skip


def _parse_day(value: str | None) -> tuple[date, str]:
    today = datetime.now(SHANGHAI).date()
    if not value:
        return today, ""
    try:
        return date.fromisoformat(value.strip()), ""
    except ValueError:
        return today, "bad_date"


@get("/console/dashboard", include_in_schema=False, sync_to_thread=True)
def dashboard(
    request: Request[Any, Any, Any], lang: Lng = None, day_text: Day = None
) -> Response[str]:
    """A day's figures (today unless ``?date=YYYY-MM-DD``)."""
    chosen, site = lang_of(lang), site_of(request.app.state)
    day, problem = _parse_day(day_text)
    host, home = (service_of(request.app.state, name) for name in ("acquirer", "home"))
    if host is not None:
        card = _card(chosen, Exchanges(host.database, host.journal).day(day))
    else:
        card = f'<h2>{text(TEXT, "card", chosen)}</h2><p id="no-acquirer" class="muted">' \
               f'{text(TEXT, "no_acquirer", chosen)}</p>'  # fmt: skip
    path = Path(home) / "barcode" / "barcode.db" if home is not None else Path("barcode.db")
    hours = orders_by_hour(path, day) if home is not None else None
    barcode = (_barcode(chosen, hours) if hours is not None else
               f'<p id="no-barcode" class="muted">'
               f'{text(TEXT, "no_barcode", chosen, path="barcode/barcode.db")}</p>')  # fmt: skip
    alerts = [[instant(a.at), a.rule, a.outcome, f"{a.kind} {a.subject}", a.why]
              for a in reversed(site.risk.alerts(ALERTS))]  # fmt: skip
    body = (f"{_form(chosen, day, TEXT[problem][chosen] if problem else '')}"
            f'<p class="muted">{text(TEXT, "summary", chosen, day=day.isoformat())}</p>'
            f"{card}<h2>{text(TEXT, 'barcode', chosen)}</h2>{barcode}"
            f"<h2>{text(TEXT, 'alerts', chosen)}</h2>"
            f"{table('alerts', TEXT['alert_columns'][chosen], alerts, chosen)}")  # fmt: skip
    document = frame(chosen, DASHBOARD.title[chosen], body, DASHBOARD.path,
                     query=f"date={day.isoformat()}")  # fmt: skip
    if problem:
        return Response(document, status_code=400, media_type="text/html", headers=PAGE_HEADERS)
    return html_response(document)


ROUTES = [dashboard]
