"""The console's first pages: sign-in (password, and the TOTP code of a privileged role), a
home that shows what the signed-in role may open, and the audit trail with its verification.

Server-rendered HTML, Chinese by default (``?lang=en``), no script; the session is the
``zhifu_session`` cookie (``HttpOnly``, ``SameSite=Strict``) that ``POST /console/sign-in``
sets. Every page goes through the route table like the API: a page the role is not granted
answers 403, and a visitor who is not signed in is sent to the sign-in page.

>>> print(_text("sign_in", "en"), "/", _text("sign_in", "zh"))
Sign in / 登录
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect

from zhifu.core.clock import SHANGHAI
from zhifu.security.access import AccessError, allows
from zhifu.web.access import COOKIE, bearer, guarded_principal, site_of
from zhifu.web.pages import PAGE_HEADERS, Lang, escape, html_response, page

TEXT: Final[dict[str, dict[Lang, str]]] = {
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "user": {"zh": "用户名", "en": "User name"},
    "password": {"zh": "密码", "en": "Password"},
    "totp": {"zh": "动态口令（特权角色）", "en": "Authenticator code (privileged roles)"},
    "console": {"zh": "zhifu 控制台", "en": "zhifu console"},
    "signed_in": {"zh": "已登录：{user}（{role}）", "en": "Signed in: {user} ({role})"},
    "sign_out": {"zh": "退出", "en": "Sign out"},
    "audit": {"zh": "审计日志", "en": "Audit trail"},
    "verified": {"zh": "链完整：{n} 条记录均已验证", "en": "The chain holds: {n} records verified"},
    "broken": {"zh": "链已损坏：第 {seq} 条记录（{why}）", "en": "Broken at record {seq} ({why})"},
    "pages": {"zh": "可打开的页面", "en": "Pages you may open"},
    "none": {"zh": "（本角色暂无其他页面）", "en": "(no other page for this role yet)"},
    "columns": {
        "zh": "序号|时间|操作者|操作|对象|结果",
        "en": "Seq|At|Actor|Action|Object|Outcome",
    },
    "switch": {"zh": "English", "en": "中文"},
    "risk": {"zh": "风险告警与拦截", "en": "Risk alerts and blocks"},
    "alerts": {"zh": "告警", "en": "Alerts"},
    "blocks": {"zh": "拦截中", "en": "Blocked now"},
    "alert_columns": {"zh": "时间|规则|结果|对象|原因", "en": "At|Rule|Outcome|Subject|Why"},
    "block_columns": {"zh": "类型|对象|规则", "en": "Kind|Subject|Rule"},
    "institutions": {"zh": "机构与许可", "en": "Institutions and licences"},
    "institution_columns": {"zh": "代码|类型|名称|状态", "en": "Code|Kind|Name|State"},
    "empty": {"zh": "（无）", "en": "(none)"},
}
REFUSALS_ZH: Final[dict[str, str]] = {
    "credentials_invalid": "用户名或密码错误",
    "account_locked": "失败次数过多：请等待 30 分钟，或请管理员解锁",
    "totp_required": "本角色需要身份验证器上的 6 位动态口令",
    "totp_invalid": "动态口令错误或已使用，请等待下一个口令",
}
"""The sign-in refusals in Chinese (the English ones are zhifu.security.access.errors')."""
PAGES: Final = (
    ("/console/audit", "audit.read", "audit"),
    ("/console/risk", "risk.read", "risk"),
    ("/console/institutions", "compliance.read", "institutions"),
)
"""The console pages after the home page: path, the permission, the title's text key."""


def _text(key: str, lang: Lang, **fields: Any) -> str:
    return escape(TEXT[key][lang].format(**fields))


def _lang(value: str | None) -> Lang:
    return "en" if value == "en" else "zh"


def _frame(lang: Lang, title: str, body: str, path: str) -> str:
    other: Lang = "zh" if lang == "en" else "en"
    switch = f'<a href="{path}?lang={other}" hreflang="{other}">{_text("switch", lang)}</a>'
    nav = f'<nav class="top"><span>zhifu</span>{switch}</nav>'
    return page(
        title=title, lang=lang, body=f"{nav}\n<main>\n<h1>{escape(title)}</h1>\n{body}\n</main>"
    )


def _form(lang: Lang, message: str = "") -> str:
    error = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    return (
        f'{error}<form method="post" action="/console/sign-in?lang={lang}" class="sign-in">'
        f'<label>{_text("user", lang)} <input name="user" autocomplete="username" required></label>'
        f'<label>{_text("password", lang)} <input name="password" type="password" '
        'autocomplete="current-password" required></label>'
        f'<label>{_text("totp", lang)} <input name="totp" inputmode="numeric" '
        'autocomplete="one-time-code" pattern="[0-9]{6}"></label>'
        f'<button type="submit">{_text("sign_in", lang)}</button></form>'
    )


Lng = Annotated[str | None, QueryParameter(description="zh (default) or en")]


@get("/console/sign-in", include_in_schema=False, sync_to_thread=False)
def sign_in_page(lang: Lng = None) -> Response[str]:
    """The sign-in form."""
    chosen = _lang(lang)
    return html_response(_frame(chosen, TEXT["sign_in"][chosen], _form(chosen), "/console/sign-in"))


@post("/console/sign-in", include_in_schema=False, sync_to_thread=True, status_code=303)
def sign_in(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    lang: Lng = None,
) -> Response[Any]:
    """Check the form; the session cookie and the home page, or the form again with why."""
    chosen, site = _lang(lang), site_of(request.app.state)
    origin = request.client.host if request.client else ""
    try:
        with site.lock:
            session = site.access.sign_in(data.get("user", ""), data.get("password", ""),
                                          data.get("totp", ""), origin=origin)  # fmt: skip
    except AccessError as exc:  # the form again, saying why (the page itself is the answer)
        why = REFUSALS_ZH.get(exc.code, exc.message) if chosen == "zh" else exc.message
        document = _frame(chosen, TEXT["sign_in"][chosen], _form(chosen, why), "/console/sign-in")
        return Response(document, status_code=200, media_type="text/html", headers=PAGE_HEADERS)
    answer = Redirect(path=f"/console?lang={chosen}", status_code=303)
    answer.set_cookie(COOKIE, session.token, httponly=True, samesite="strict", path="/")
    return answer


@get("/console", include_in_schema=False, sync_to_thread=False)
def home(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """Who is signed in, and the pages the role may open."""
    chosen, who = _lang(lang), guarded_principal(request)
    links = [f'<li><a href="{path}?lang={chosen}">{_text(key, chosen)}</a></li>'
             for path, permission, key in PAGES if allows(who, permission)]  # fmt: skip
    body = (
        f'<p id="who">{_text("signed_in", chosen, user=who.name, role=who.role)}</p>'
        f"<h2>{_text('pages', chosen)}</h2><ul>{''.join(links) or _text('none', chosen)}</ul>"
        f'<form method="post" action="/console/sign-out"><button>{_text("sign_out", chosen)}'
        "</button></form>"
    )
    return html_response(_frame(chosen, TEXT["console"][chosen], body, "/console"))


@post("/console/sign-out", include_in_schema=False, sync_to_thread=False, status_code=303)
def sign_out(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the session; back to the sign-in page."""
    site, token = site_of(request.app.state), bearer(request)
    if token:
        with site.lock:
            site.access.sign_out(token)
    answer = Redirect(path="/console/sign-in", status_code=303)
    answer.delete_cookie(COOKIE, path="/")
    return answer


@get("/console/audit", include_in_schema=False, sync_to_thread=False)
def audit(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """The last 100 records of the audit trail, and whether the whole chain verifies."""
    chosen, site = _lang(lang), site_of(request.app.state)
    with site.lock:
        verdict = site.trail.verify()
        records = site.trail.records()[-100:]
    status = (_text("verified", chosen, n=verdict.records) if verdict.ok else
              _text("broken", chosen, seq=verdict.first_bad, why=verdict.reason))  # fmt: skip
    head = "".join(f"<th>{escape(c)}</th>" for c in TEXT["columns"][chosen].split("|"))
    rows = "".join(
        f"<tr><td>{r.seq}</td><td>{escape(r.at[:19])}</td><td>{escape(r.actor)}</td>"
        f"<td>{escape(r.action)}</td><td>{escape(r.object)}</td><td>{escape(r.outcome)}</td></tr>"
        for r in reversed(records)
    )
    body = (f'<p id="verdict" class="{"on" if verdict.ok else "off"}">{status}</p>'
            f'<div class="wide"><table id="trail"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")  # fmt: skip
    return html_response(_frame(chosen, TEXT["audit"][chosen], body, "/console/audit"))


def _table(table_id: str, columns: str, rows: list[list[str]], lang: Lang) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns.split("|"))
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>"
                   for row in rows)  # fmt: skip
    empty = f'<p class="muted">{_text("empty", lang)}</p>' if not rows else ""
    return (f'<div class="wide"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{empty}")  # fmt: skip


@get("/console/risk", include_in_schema=False, sync_to_thread=False)
def risk(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """The risk rules' last alerts (newest first) and what is blocked now."""
    chosen, site = _lang(lang), site_of(request.app.state)
    alerts = [[_instant(a.at), a.rule, a.outcome, f"{a.kind} {a.subject}", a.why]
              for a in reversed(site.risk.alerts(100))]  # fmt: skip
    blocks = [[str(b["kind"]), str(b["subject"]), str(b["rule"])] for b in site.risk.blocks()]
    body = (f'<h2>{_text("blocks", chosen)}</h2>'
            f'{_table("blocks", TEXT["block_columns"][chosen], blocks, chosen)}'
            f'<h2>{_text("alerts", chosen)}</h2>'
            f'{_table("alerts", TEXT["alert_columns"][chosen], alerts, chosen)}')  # fmt: skip
    return html_response(_frame(chosen, TEXT["risk"][chosen], body, "/console/risk"))


@get("/console/institutions", include_in_schema=False, sync_to_thread=False)
def institutions(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """The institutions whose licences this installation keeps, and their states."""
    chosen, site = _lang(lang), site_of(request.app.state)
    with site.lock:
        rows = [[i.code, i.kind.value, i.name, i.state.value]
                for i in site.compliance.institutions()]  # fmt: skip
    body = _table("institutions", TEXT["institution_columns"][chosen], rows, chosen)
    return html_response(_frame(chosen, TEXT["institutions"][chosen], body,
                                "/console/institutions"))  # fmt: skip


def _instant(at: float) -> str:
    """Event seconds as local (Asia/Shanghai) time, to the second."""
    return datetime.fromtimestamp(int(at), SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def to_sign_in(path: str) -> Redirect:
    """Where a browser that is not signed in goes instead of a console page."""
    return Redirect(path=f"/console/sign-in?next={quote(path)}", status_code=303)


ROUTES = [sign_in_page, sign_in, home, sign_out, audit, risk, institutions]
