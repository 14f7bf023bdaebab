"""Cardholder verification (EMV 4.3 Book 3 §10.5, Annex C3): the CVM list 8E and results 9F34.

The list is amount X (4 bytes), amount Y (4 bytes), then two-byte rules: the CVM code (b6-b1;
b7 = apply the next rule if this one fails) and the condition. The terminal takes the first
rule whose condition holds and which it can perform; a rule it cannot recognise or perform, or
that fails, moves on only when b7 is set. Conditions 06-09 compare the amount with X or Y and
apply only when the transaction is in the application currency (9F42).

How each CVM is performed is the caller's (``Performer``): online PIN is captured for the host
(result *unknown*, TVR *online PIN entered*), offline PIN goes to the card in VERIFY (the
performer answers ``"ok"``, ``"wrong"``, ``"blocked"``, ``"no_pad"`` or ``"bypassed"``),
signature is asked on the receipt (result *unknown*), no CVM succeeds.

>>> rules = bytes(8) + bytes.fromhex("4203" "1E03" "1F00")
>>> outcome = verify(rules, 100_00, TerminalConfig(), lambda code: "ok")
>>> outcome.results.hex(), [b.name for b in outcome.tvr], outcome.performed
('420300', ['ONLINE_PIN_ENTERED'], True)
>>> verify(None, 1, TerminalConfig(), lambda code: "ok").results.hex()
'3f0000'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from zhifu.terminal.kernel.bits import TvrBit
from zhifu.terminal.kernel.config import TerminalConfig

__all__ = ["CONDITIONS", "CVM_CODES", "CvmOutcome", "Performer", "verify"]

CVM_CODES: Final[dict[int, str]] = {
    0x00: "fail CVM processing",
    0x01: "plaintext PIN verification performed by ICC",
    0x02: "enciphered PIN verified online",
    0x03: "plaintext PIN verification performed by ICC and signature",
    0x04: "enciphered PIN verification performed by ICC",
    0x05: "enciphered PIN verification performed by ICC and signature",
    0x1E: "signature (paper)",
    0x1F: "no CVM required",
    0x20: "cardholder ID presented (PBOC)",
}
CONDITIONS: Final[dict[int, str]] = {
    0x00: "always",
    0x01: "if unattended cash",
    0x02: "if not unattended cash and not manual cash and not purchase with cashback",
    0x03: "if terminal supports the CVM",
    0x04: "if manual cash",
    0x05: "if purchase with cashback",
    0x06: "if transaction is in the application currency and is under X value",
    0x07: "if transaction is in the application currency and is over X value",
    0x08: "if transaction is in the application currency and is under Y value",
    0x09: "if transaction is in the application currency and is over Y value",
}
_OFFLINE_PIN: Final = frozenset({0x01, 0x03, 0x04, 0x05})
_UNKNOWN, _FAILED, _SUCCESSFUL = 0, 1, 2

Performer = Callable[[int], str]
"""Performs a CVM code; answers ``ok``, ``wrong``, ``blocked``, ``no_pad`` or ``bypassed``."""


@dataclass
class CvmOutcome:
    """9F34 and the TVR bits; ``performed`` sets the TSI bit; ``online_pin`` asks the host."""

    results: bytes = bytes.fromhex("3F0000")
    tvr: list[TvrBit] = field(default_factory=list)
    performed: bool = False
    online_pin: bool = False
    signature: bool = False


@dataclass(frozen=True)
class Context:
    """What the conditions look at."""

    amount: int
    in_app_currency: bool = True
    transaction_type: int = 0x00
    unattended: bool = False


def _holds(
    rule: tuple[int, int], limits: tuple[int, int], ctx: Context, term: TerminalConfig
) -> bool:
    code, condition = rule
    x, y = limits
    cash = ctx.transaction_type == 0x01
    cashback = ctx.transaction_type == 0x09
    if condition in (0x06, 0x07, 0x08, 0x09) and not ctx.in_app_currency:
        return False
    checks = {
        0x00: True,
        0x01: ctx.unattended and cash,
        0x02: not (cash or cashback),
        0x03: term.supports_cvm(code),
        0x04: cash and not ctx.unattended,
        0x05: cashback,
        0x06: ctx.amount < x,
        0x07: ctx.amount > x,
        0x08: ctx.amount < y,
        0x09: ctx.amount > y,
    }
    return bool(checks.get(condition, False))


_PIN_ANSWERS: Final = {"ok": _SUCCESSFUL, "blocked": _FAILED, "wrong": _FAILED}


def _perform(  # noqa: PLR0911 - one answer per kind of CVM, in the order Annex C3 lists them
    code: int, term: TerminalConfig, perform: Performer, out: CvmOutcome
) -> int:
    """Run one recognised, supported CVM; its result (unknown, failed, successful)."""
    if code in (0x00, 0x1F):
        return _SUCCESSFUL if code == 0x1F else _FAILED
    pin = code in (0x02, *_OFFLINE_PIN)
    if pin and not term.pin_pad:
        out.tvr.append(TvrBit.PIN_PAD_NOT_PRESENT)
        return _FAILED
    answer = perform(code)
    if answer == "bypassed":
        out.tvr.append(TvrBit.PIN_NOT_ENTERED)
        return _FAILED
    if not pin:  # signature (1E) or cardholder ID (20): checked by the merchant
        out.signature = code == 0x1E
        return _UNKNOWN if answer == "ok" else _FAILED
    if code == 0x02:
        out.tvr.append(TvrBit.ONLINE_PIN_ENTERED)
        out.online_pin = True
        return _UNKNOWN
    if answer == "blocked":
        out.tvr.append(TvrBit.PIN_TRY_LIMIT_EXCEEDED)
    result = _PIN_ANSWERS.get(answer, _FAILED)
    if result == _SUCCESSFUL and code in (0x03, 0x05):  # offline PIN and signature
        out.signature = True
        return _UNKNOWN
    return result


def verify(
    cvm_list: bytes | None,
    amount: int,
    term: TerminalConfig,
    perform: Performer,
    *,
    context: Context | None = None,
) -> CvmOutcome:
    """Run the CVM list (None or empty: *ICC data missing*, 9F34 ``3F0000``)."""
    out = CvmOutcome()
    if not cvm_list or len(cvm_list) < 10:
        out.tvr.append(TvrBit.ICC_DATA_MISSING)
        return out
    ctx = context or Context(amount)
    x, y = int.from_bytes(cvm_list[:4], "big"), int.from_bytes(cvm_list[4:8], "big")
    out.performed = True
    rules = [cvm_list[i : i + 2] for i in range(8, len(cvm_list) - 1, 2)]
    last: bytes | None = None
    for rule in rules:
        code, condition, next_on_fail = rule[0] & 0x3F, rule[1], bool(rule[0] & 0x40)
        if not _holds((code, condition), (x, y), ctx, term):
            continue
        last = rule
        if code not in CVM_CODES:
            out.tvr.append(TvrBit.UNRECOGNISED_CVM)
            result = _FAILED
        elif not term.supports_cvm(code) and code != 0x00:
            result = _FAILED
        else:
            result = _perform(code, term, perform, out)
        if result != _FAILED:
            out.results = bytes([rule[0], condition, result])
            return out
        if not next_on_fail:
            break
    out.tvr.append(TvrBit.CVM_NOT_SUCCESSFUL)
    out.results = bytes([last[0], last[1], _FAILED]) if last else bytes.fromhex("3F0001")
    return out
