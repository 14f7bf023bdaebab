"""``GET /``: the landing page, what this zhifu process runs and where to go next.

Server-rendered HTML in Chinese (the default) or English (``?lang=en``; ``?lang=zh``), with no
script and nothing from outside this server. It names the version, the web app, the acquirer
host's address (when ``zhifu serve`` runs it beside the web app, see ``app.state[ACQUIRER_KEY]``)
and the BEPS centres (when the app serves a clearing centre), and links to the OpenAPI page,
the health check and the error catalogue. Every text is in :data:`TEXT`, in both languages.

>>> running = Running(version="0.1.0", acquirer=("127.0.0.1", 5800), centres=("NPC",), banks=3)
>>> document = render(running, "en")
>>> "Listening on 127.0.0.1:5800" in document, 'href="/schema"' in document
(True, True)
>>> "监听 127.0.0.1:5800" in render(running, "zh")
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import QueryParameter

import zhifu
from zhifu.clearing.model import NPC, centres_for
from zhifu.clearing.transport import ClearingCentre
from zhifu.web.errors import ERROR_DOC_BASE
from zhifu.web.pages import Lang, escape, html_response, page
from zhifu.web.routes import clearing_centre

ACQUIRER_KEY: Final = "acquirer_address"
"""``app.state`` key: the ``(host, port)`` the acquirer host listens on, or None."""

TEXT: Final[dict[str, dict[Lang, str]]] = {
    "tagline": {
        "zh": "开源的中国银行与支付机构支付栈：PBOC 卡与 mPOS 终端、银联风格的 ISO 8583 "
        "收单与发卡、条码支付、复式记账、BEPS 清算和安全模块。",
        "en": "An open-source payment stack of Chinese banks and payment institutions: PBOC "
        "cards and an mPOS terminal, a UnionPay-style ISO 8583 acquirer and issuer, barcode "
        "payments, a double-entry ledger, BEPS clearing and a security module.",
    },
    "running": {"zh": "本进程运行的服务", "en": "Running in this process"},
    "version": {"zh": "版本", "en": "Version"},
    "on": {"zh": "运行中", "en": "running"},
    "off": {"zh": "未运行", "en": "not running"},
    "web": {"zh": "Web 应用（HTTP）", "en": "Web app (HTTP)"},
    "web_what": {
        "zh": "本服务器：条码支付 API（/v1/）、OpenAPI 文档、健康检查和错误码说明。",
        "en": "This server: the barcode payment API (/v1/), the OpenAPI documentation, the "
        "health check and the error catalogue.",
    },
    "acquirer": {"zh": "收单主机（ISO 8583，TCP）", "en": "Acquirer host (ISO 8583 over TCP)"},
    "acquirer_on": {
        "zh": "监听 {address}：银联 POS 报文，每帧为 2 字节长度、TPDU、报文头和报文。",
        "en": "Listening on {address}: UnionPay POS messages, each frame a 2-byte length, the "
        "TPDU, the header and the message.",
    },
    "acquirer_off": {
        "zh": "本进程未运行收单主机（zhifu serve --no-acquirer，或未经 zhifu serve 启动）。",
        "en": "This process runs no acquirer host (zhifu serve --no-acquirer, or not started "
        "by zhifu serve).",
    },
    "beps": {"zh": "BEPS 清算中心（小额批量支付系统）", "en": "BEPS clearing centres"},
    "beps_on": {
        "zh": "{centres}；{banks} 家参与者。报文提交到 /clearing/messages，"
        "回执从 /clearing/inbox/{{行号}} 取回。",
        "en": "{centres}; {banks} participants. Messages go to /clearing/messages, answers "
        "come back from /clearing/inbox/{{bank}}.",
    },
    "beps_off": {
        "zh": "本进程未运行 BEPS 清算中心（zhifu serve --no-clearing）。",
        "en": "This process runs no BEPS centres (zhifu serve --no-clearing).",
    },
    "npc": {"zh": "NPC（国家处理中心）", "en": "NPC (national processing centre)"},
    "ccpc": {
        "zh": "{node}（城市处理中心，城市代码 {city}）",
        "en": "{node} (city processing centre, city {city})",
    },
    "links": {"zh": "链接", "en": "Links"},
    "link_schema": {"zh": "API 文档（Swagger UI）", "en": "API documentation (Swagger UI)"},
    "link_openapi": {"zh": "OpenAPI 文档（JSON）", "en": "OpenAPI document (JSON)"},
    "link_health": {"zh": "健康检查", "en": "Health check"},
    "link_errors": {"zh": "错误码说明", "en": "Error codes"},
    "link_acquirer": {"zh": "收单主机端口", "en": "Acquirer host port"},
}
"""Every text of the page, in Chinese and English (``{name}`` fields are filled in)."""

LANG_NAMES: Final[dict[Lang, str]] = {"zh": "中文", "en": "English"}


@dataclass(frozen=True, slots=True)
class Running:
    """What the page reports: the version and the services beside the web app."""

    version: str
    acquirer: tuple[str, int] | None
    centres: tuple[str, ...]
    banks: int


def running_in(state: State) -> Running:
    """What the app with this ``state`` runs (the web app itself always)."""
    address = state.get(ACQUIRER_KEY)
    acquirer = None if address is None else (str(address[0]), int(address[1]))
    centre = state.get(clearing_centre.STATE_KEY)
    if not isinstance(centre, ClearingCentre):
        return Running(zhifu.__version__, acquirer, (), 0)
    participants = list(centre.system.participants.values())
    nodes = tuple(c.node for c in centres_for(participants))
    return Running(zhifu.__version__, acquirer, nodes, len(participants))


def _text(key: str, lang: Lang, **fields: Any) -> str:
    """The escaped text ``key`` in ``lang`` with its fields filled in."""
    return escape(TEXT[key][lang].format(**fields))


def _centre(node: str, lang: Lang) -> str:
    if node == NPC:
        return TEXT["npc"][lang]
    return TEXT["ccpc"][lang].format(node=node, city=node.removeprefix("CCPC-"))


def address_text(host: str, port: int) -> str:
    """``host:port``, an IPv6 host in brackets.

    >>> address_text("127.0.0.1", 5800), address_text("::1", 5800)
    ('127.0.0.1:5800', '[::1]:5800')
    """
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _row(row_id: str, name: str, on: bool, what: str, lang: Lang) -> str:
    flag = "on" if on else "off"
    state = f'<span class="{flag}">{_text(flag, lang)}</span>'
    return (
        f'<tr id="{row_id}"><th scope="row">{_text(name, lang)}</th>'
        f"<td>{state}</td><td>{what}</td></tr>"
    )


def _services(running: Running, lang: Lang) -> str:
    address = None if running.acquirer is None else address_text(*running.acquirer)
    acquirer = (
        _text("acquirer_off", lang)
        if address is None
        else _text("acquirer_on", lang, address=address)
    )
    separator = "、" if lang == "zh" else ", "
    centres = separator.join(_centre(node, lang) for node in running.centres)
    beps = (
        _text("beps_on", lang, centres=centres, banks=running.banks)
        if running.centres
        else _text("beps_off", lang)
    )
    rows = [
        _row("web", "web", True, _text("web_what", lang), lang),
        _row("acquirer", "acquirer", address is not None, acquirer, lang),
        _row("beps", "beps", bool(running.centres), beps, lang),
    ]
    return '<table class="services">\n' + "\n".join(rows) + "\n</table>"


def _links(running: Running, lang: Lang) -> str:
    """The pages of this server, then the acquirer's address (its row on this page)."""
    acquirer = TEXT["off"][lang] if running.acquirer is None else address_text(*running.acquirer)
    links = [
        ("/schema", "link_schema", "/schema"),
        ("/schema/openapi.json", "link_openapi", "/schema/openapi.json"),
        ("/healthz", "link_health", "/healthz"),
        (ERROR_DOC_BASE, "link_errors", ERROR_DOC_BASE),
        ("#acquirer", "link_acquirer", acquirer),
    ]
    items = "".join(
        f'<li><a href="{escape(href)}">{_text(key, lang)}</a> <code>{escape(shown)}</code></li>'
        for href, key, shown in links
    )
    return f'<ul class="links">{items}</ul>'


def _switch(lang: Lang) -> str:
    """The language switch: the other language is a link, the current one is not."""
    return " · ".join(
        f"<strong>{name}</strong>" if code == lang else f'<a href="/?lang={code}">{name}</a>'
        for code, name in LANG_NAMES.items()
    )


def render(running: Running, lang: Lang) -> str:
    """The landing page in ``lang``."""
    version = escape(running.version)
    body = (
        f'<nav class="top"><span>zhifu {version}</span><span class="lang">{_switch(lang)}'
        "</span></nav>\n"
        f'<main>\n<h1>zhifu 支付</h1>\n<p class="tagline">{_text("tagline", lang)}</p>\n'
        f'<p>{_text("version", lang)}: <strong id="version">{version}</strong></p>\n'
        f"<h2>{_text('running', lang)}</h2>\n{_services(running, lang)}\n"
        f"<h2>{_text('links', lang)}</h2>\n{_links(running, lang)}\n</main>"
    )
    other = "en" if lang == "zh" else "zh"
    head = f'<link rel="alternate" hreflang="{other}" href="/?lang={other}">\n'
    return page(title=f"zhifu {running.version}", lang=lang, body=body, head=head)


@get("/", include_in_schema=False, sync_to_thread=False)
def landing(
    request: Request[Any, Any, Any], lang: Annotated[Lang, QueryParameter()] = "zh"
) -> Response[str]:
    """The landing page; ``?lang=en`` for English, Chinese by default."""
    return html_response(render(running_in(request.app.state), lang))


ROUTES = [landing]
