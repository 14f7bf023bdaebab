"""Receipts (签购单): the merchant's and the cardholder's copy, as text and as a PNG.

The slip of a UnionPay POS: title, copy, merchant and terminal, the card number masked (first 6
and last 4, with how it was read: I chip, C contactless, S swipe, F fallback), the transaction
type in Chinese and English, batch, voucher (STAN), reference (RRN) and authorisation numbers,
date and time, the amount, and the cardholder's part: "PIN verified" when a PIN went online,
"no PIN, no signature" for a contactless purchase under the CVM limit (QuickPass), else a
signature line. Only approved transactions get a slip. The PNG is 384 dots wide (a 58 mm thermal
printer), black on white, drawn with a CJK font from the system (Debian's ``fonts-noto-cjk``,
which the Makefile installs) through Pillow.

>>> r = TransactionResult("purchase", "00", True, "000123", "000001", "123456789012",
...     "654321", 1234, "622800******1117", entry="chip", pin_entered=True,
...     at="2026-12-05T09:30:00+08:00")
>>> lines = receipt_lines(r, "898100012345678", "10000001", copy="merchant")
>>> lines[1], lines[4], lines[-3]
('商户存根 MERCHANT COPY', '卡号 CARD NO: 622800******1117 /I', '密码已验证 PIN VERIFIED')
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from zhifu.core.errors import UsageError
from zhifu.terminal.result import TransactionResult, yuan

__all__ = ["COPIES", "KIND_NAMES", "receipt_lines", "receipt_png", "write_slips"]

KIND_NAMES: Final[dict[str, str]] = {
    "purchase": "消费 SALE",
    "balance": "余额查询 BALANCE",
    "preauth": "预授权 PRE-AUTH",
    "ecash-load": "电子现金圈存 E-CASH LOAD",
    "void": "消费撤销 VOID",
    "refund": "退货 REFUND",
    "complete": "预授权完成 AUTH COMPLETE",
    "preauth-void": "预授权撤销 PRE-AUTH VOID",
    "complete-void": "预授权完成撤销 COMPLETE VOID",
}
COPIES: Final[dict[str, str]] = {
    "merchant": "商户存根 MERCHANT COPY",
    "cardholder": "持卡人存根 CARDHOLDER COPY",
}
_ENTRY: Final = {"chip": "I", "tap": "C", "swipe": "S", "fallback": "F"}
_WIDTH: Final = 384
_FONTS: Final = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)


def _cardholder_part(result: TransactionResult) -> list[str]:
    if result.pin_entered:
        return ["密码已验证 PIN VERIFIED"]
    if result.entry == "tap":
        return ["免密免签 NO PIN, NO SIGNATURE"]
    return ["持卡人签名 CARDHOLDER SIGNATURE:", "", "________________________"]


def receipt_lines(
    result: TransactionResult, merchant_id: str, terminal_id: str, *, copy: str
) -> list[str]:
    """The slip's lines (``copy``: ``merchant`` or ``cardholder``)."""
    if copy not in COPIES:
        raise UsageError(f"one of {', '.join(COPIES)}", argument="copy")
    if not result.approved:
        raise UsageError("only an approved transaction has a slip", argument="result")
    when = result.at.replace("T", " ")[:19].replace("-", "/")
    lines = [
        "银联 POS 签购单 UNIONPAY SLIP",
        COPIES[copy],
        f"商户编号 MERCHANT NO: {merchant_id}",
        f"终端编号 TERMINAL NO: {terminal_id}",
        f"卡号 CARD NO: {result.masked_pan} /{_ENTRY.get(result.entry, '')}",
        f"交易类型 TRANS TYPE: {KIND_NAMES.get(result.kind, result.kind)}",
        f"批次号 BATCH NO: {result.batch}  凭证号 VOUCHER: {result.stan}",
        f"参考号 REF NO: {result.rrn}",
        f"授权码 AUTH NO: {result.auth_code}",
        f"日期/时间 DATE/TIME: {when}",
        f"金额 AMOUNT: RMB {yuan(result.amount)}",
    ]
    if copy == "merchant":
        lines += _cardholder_part(result)
    lines += ["本人确认以上交易 I ACKNOWLEDGE THE TRANSACTION", ""]
    return lines


def _wrap(line: str, width_of: Callable[[str], float]) -> list[str]:
    """A line cut at spaces (or anywhere, for long CJK runs) to fit the paper."""
    room = _WIDTH - 16
    rows: list[str] = []
    while width_of(line) > room:
        cut = len(line)
        while cut > 1 and width_of(line[:cut]) > room:
            cut -= 1
        space = line.rfind(" ", 0, cut)
        cut = space if space > 0 else cut
        rows.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    return [*rows, line]


def receipt_png(lines: list[str], out: Path | str) -> Path:
    """Draw the lines as a 384-dot-wide 1-bit PNG (see the module docstring)."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 - only when a PNG is asked for

    path = next((p for p in _FONTS if Path(p).exists()), None)
    if path is None:
        raise UsageError("no CJK font: install fonts-noto-cjk (make deps does)", argument="png")
    font = ImageFont.truetype(path, 18)
    rows = [part for line in lines for part in _wrap(line, font.getlength)]
    image = Image.new("1", (_WIDTH, 16 + 26 * len(rows)), 1)
    draw = ImageDraw.Draw(image)
    for n, row in enumerate(rows):
        draw.text((8, 8 + 26 * n), row, font=font, fill=0)
    target = Path(out)
    image.save(target, format="PNG")
    return target


def write_slips(
    result: TransactionResult, merchant_id: str, terminal_id: str, folder: Path | str
) -> list[Path]:
    """Both copies of an approved transaction's slip in ``folder``, as text and as PNG."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for copy in COPIES:
        lines = receipt_lines(result, merchant_id, terminal_id, copy=copy)
        text = out / f"{result.batch}-{result.stan}-{copy}.txt"
        text.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written += [text, receipt_png(lines, text.with_suffix(".png"))]
    return written
