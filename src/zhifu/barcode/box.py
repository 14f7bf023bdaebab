"""The merchant's hands-free scanning box (意锐小盒, D5), emulated.

The box reads a camera frame of the customer's phone screen, finds the payment code in it
(the QR symbol; the bar code beside it too), sends a signed micropay for the amount the
cashier typed, and announces the result: "收款成功 12.34元" on success, "收款失败 ..." with
the reason otherwise. The announcement is spoken into a WAV file with ``espeak-ng`` (Debian
package ``espeak-ng``, Mandarin voice ``cmn``) when it is installed; without it the box
prints the text only.

The box's order number is ``<terminal id>-<Unix ms>`` unless given, and doubles as the
``Idempotency-Key``: a box that lost the answer sends the same request again and gets the
same answer, never a second payment.

>>> announcement(True, 1234)
'收款成功 12.34元'
>>> announcement(False, 1234, "auth_code_used")
'收款失败 付款码已使用，请刷新'
>>> find_payment_code(["https://pay.zhifu.test/qr/m/ABCDEFGH", "910000123401234567"])
'910000123401234567'
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from zhifu.barcode.api.client import ApiClient
from zhifu.barcode.codes.render import ImageSource, decode_image
from zhifu.core.errors import DecodeError, UsageError

REASONS_ZH: Final[dict[str, str]] = {
    "auth_code_used": "付款码已使用，请刷新",
    "auth_code_expired": "付款码已过期，请刷新",
    "auth_code_invalid": "付款码无效",
    "auth_code_unknown_issuer": "不支持的付款码",
    "auth_code_issuer_not_connected": "不支持的付款码",
    "insufficient_funds": "余额不足",
    "limit_exceeded": "超出支付限额",
}
VOICES: Final = ("cmn", "zh")


def yuan(amount: int) -> str:
    """Fen as yuan with two decimals ("12.34")."""
    return f"{amount // 100}.{amount % 100:02d}"


def announcement(ok: bool, amount: int, error_code: str | None = None) -> str:
    """What the box says."""
    if ok:
        return f"收款成功 {yuan(amount)}元"
    return f"收款失败 {REASONS_ZH.get(error_code or '', '请重试')}"


def find_payment_code(texts: Sequence[str]) -> str | None:
    """The first text that is a payment code (16-24 digits), if any."""
    for text in texts:
        t = text.strip()
        if t.isascii() and t.isdigit() and 16 <= len(t) <= 24:
            return t
    return None


def speak(text: str, wav: Path) -> Path | None:
    """Speak ``text`` into ``wav`` with espeak-ng; None if espeak-ng is not installed."""
    program = shutil.which("espeak-ng")
    if program is None:
        return None
    for voice in VOICES:
        done = subprocess.run(  # noqa: S603 - fixed program, text as one argument
            [program, "-v", voice, "-w", str(wav), text],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode == 0 and wav.exists() and wav.stat().st_size > 44:
            return wav
    return None


@dataclass(frozen=True, slots=True)
class BoxResult:
    """What happened at the counter."""

    ok: bool
    text: str
    amount: int
    order: dict[str, Any] | None = None
    error_code: str | None = None
    wav: Path | None = None


def collect(
    client: ApiClient,
    merchant_id: str,
    image: ImageSource,
    amount: int,
    *,
    terminal_id: str = "BOX00001",
    out_trade_no: str | None = None,
    wav: Path | None = None,
) -> BoxResult:
    """Scan ``image``, charge ``amount`` fen, announce (see the module docstring)."""
    if amount < 1:
        raise UsageError("the amount is at least 0.01", argument="amount")
    code = find_payment_code(decode_image(image, code128=True))
    if code is None:
        raise DecodeError("no payment code in the image", field="image")
    trade_no = out_trade_no or f"{terminal_id}-{time.time_ns() // 1_000_000}"
    payload = {
        "merchant_id": merchant_id,
        "out_trade_no": trade_no,
        "auth_code": code,
        "amount": amount,
        "currency": "CNY",
        "terminal_id": terminal_id,
        "description": "scanning box",
    }
    response = client.post("/v1/micropay", payload, idempotency_key=trade_no)
    data = response.json()
    ok = response.status == 200 and isinstance(data, dict) and data.get("status") == "PAID"
    error = None if ok else (response.error_code or f"http_{response.status}")
    text = announcement(ok, amount, error)
    spoken = speak(text, wav) if wav is not None else None
    return BoxResult(ok, text, amount, data if ok else None, error, spoken)
