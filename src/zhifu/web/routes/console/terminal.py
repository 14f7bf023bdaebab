"""The virtual mPOS: the terminal's 128×64 screen, its keypad and the test cards, in the page.

The terminal runs on the server (:mod:`zhifu.web.desk`: the real terminal code, talking ISO
8583 to the acquirer over TCP); the page is its glass and keys. ``GET /console/terminal/state``
gives the screen (1 bit per pixel, rows of 128, base64), the phase, the PIN pad's public key
while a PIN is asked for, and the slip of an approved transaction; with ``since`` it waits (up
to 15 s) for the screen to change. ``POST /console/terminal/key`` takes one key: a function key
or an amount digit by name, a PIN digit only sealed under the PIN pad's key (a clear digit at
the PIN pad is refused). ``POST /console/terminal/card`` inserts, taps or swipes a test card.

>>> packed(bytes([1, 0, 0, 0, 0, 0, 0, 1]))
'gQ=='
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from pathlib import Path
from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.params import JSONBody, QueryParameter

from zhifu.core.errors import UsageError
from zhifu.terminal.receipt import receipt_lines
from zhifu.terminal.sealed import SealError
from zhifu.terminal.ui.keys import Key
from zhifu.terminal.ui.machine import HOW, Phase
from zhifu.web.access import guarded_principal, site_of
from zhifu.web.desk import TEST_PIN, Desk, Desks
from zhifu.web.pages import escape, html_response
from zhifu.web.routes.console.frame import Lng, Texts, frame, lang_of, register, text
from zhifu.web.routes.landing import ACQUIRER_KEY
from zhifu.web.services import service_of

Since = Annotated[int | None, QueryParameter(description="wait until the screen is past this")]
PAGE = register("/console/terminal", "terminal.use", "虚拟 mPOS 终端", "Virtual mPOS terminal")
DESKS_KEY: Final = "console_desks"
_WAIT_SECONDS: Final = 15.0
_POLL_SECONDS: Final = 0.05
TEXT: Final[Texts] = {
    "cards": {"zh": "测试卡", "en": "Test cards"},
    "insert": {"zh": "插卡", "en": "Insert"},
    "tap": {"zh": "挥卡", "en": "Tap"},
    "swipe": {"zh": "刷卡", "en": "Swipe"},
    "pin_note": {
        "zh": "测试卡密码 {pin}。密码键只在本页显示 *，数字用终端安全模块的公钥加密后才发送。",
        "en": "The test cards' PIN is {pin}. PIN digits show as * here and leave the page only "
        "enciphered under the terminal's secure module key.",
    },
    "how": {
        "zh": "按 确认 进入菜单，选择交易，输入金额（分），再插卡、挥卡或刷卡。",
        "en": "Press Confirm for the menu, choose a transaction, type the amount (in fen), "
        "then insert, tap or swipe a card.",
    },
    "receipt": {"zh": "签购单", "en": "Receipt"},
    "terminal": {"zh": "终端 {tid}，商户 {mid}", "en": "Terminal {tid}, merchant {mid}"},
    "no_crypto": {
        "zh": "此浏览器不能在本地加密密码（需要 https 或 127.0.0.1）。",
        "en": "This browser cannot encipher the PIN here (it needs https or 127.0.0.1).",
    },
}
KEYPAD: Final = (
    ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5"), ("6", "6"),
    ("7", "7"), ("8", "8"), ("9", "9"), ("correct", "更正"), ("0", "0"), ("confirm", "确认"),
    ("cancel", "取消"), ("up", "▲"), ("down", "▼"), ("function", "功能"),
)  # fmt: skip
"""The keys of the page's keypad: the key's name and what is printed on it."""


def desks_of(request: Request[Any, Any, Any]) -> Desks:
    """The app's desks, made at the first request that needs them."""
    state = request.app.state
    found = state.get(DESKS_KEY)
    if found is None:
        home = service_of(state, "home")
        if home is None:
            raise UsageError("no data directory: start the console with zhifu serve",
                             argument="home")  # fmt: skip
        site = site_of(state)

        def made(user: str, terminal_id: str) -> None:
            site.record(user, "console.terminal.desk", terminal_id, "registered, 3 test cards")

        found = Desks(Path(home), state.get(ACQUIRER_KEY), made)
        state[DESKS_KEY] = found
    assert isinstance(found, Desks)
    return found


def close_desks(state: Any) -> None:
    """Close the desks' terminals (at shutdown)."""
    found = state.get(DESKS_KEY)
    if isinstance(found, Desks):
        found.close()


def packed(pixels: bytes) -> str:
    """One byte per pixel (1 lit) as base64 of 8 pixels per byte, the first in the high bit."""
    out = bytearray((len(pixels) + 7) // 8)
    for n, lit in enumerate(pixels):
        if lit:
            out[n // 8] |= 0x80 >> (n % 8)
    return base64.b64encode(bytes(out)).decode("ascii")


def _state(desk: Desk) -> dict[str, Any]:
    ui = desk.ui
    version, phase, screen = ui.view()
    seal = ui.pin_seal()
    result = ui.result if phase is Phase.RESULT else None
    slip = None
    if result is not None and result.approved and result.stan:
        state = desk.terminal.state
        slip = receipt_lines(result, state.merchant_id, state.terminal_id, copy="cardholder")
    return {
        "version": version,
        "phase": phase.value,
        "width": screen.width,
        "height": screen.height,
        "pixels": packed(screen.pixels()),
        "seal": None if seal is None else {
            "key_id": seal[0], "public_key": base64.b64encode(seal[1]).decode("ascii")},
        "result": None if result is None else {
            "approved": result.approved, "response_code": result.response_code,
            "amount_fen": result.amount, "masked_pan": result.masked_pan,
            "message": result.message},
        "receipt": slip,
    }  # fmt: skip


def _page_body(desk: Desk, lang: str) -> str:
    chosen = lang_of(lang)
    keys = "".join(
        f'<button type="button" class="key key-{name}" data-key="{name}">{escape(label)}</button>'
        for name, label in KEYPAD
    )
    cards = "".join(
        f'<option value="{n}">{escape(c.product)} {escape(c.masked_pan)}</option>'
        for n, c in enumerate(desk.cards)
    )
    hows = "".join(f'<button type="button" data-how="{h}">{text(TEXT, h, chosen)}</button>'
                   for h in HOW[:3])  # fmt: skip
    state = desk.terminal.state
    return (
        f'<p id="terminal-id">{text(TEXT, "terminal", chosen, tid=state.terminal_id, mid=state.merchant_id)}</p>'  # noqa: E501
        f'<p class="muted">{text(TEXT, "how", chosen)}</p>'
        '<div class="mpos" id="mpos" data-lang="' + chosen + '">'
        '<canvas id="screen" width="128" height="64" aria-label="terminal screen"></canvas>'
        f'<div class="keypad" id="keypad">{keys}</div></div>'
        f'<p id="pin-entry" class="pin-entry" aria-live="polite"></p>'
        f'<p id="no-crypto" class="error" hidden>{text(TEXT, "no_crypto", chosen)}</p>'
        f"<h2>{text(TEXT, 'cards', chosen)}</h2>"
        f'<div class="cards"><select id="card">{cards}</select>{hows}</div>'
        f'<p class="muted">{text(TEXT, "pin_note", chosen, pin=TEST_PIN)}</p>'
        f'<h2>{text(TEXT, "receipt", chosen)}</h2><pre id="receipt" class="receipt"></pre>'
    )


@get("/console/terminal", include_in_schema=False, sync_to_thread=True)
def terminal_page(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """The virtual terminal of the signed-in user (made the first time)."""
    chosen = lang_of(lang)
    desk = desks_of(request).of(guarded_principal(request).name, chosen)
    desk.language(chosen)
    body = _page_body(desk, chosen)
    return html_response(frame(chosen, PAGE.title[chosen], body, PAGE.path, script="mpos.js"))


@get("/console/terminal/state", include_in_schema=False)
async def terminal_state(request: Request[Any, Any, Any], since: Since = None) -> dict[str, Any]:
    """The screen now, or once it changes from version ``since`` (at most 15 s later).

    The wait holds no worker thread (an open page waits here all the time): it looks at the
    screen's version every :data:`_POLL_SECONDS`.
    """
    desks, user = desks_of(request), guarded_principal(request).name
    desk = await asyncio.to_thread(desks.of, user)  # made the first time: registration, cards
    deadline = time.monotonic() + _WAIT_SECONDS
    while since is not None and desk.ui.version == since and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_SECONDS)
    return _state(desk)


@post("/console/terminal/key", include_in_schema=False, sync_to_thread=True, status_code=200)
def terminal_key(request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    """One key (``{"key": "confirm"}``), or a sealed PIN digit (``{"sealed": base64}``)."""
    desk = desks_of(request).of(guarded_principal(request).name)
    sealed = data.get("sealed")
    if isinstance(sealed, str):
        try:
            desk.ui.press_sealed(base64.b64decode(sealed, validate=True))
        except (SealError, binascii.Error) as exc:
            raise UsageError(
                f"not a sealed digit of this PIN entry ({exc})", argument="sealed"
            ) from None
        return _state(desk)
    name = data.get("key")
    key = Key(name) if isinstance(name, str) and name in {k.value for k in Key} else None
    if key is None:
        raise UsageError(f"one of {', '.join(k.value for k in Key)}", argument="key")
    if key.digit is not None and desk.ui.phase is Phase.PIN:
        raise UsageError("a PIN digit goes only sealed under the PIN pad's key", argument="key")
    desk.ui.press(key)
    return _state(desk)


@post("/console/terminal/card", include_in_schema=False, sync_to_thread=True, status_code=200)
def terminal_card(
    request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
) -> dict[str, Any]:
    """Present test card ``card`` (its index) as ``how``: insert, tap, swipe or fallback."""
    desk = desks_of(request).of(guarded_principal(request).name)
    index, how = data.get("card"), data.get("how")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(desk.cards):
        raise UsageError(f"a card number from 0 to {len(desk.cards) - 1}", argument="card")
    if how not in HOW:
        raise UsageError(f"one of {', '.join(HOW)}", argument="how")
    desk.ui.present(desk.cards[index].path, str(how))
    return _state(desk)


ROUTES = [terminal_page, terminal_state, terminal_key, terminal_card]
