"""What a scanned code is, and who issued it.

The *kind* is the code's form: a numeric payment code (16-24 digits), a collection URL, an
EMVCo merchant-presented payload (starts with ``0002``) or consumer-presented one (starts with
``hQVDUFY``), or unknown. ``institution`` is set only when the registries say who issued it;
``valid`` is False when the form is recognised but the code is refused (no prefix rule for its
prefix and length, a look-alike host, an MPM with errors, a CPM that does not decode). Leading
and trailing white space (scanners append CR/LF) is ignored.

>>> classify("120061098828009406").institution
'wechat'
>>> c = classify("1200610988280094061")           # 12... with 19 digits: nobody's
>>> c.kind.value, c.institution, c.valid
('payment_code', None, False)
>>> classify("https://qr.95516.com/00010000/01116734936470044423094034227630").institution
'unionpay'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from zhifu.barcode.codes.collection_code import CollectionCode, Refusal, classify_url
from zhifu.barcode.codes.cpm import CPM_PREFIX, CpmPayload, decode_cpm
from zhifu.barcode.codes.emvqr.parse import ParseResult, parse_mpm
from zhifu.barcode.registry import (
    MAX_CODE_LENGTH,
    MIN_CODE_LENGTH,
    MPM_PRIMITIVE_IDS,
    PREFIXES,
    institution_for_aid,
    institution_for_gui,
)
from zhifu.core.errors import DecodeError

_TEMPLATE_IDS = frozenset(f"{i:02d}" for i in (*range(26, 52), *range(80, 100)))


class CodeKind(StrEnum):
    PAYMENT_CODE = "payment_code"
    COLLECTION_URL = "collection_url"
    EMVCO_MPM = "emvco_mpm"
    EMVCO_CPM = "emvco_cpm"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Classification:
    """The answer of :func:`classify`; the decoded form is attached for the caller's use."""

    kind: CodeKind
    institution: str | None
    valid: bool
    reason: str
    institutions: tuple[str, ...] = ()
    collection: CollectionCode | None = None
    refusal: Refusal | None = None
    mpm: ParseResult | None = None
    cpm: CpmPayload | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "institution": self.institution,
            "valid": self.valid,
            "reason": self.reason,
        }
        if self.institutions:
            out["institutions"] = list(self.institutions)
        if self.collection is not None:
            out["collection_kind"] = self.collection.kind.value
        if self.refusal is not None:
            out["refusal"] = self.refusal.reason.value
        return out


def classify(code: str) -> Classification:
    """Name the kind of ``code`` and its issuing institution (see the module docstring)."""
    text = code.strip() if isinstance(code, str) else ""
    if not text:
        return Classification(CodeKind.UNKNOWN, None, False, "empty")
    if text.isascii() and text.isdigit():
        return _numeric(text)
    if text.startswith(CPM_PREFIX):
        return _cpm(text)
    if text.startswith("0002"):
        return _mpm(text)
    if "://" in text:
        return _url(text)
    return Classification(CodeKind.UNKNOWN, None, False, "not a form zhifu knows")


def _numeric(text: str) -> Classification:
    if not MIN_CODE_LENGTH <= len(text) <= MAX_CODE_LENGTH:
        return Classification(CodeKind.UNKNOWN, None, False, f"{len(text)} digits, not 16-24")
    rule = PREFIXES.lookup(text)
    if rule is None:
        reason = f"no institution registered for prefix {text[:2]} with {len(text)} digits"
        return Classification(CodeKind.PAYMENT_CODE, None, False, reason)
    reason = f"prefix {rule.prefix}, {len(text)} digits"
    return Classification(CodeKind.PAYMENT_CODE, rule.institution, True, reason)


def _cpm(text: str) -> Classification:
    try:
        payload = decode_cpm(text)
    except DecodeError as exc:
        return Classification(CodeKind.EMVCO_CPM, None, False, f"does not decode: {exc}")
    found = tuple(
        inst for app in payload.applications if (inst := institution_for_aid(app.aid)) is not None
    )
    reason = f"{len(payload.applications)} application(s)"
    first = found[0] if found else None
    return Classification(CodeKind.EMVCO_CPM, first, True, reason, found, cpm=payload)


def _mpm(text: str) -> Classification:
    result = parse_mpm(text)
    found: list[str] = []
    for obj in result.tree:
        inst = MPM_PRIMITIVE_IDS.get(obj.id)
        if inst is None and obj.id in _TEMPLATE_IDS:
            gui = obj.child("00")
            inst = institution_for_gui(gui.value) if gui is not None else None
        if inst is not None and inst not in found:
            found.append(inst)
    errors = result.errors
    reason = "valid" if not errors else f"{len(errors)} error(s), first {errors[0].code.value}"
    first = found[0] if found else None
    return Classification(CodeKind.EMVCO_MPM, first, not errors, reason, tuple(found), mpm=result)


def _url(text: str) -> Classification:
    answer = classify_url(text)
    if isinstance(answer, Refusal):
        reason = f"refused ({answer.reason.value}): {answer.message}"
        return Classification(CodeKind.COLLECTION_URL, None, False, reason, refusal=answer)
    reason = f"{answer.kind.value} code on {answer.host or answer.scheme}"
    return Classification(
        CodeKind.COLLECTION_URL, answer.institution, True, reason, collection=answer
    )
