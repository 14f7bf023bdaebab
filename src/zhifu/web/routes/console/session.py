"""Sign-in (password, and the TOTP code of a privileged role), the home page that lists what
the signed-in role may open, and sign-out.

The session is the ``zhifu_session`` cookie (``HttpOnly``, ``SameSite=Strict``) that
``POST /console/sign-in`` sets. A visitor who is not signed in is sent to the sign-in page.

>>> print(text(TEXT, "sign_in", "en"), "/", text(TEXT, "sign_in", "zh"))
Sign in / 登录
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from zhifu.security.access import AccessError, allows
from zhifu.web.access import COOKIE, bearer, guarded_principal, site_of
from zhifu.web.pages import PAGE_HEADERS, Lang, escape, html_response
from zhifu.web.routes.console.frame import PAGES, Lng, Texts, frame, lang_of, text

TEXT: Final[Texts] = {
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "user": {"zh": "用户名", "en": "User name"},
    "password": {"zh": "密码", "en": "Password"},
    "totp": {"zh": "动态口令（特权角色）", "en": "Authenticator code (privileged roles)"},
    "console": {"zh": "zhifu 控制台", "en": "zhifu console"},
    "signed_in": {"zh": "已登录：{user}（{role}）", "en": "Signed in: {user} ({role})"},
    "sign_out": {"zh": "退出", "en": "Sign out"},
    "pages": {"zh": "可打开的页面", "en": "Pages you may open"},
    "none": {"zh": "（本角色暂无其他页面）", "en": "(no other page for this role yet)"},
}
REFUSALS_ZH: Final[dict[str, str]] = {
    "credentials_invalid": "用户名或密码错误",
    "account_locked": "失败次数过多：请等待 30 分钟，或请管理员解锁",
    "totp_required": "本角色需要身份验证器上的 6 位动态口令",
    "totp_invalid": "动态口令错误或已使用，请等待下一个口令",
}
"""The sign-in refusals in Chinese (the English ones are zhifu.security.access.errors')."""
HOME_ORDER: Final = (
    "/console/dashboard", "/console/transactions", "/console/terminal", "/console/checkout",
    "/console/wallet", "/console/clearing", "/console/ledger", "/console/compliance",
    "/console/institutions", "/console/risk", "/console/audit",
)  # fmt: skip
"""The order of the home page's links (operations first, oversight last)."""


def _form(lang: Lang, message: str = "") -> str:
    error = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    return (
        f'{error}<form method="post" action="/console/sign-in?lang={lang}" class="sign-in">'
        f'<label>{text(TEXT, "user", lang)} <input name="user" autocomplete="username" '
        "required></label>"
        f'<label>{text(TEXT, "password", lang)} <input name="password" type="password" '
        'autocomplete="current-password" required></label>'
        f'<label>{text(TEXT, "totp", lang)} <input name="totp" inputmode="numeric" '
        'autocomplete="one-time-code" pattern="[0-9]{6}"></label>'
        f'<button type="submit">{text(TEXT, "sign_in", lang)}</button></form>'
    )


@get("/console/sign-in", include_in_schema=False, sync_to_thread=False)
def sign_in_page(lang: Lng = None) -> Response[str]:
    """The sign-in form."""
    chosen = lang_of(lang)
    return html_response(frame(chosen, TEXT["sign_in"][chosen], _form(chosen), "/console/sign-in"))


@post("/console/sign-in", include_in_schema=False, sync_to_thread=True, status_code=303)
def sign_in(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    lang: Lng = None,
) -> Response[Any]:
    """Check the form; the session cookie and the home page, or the form again with why."""
    chosen, site = lang_of(lang), site_of(request.app.state)
    origin = request.client.host if request.client else ""
    try:
        with site.lock:
            session = site.access.sign_in(data.get("user", ""), data.get("password", ""),
                                          data.get("totp", ""), origin=origin)  # fmt: skip
    except AccessError as exc:  # the form again, saying why (the page itself is the answer)
        why = REFUSALS_ZH.get(exc.code, exc.message) if chosen == "zh" else exc.message
        document = frame(chosen, TEXT["sign_in"][chosen], _form(chosen, why), "/console/sign-in")
        return Response(document, status_code=200, media_type="text/html", headers=PAGE_HEADERS)
    answer = Redirect(path=f"/console?lang={chosen}", status_code=303)
    answer.set_cookie(COOKIE, session.token, httponly=True, samesite="strict", path="/")
    return answer


@get("/console", include_in_schema=False, sync_to_thread=False)
def home(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """Who is signed in, and the pages the role may open."""
    chosen, who = lang_of(lang), guarded_principal(request)
    ordered = sorted(PAGES, key=lambda p: HOME_ORDER.index(p.path) if p.path in HOME_ORDER else 99)
    links = [f'<li><a href="{p.path}?lang={chosen}">{escape(p.title[chosen])}</a></li>'
             for p in ordered if allows(who, p.permission)]  # fmt: skip
    body = (
        f'<p id="who">{text(TEXT, "signed_in", chosen, user=who.name, role=who.role)}</p>'
        f"<h2>{text(TEXT, 'pages', chosen)}</h2>"
        f'<ul id="pages">{"".join(links) or text(TEXT, "none", chosen)}</ul>'
        f'<form method="post" action="/console/sign-out"><button>'
        f"{text(TEXT, 'sign_out', chosen)}</button></form>"
    )
    return html_response(frame(chosen, TEXT["console"][chosen], body, "/console"))


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


ROUTES = [sign_in_page, sign_in, home, sign_out]
