"""The records of the barcode flows: merchants, wallet accounts, devices, orders, payments,
refunds and the interbank obligations they leave for clearing.

Amounts are integer fen (CNY); instants are timezone-aware (Asia/Shanghai for business rules);
``business_date`` is the Asia/Shanghai calendar date of the event (the clearing engine maps it
to its own BEPS dates and rounds).

>>> o = Obligation("OB1", "huanyu", "zhifu", 1234, "O1", "P1", date(2026, 11, 25))
>>> o.payer, o.payee, o.amount
('huanyu', 'zhifu', 1234)
>>> Direction.MICROPAY.value, Direction.MICROPAY.label_zh
('micropay', '付款扫码')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from zhifu.barcode.platform.orders import OrderStatus


class Direction(StrEnum):
    """How an order is paid: the two scan directions, and a static code's amount-less order."""

    MICROPAY = "micropay"  # 付款扫码: the merchant scans the customer's payment code
    DYNAMIC = "dynamic"  # 收款扫码: the customer scans the order's dynamic collection code
    STATIC = "static"  # 收款扫码: the customer scans a static code and types the amount

    @property
    def label_zh(self) -> str:
        return "付款扫码" if self is Direction.MICROPAY else "收款扫码"


class PayeeKind(StrEnum):
    """259号 keeps personal collection codes apart from merchant (特约商户) codes."""

    MERCHANT = "merchant"
    PERSONAL = "personal"


class ScanSource(StrEnum):
    """Where the wallet read a collection code: only the camera is face to face (259号)."""

    CAMERA = "camera"
    ALBUM = "album"  # an image saved on the phone (a screenshot counts as a static code)
    LINK = "link"  # a link or a forwarded image: remote


class Factor(StrEnum):
    """Verification factors a wallet reports for a payment (296号 risk grades)."""

    DEVICE = "device"  # the bound device itself
    PASSWORD = "password"  # noqa: S105 - a factor's name, not a password
    FINGERPRINT = "fingerprint"
    FACE = "face"
    SMS = "sms"
    CERTIFICATE = "certificate"  # a digital certificate or electronic signature


class PaymentStatus(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RefundStatus(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Merchant:
    """A payee at its acquiring institution; ``fee_bp`` is the merchant discount rate."""

    merchant_id: str
    institution: str
    name: str
    kind: PayeeKind = PayeeKind.MERCHANT
    mcc: str = "5812"
    fee_bp: int = 38  # 0.38 %, a common barcode merchant rate [A]
    notify_url: str | None = None


@dataclass(frozen=True, slots=True)
class WalletAccount:
    """A customer's payment account at its issuing institution.

    ``agreed_limit`` is the daily limit agreed for grade A payments (296号: by agreement).
    """

    institution: str
    account_id: str
    customer_id: str
    agreed_limit: int = 2_000_000


@dataclass(frozen=True, slots=True)
class Device:
    """A phone enrolled for payment codes: its handle, whose account it spends and its grade."""

    institution: str
    handle: str
    customer_id: str
    account_id: str
    grade: str = "C"


@dataclass(frozen=True, slots=True)
class Payer:
    """Who pays, as the issuing institution knows them after checking a code or a login."""

    institution: str
    customer_id: str
    account_id: str
    grade: str


@dataclass(frozen=True, slots=True)
class Order:
    """A merchant's order at its acquirer; ``refunded`` is the sum of successful and pending
    refunds (what the cap counts)."""

    order_id: str
    institution: str
    merchant_id: str
    out_trade_no: str
    direction: Direction
    amount: int
    description: str
    status: OrderStatus
    created_at: datetime
    expires_at: datetime | None = None
    code_token: str | None = None
    paid_at: datetime | None = None
    payment_id: str | None = None
    payer_institution: str | None = None
    fee: int = 0
    refunded: int = 0
    terminal_id: str | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    """One attempt to pay an order; its ledger transfers derive their ids from ``payment_id``."""

    payment_id: str
    order_id: str
    issuer: str
    acquirer: str
    customer_id: str
    account_id: str
    amount: int
    fee: int
    grade: str
    business_date: date
    status: PaymentStatus
    created_at: datetime
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund of part or all of a paid order, back to the account that paid."""

    refund_id: str
    order_id: str
    merchant_id: str
    out_refund_no: str
    amount: int
    fee_refund: int
    status: RefundStatus
    created_at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Obligation:
    """What one institution owes another for one cross-institution payment or refund.

    The switch records one per cross-institution movement; the clearing engine nets them.
    """

    obligation_id: str
    payer: str
    payee: str
    amount: int
    order_id: str
    reference: str  # the payment or refund id
    business_date: date
    created_at: datetime | None = None
