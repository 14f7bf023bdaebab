"""Request and response bodies of the barcode API: msgspec Structs, the contract both sides
share (the web app's OpenAPI document is generated from them).

Requests are decoded STRICTLY (:func:`decode_strict`): an amount is an integer number of fen,
and a string (``"12.34"``), a float (``12.0``, ``1e3``) or a boolean is refused with a
``validation_error``; unknown fields are refused too, and so are a body that is not UTF-8 (the
message gives the byte offset) and a key that appears twice in an object (JSON leaves that
open, and a parser taking the first one would read another request than the one that was
checked: the message names the key).

>>> decode_strict(b'{"out_refund_no": "R1", "amount": 617}', RefundRequest).amount
617
>>> def refusal(body: bytes) -> str:
...     try:
...         decode_strict(body, RefundRequest)
...     except BarcodeError as exc:
...         return f"{exc.code}: {exc.message}"
...     return "accepted"
>>> refusal(b'{"out_refund_no": "R1", "amount": 6.17}')
'validation_error: invalid body amount: Expected `int`, got `float`'
>>> refusal(b'{"out_refund_no": "R\\xff1", "amount": 617}')
'validation_error: invalid body: not UTF-8 at byte offset 20'
>>> refusal(b'{"out_refund_no": "R1", "amount": 1, "amount": 617}')
'validation_error: invalid body amount: the key appears more than once'
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from zhifu.barcode.api.errors import BarcodeError

T = TypeVar("T")

Fen = Annotated[
    int,
    Meta(ge=1, le=1_000_000_000_000, description="amount in fen (integer minor units of CNY)"),
]
Ident = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
Text = Annotated[str, Meta(max_length=128)]
Currency = Literal["CNY"]

_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$")


def invalid(message: str) -> BarcodeError:
    """A ``validation_error``; ``message`` never repeats a submitted value."""
    return BarcodeError("validation_error", message)


def decode_strict(body: bytes, kind: type[T]) -> T:
    """Decode JSON into ``kind`` with msgspec's strict rules (see the module docstring); a
    body that does not fit is a ``validation_error`` saying where."""
    try:  # first: msgspec lets a UnicodeDecodeError out of a string, with no offset in the body
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(f"invalid body: not UTF-8 at byte offset {exc.start}") from None
    found = _typed(body, kind)
    _refuse_repeated_keys(text, kind)
    return found


def _typed(body: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=kind, strict=True)
    except msgspec.ValidationError as exc:
        found = _AT.match(str(exc))
        reason, path = (found["reason"], found["path"]) if found else ("", "")
        where = f"body {path}" if path else "body"
        if not reason or "'" in reason or '"' in reason:
            raise invalid(f"invalid {where}") from None
        raise invalid(f"invalid {where}: {reason}") from None
    except msgspec.DecodeError:
        raise invalid("the body is not JSON") from None


class _RepeatedKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members, unless a key appears twice (:class:`_RepeatedKeyError`)."""
    found = dict(pairs)
    if len(found) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKeyError(key)
            seen.add(key)
    return found


_PAIRS: Final = json.JSONDecoder(object_pairs_hook=_unique)


def _refuse_repeated_keys(text: str, kind: type[Any]) -> None:
    """msgspec keeps the last of repeated keys; the standard library's parser, told to, finds
    them (a body already decoded by msgspec, so small and shallow). The key is named when it
    is a field of ``kind`` (never a value the client made up)."""
    try:
        _PAIRS.decode(text)
    except _RepeatedKeyError as exc:
        fields = getattr(kind, "__struct_fields__", ())
        where = f"body {exc.key}" if exc.key in fields else "body"
        raise invalid(f"invalid {where}: the key appears more than once") from None
    except (ValueError, RecursionError):
        raise invalid("the body is not JSON") from None


class MicropayRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """付款扫码: the merchant scanned the customer's payment code."""

    merchant_id: Ident
    out_trade_no: Ident
    auth_code: Annotated[str, Meta(pattern=r"^[0-9]{16,24}$", description="payment code")]
    amount: Fen
    currency: Currency = "CNY"
    description: Text = ""
    terminal_id: Ident | None = None


class CreateOrderRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """收款扫码: a dynamic order whose collection code the merchant shows."""

    merchant_id: Ident
    out_trade_no: Ident
    amount: Fen
    currency: Currency = "CNY"
    description: Text = ""
    expire_seconds: Annotated[int, Meta(ge=60, le=86_400)] | None = None


class CloseRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """Close an unpaid order (an empty object)."""


class RefundRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """Refund part or all of a paid order (several refunds allowed, capped)."""

    out_refund_no: Ident
    amount: Fen
    reason: Text = ""


Factor = Literal["device", "password", "fingerprint", "face", "sms", "certificate"]


class ResolveRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """What a scanned collection code is (the wallet shows it before the customer pays)."""

    code: Annotated[str, Meta(min_length=1, max_length=512)]


class WalletPayRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """收款扫码: the wallet pays a scanned collection code for its customer."""

    code: Annotated[str, Meta(min_length=1, max_length=512)]
    customer_id: Ident
    account_id: Ident
    scan_source: Literal["camera", "album", "link"]
    factors: Annotated[list[Factor], Meta(max_length=6)] = []
    amount: Fen | None = None
    description: Text = ""


class OrderOut(Struct, frozen=True):
    """An order as its merchant sees it."""

    order_id: str
    merchant_id: str
    out_trade_no: str
    direction: Literal["micropay", "dynamic", "static"]
    status: Literal[
        "CREATED", "PAYING", "PAID", "PARTIALLY_REFUNDED", "REFUNDED", "FAILED", "CLOSED"
    ]
    amount: int
    currency: Currency
    description: str
    fee: int
    refunded: int
    acquirer: str
    payer_institution: str | None
    payment_id: str | None
    code_url: str | None
    code_emv: str | None
    terminal_id: str | None
    created_at: str
    expires_at: str | None
    paid_at: str | None


class RefundOut(Struct, frozen=True):
    refund_id: str
    order_id: str
    out_refund_no: str
    status: Literal["processing", "succeeded", "failed"]
    amount: int
    fee_refund: int
    reason: str
    created_at: str


class RefundList(Struct, frozen=True):
    refunds: list[RefundOut]


class ResolveOut(Struct, frozen=True):
    kind: str
    merchant_id: str
    merchant_name: str
    payee_kind: Literal["merchant", "personal"]
    acquirer: str
    order: OrderOut | None


class ObligationOut(Struct, frozen=True):
    obligation_id: str
    payer: str
    payee: str
    amount: int
    order_id: str
    reference: str
    business_date: str


class ObligationList(Struct, frozen=True):
    business_date: str
    obligations: list[ObligationOut]


class KeyOut(Struct, frozen=True):
    key_id: str
    principal: str
    algorithm: Literal["SM2-SM3", "RSA-SHA256"]
    public_key_pem: str


class KeyList(Struct, frozen=True):
    keys: list[KeyOut]


class ErrorDetail(Struct, frozen=True):
    code: str
    message: str
    doc_url: str


class ErrorOut(Struct, frozen=True):
    """Every refusal: a stable code, a message and the link to docs/errors.md."""

    error: ErrorDetail


def out(kind: type[T], data: dict[str, Any]) -> T:
    """A response Struct from a view dict."""
    return msgspec.convert(data, kind)
