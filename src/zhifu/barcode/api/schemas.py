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

FEN: Final = Meta(
    ge=1,
    le=1_000_000_000_000,
    description="amount in fen (integer minor units of CNY): a JSON integer such as 1234; "
    'a fraction, an exponent or a string (12.34, 1234.0, 1.234e3, "1234") is refused',
)
IDENT: Final = Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
Fen = Annotated[int, FEN]
Ident = Annotated[str, IDENT]
Text = Annotated[str, Meta(max_length=128)]
Currency = Literal["CNY"]
SM2_PUBLIC_KEY_PEM = (  # an example for the OpenAPI page: a real SM2 key nobody holds
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEHuzG6Y1AbPYCmVH8n9ZhCIRbY5LH\n"
    "QCdF8XibtUoTaVjrVjTMS/ngWRLSbRCKFhvuf3Dr2VQuv2E/Jhybhkcppw==\n"
    "-----END PUBLIC KEY-----\n"
)

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

    merchant_id: Annotated[Ident, Meta(examples=["M100001"])]
    out_trade_no: Annotated[Ident, Meta(examples=["T202611250001"])]
    auth_code: Annotated[
        str,
        Meta(
            pattern=r"^[0-9]{16,24}$", description="payment code", examples=["921998500200181912"]
        ),
    ]
    amount: Annotated[Fen, Meta(examples=[1234])]
    currency: Currency = "CNY"
    description: Annotated[Text, Meta(examples=["牛肉面"])] = ""
    terminal_id: Annotated[str, IDENT, Meta(examples=["BOX00001"])] | None = None


class CreateOrderRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """收款扫码: a dynamic order whose collection code the merchant shows."""

    merchant_id: Annotated[Ident, Meta(examples=["M100001"])]
    out_trade_no: Annotated[Ident, Meta(examples=["T202611250002"])]
    amount: Annotated[Fen, Meta(examples=[2500])]
    currency: Currency = "CNY"
    description: Annotated[Text, Meta(examples=["两碗牛肉面"])] = ""
    expire_seconds: Annotated[int, Meta(ge=60, le=86_400, examples=[900])] | None = None


class CloseRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """Close an unpaid order (an empty object)."""


class RefundRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """Refund part or all of a paid order (several refunds allowed, capped)."""

    out_refund_no: Annotated[Ident, Meta(examples=["RF202611250001"])]
    amount: Annotated[Fen, Meta(examples=[617])]
    reason: Annotated[Text, Meta(examples=["退半份"])] = ""


Factor = Literal["device", "password", "fingerprint", "face", "sms", "certificate"]


class ResolveRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """What a scanned collection code is (the wallet shows it before the customer pays)."""

    code: Annotated[
        str, Meta(min_length=1, max_length=512, examples=["https://pay.zhifu.test/qr/m/4N8W2D6F"])
    ]


class WalletPayRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """收款扫码: the wallet pays a scanned collection code for its customer."""

    code: Annotated[
        str, Meta(min_length=1, max_length=512, examples=["https://pay.zhifu.test/qr/m/4N8W2D6F"])
    ]
    customer_id: Annotated[Ident, Meta(examples=["C200001"])]
    account_id: Annotated[Ident, Meta(examples=["A200001"])]
    scan_source: Annotated[Literal["camera", "album", "link"], Meta(examples=["camera"])]
    factors: Annotated[list[Factor], Meta(max_length=6, examples=[["device", "password"]])] = []
    amount: Annotated[int, FEN, Meta(examples=[1234])] | None = None
    description: Annotated[Text, Meta(examples=["牛肉面"])] = ""


class OrderOut(Struct, frozen=True):
    """An order as its merchant sees it."""

    order_id: Annotated[str, Meta(examples=["O202611250ZV7RY2072TECMQJ"])]
    merchant_id: Annotated[str, Meta(examples=["M100001"])]
    out_trade_no: Annotated[str, Meta(examples=["T202611250001"])]
    direction: Annotated[Literal["micropay", "dynamic", "static"], Meta(examples=["micropay"])]
    status: Annotated[
        Literal["CREATED", "PAYING", "PAID", "PARTIALLY_REFUNDED", "REFUNDED", "FAILED", "CLOSED"],
        Meta(examples=["PAID"]),
    ]
    amount: Annotated[int, Meta(examples=[1234])]
    currency: Currency
    description: Annotated[str, Meta(examples=["牛肉面"])]
    fee: Annotated[int, Meta(examples=[5])]
    refunded: Annotated[int, Meta(examples=[0])]
    acquirer: Annotated[str, Meta(examples=["zhifu"])]
    payer_institution: Annotated[str | None, Meta(examples=["huanyu"])]
    payment_id: Annotated[str | None, Meta(examples=["P202611250ZV81C406W6SW9K5"])]
    code_url: Annotated[str | None, Meta(examples=[None])]
    code_emv: Annotated[str | None, Meta(examples=[None])]
    terminal_id: Annotated[str | None, Meta(examples=["BOX00001"])]
    created_at: Annotated[str, Meta(examples=["2026-11-25T09:30:00.123456+08:00"])]
    expires_at: Annotated[str | None, Meta(examples=[None])]
    paid_at: Annotated[str | None, Meta(examples=["2026-11-25T09:30:00.400000+08:00"])]


class RefundOut(Struct, frozen=True):
    refund_id: Annotated[str, Meta(examples=["R2026112511T64V2EA2JA79GC"])]
    order_id: Annotated[str, Meta(examples=["O202611250ZV7RY2072TECMQJ"])]
    out_refund_no: Annotated[str, Meta(examples=["RF202611250001"])]
    status: Annotated[Literal["processing", "succeeded", "failed"], Meta(examples=["succeeded"])]
    amount: Annotated[int, Meta(examples=[617])]
    fee_refund: Annotated[int, Meta(examples=[2])]
    reason: Annotated[str, Meta(examples=["退半份"])]
    created_at: Annotated[str, Meta(examples=["2026-11-25T10:05:12.345678+08:00"])]


class RefundList(Struct, frozen=True):
    refunds: list[RefundOut]


class ResolveOut(Struct, frozen=True):
    kind: Annotated[str, Meta(examples=["static_merchant"])]
    merchant_id: Annotated[str, Meta(examples=["M100001"])]
    merchant_name: Annotated[str, Meta(examples=["Demo Noodles 面馆"])]
    payee_kind: Annotated[Literal["merchant", "personal"], Meta(examples=["merchant"])]
    acquirer: Annotated[str, Meta(examples=["zhifu"])]
    order: Annotated[OrderOut | None, Meta(examples=[None])]


class ObligationOut(Struct, frozen=True):
    obligation_id: Annotated[str, Meta(examples=["OB-P202611250ZV81C406W6SW9K5"])]
    payer: Annotated[str, Meta(examples=["huanyu"])]
    payee: Annotated[str, Meta(examples=["zhifu"])]
    amount: Annotated[int, Meta(examples=[1234])]
    order_id: Annotated[str, Meta(examples=["O202611250ZV7RY2072TECMQJ"])]
    reference: Annotated[str, Meta(examples=["P202611250ZV81C406W6SW9K5"])]
    business_date: Annotated[str, Meta(examples=["2026-11-25"])]


class HistoryEntryOut(Struct, frozen=True):
    at: Annotated[str, Meta(examples=["2026-11-25T10:31:07.123456+08:00"])]
    direction: Annotated[Literal["in", "out"], Meta(examples=["out"])]
    amount: Annotated[int, Meta(examples=[1234])]
    kind: Annotated[
        Literal["payment", "fee", "refund", "fee-refund", "top-up", "other"],
        Meta(examples=["payment"]),
    ]


class WalletHistory(Struct, frozen=True):
    account_id: Annotated[str, Meta(examples=["A1"])]
    since: Annotated[str, Meta(examples=["2025-11-24T10:31:07+08:00"])]
    entries: list[HistoryEntryOut]


class ObligationList(Struct, frozen=True):
    business_date: Annotated[str, Meta(examples=["2026-11-25"])]
    obligations: list[ObligationOut]


class KeyOut(Struct, frozen=True):
    key_id: Annotated[str, Meta(examples=["M100001-k1"])]
    principal: Annotated[str, Meta(examples=["merchant:M100001"])]
    algorithm: Annotated[Literal["SM2-SM3", "RSA-SHA256"], Meta(examples=["SM2-SM3"])]
    public_key_pem: Annotated[str, Meta(examples=[SM2_PUBLIC_KEY_PEM])]


class KeyList(Struct, frozen=True):
    keys: list[KeyOut]


class ErrorDetail(Struct, frozen=True):
    code: Annotated[str, Meta(examples=["auth_code_used"])]
    message: Annotated[
        str, Meta(examples=["the payment code has already been used; ask for a fresh code"])
    ]
    doc_url: Annotated[str, Meta(examples=["/docs/errors#auth_code_used"])]


class ErrorOut(Struct, frozen=True):
    """Every refusal: a stable code, a message and the link to docs/errors.md."""

    error: ErrorDetail


def out(kind: type[T], data: dict[str, Any]) -> T:
    """A response Struct from a view dict."""
    return msgspec.convert(data, kind)
