"""Refusals of the barcode flows and API: one stable code per reason, with its HTTP status.

Every refusal is a :class:`BarcodeError` whose ``code`` is a key of :data:`ERRORS`; it is
answered as :meth:`BarcodeError.body`, ``{"error": {"code", "message", "doc_url"}}`` (the
shape of every error of the web app), with the status of the table, and ``docs/errors.md`` has
a paragraph per code (a test checks both ways). Messages never repeat a payment code, a key or
a customer's data: they name the rule that refused.

>>> err = BarcodeError("auth_code_used")
>>> err.status, str(err)
(400, 'auth_code_used: the payment code has already been used; ask for a fresh code')
>>> BarcodeError("limit_exceeded", "grade C daily limit").message
'grade C daily limit'
>>> BarcodeError("nonce_reused").body()["error"]["doc_url"]
'/docs/errors#nonce_reused'
"""

from __future__ import annotations

from typing import Any, Final

from zhifu.core.errors import ZhifuError

DOC_BASE: Final = "/docs/errors"
"""The error catalogue each refusal links to (``doc_url``): the API's server serves it there
(from ``docs/errors.md``), so the link works wherever the API answers."""

ERRORS: Final[dict[str, tuple[int, str]]] = {
    # the request itself
    "validation_error": (400, "the request body or a parameter does not match the schema"),
    # request authentication (signed requests, replay protection)
    "signature_missing": (401, "the request has no zhifu signature headers"),
    "key_unknown": (401, "the key id of the request is not registered"),
    "signature_invalid": (401, "the signature does not verify over the canonical request"),
    "timestamp_stale": (401, "the request timestamp is more than 5 minutes from server time"),
    "nonce_reused": (401, "the nonce was already used by this caller"),
    "principal_mismatch": (403, "the signing key may not act for this merchant or institution"),
    # idempotency
    "idempotency_key_missing": (400, "a POST needs an Idempotency-Key header (1-64 characters)"),
    "idempotency_key_reused": (422, "the Idempotency-Key was used with another request body"),
    "idempotency_in_flight": (409, "a request with this Idempotency-Key is still running"),
    # payment codes (付款码)
    "auth_code_malformed": (400, "the payment code is not 16-24 digits of a known layout"),
    "auth_code_unknown_issuer": (400, "no institution is registered for this payment code"),
    "auth_code_issuer_not_connected": (
        400,
        "the code's institution is not connected to the switch",
    ),
    "auth_code_unknown_device": (400, "the payment code belongs to no enrolled device"),
    "auth_code_invalid": (400, "the payment code does not verify"),
    "auth_code_not_yet_valid": (
        400,
        "the payment code comes from the future; check the phone clock",
    ),
    "auth_code_expired": (400, "the payment code has expired; ask for a fresh code"),
    "auth_code_used": (400, "the payment code has already been used; ask for a fresh code"),
    # collection codes (收款码)
    "collection_code_refused": (400, "the collection code is not a registered issuer's code"),
    "collection_code_unknown": (404, "no collection code or order has this token"),
    "personal_code_remote": (403, "a personal collection code is refused for remote payment"),
    # payer, limits, funds
    "account_unknown": (404, "the payer's customer or account is not known to its institution"),
    "institution_not_in_business": (
        403,
        "the institution's licence is suspended or revoked: "
        "its business is stopped until the regulator lifts it",
    ),
    "step_up_required": (
        401,
        "a new device for a customer who has one needs the one-time code "
        "sent to the customer (start the binding first)",
    ),
    "step_up_invalid": (401, "the one-time code is wrong, used or older than 5 minutes"),
    "verification_required": (400, "a dynamic code payment needs at least one verification factor"),
    "limit_exceeded": (402, "the payment would pass the payer's daily barcode limit"),
    "insufficient_funds": (402, "the payer's account does not hold enough funds"),
    # merchants and orders
    "merchant_unknown": (404, "no merchant has this id"),
    "order_not_found": (404, "no order of this merchant has this id"),
    "out_trade_no_used": (409, "the merchant's out_trade_no was used for another order"),
    "order_paid": (409, "the order is paid; refund it instead"),
    "order_closed": (409, "the order is closed"),
    "order_expired": (409, "the order has expired"),
    "order_in_progress": (409, "a payment of this order is in progress"),
    "order_not_paid": (409, "the order has not been paid"),
    "amount_mismatch": (400, "the amount differs from the order's amount"),
    "amount_required": (400, "a static collection code needs the amount the customer typed"),
    "refund_exceeds_remaining": (409, "the refund is more than the order's unrefunded amount"),
    "out_refund_no_used": (409, "the out_refund_no was used for another refund"),
    "refund_failed": (409, "the merchant's settlement account cannot fund the refund"),
}
"""code -> (HTTP status, what it means)."""


class BarcodeError(ZhifuError):
    """A refused request: ``code`` is a key of :data:`ERRORS`; ``status`` its HTTP status."""

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in ERRORS:
            raise KeyError(f"unknown barcode error code {code!r}")
        status, meaning = ERRORS[code]
        self.code = code
        self.status = status
        self.message = message or meaning
        super().__init__(f"{code}: {self.message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (BarcodeError, (self.code, self.message))

    def body(self) -> dict[str, dict[str, str]]:
        """The answer's JSON object: code, message and the catalogue paragraph."""
        doc_url = f"{DOC_BASE}#{self.code}"
        return {"error": {"code": self.code, "message": self.message, "doc_url": doc_url}}
