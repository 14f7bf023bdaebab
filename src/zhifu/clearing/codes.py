"""The BEPS tables as data: business types, processing statuses, reject reasons, receipt codes.

Sources (``docs/clearing.md#sources``, digest §1.2-1.6): CNAPS2 message numbers (beps.121-134),
CNAPS1 packet numbers (PKG001-011), business-type codes (A100 ... F100), ``PrcSts`` statuses
(PR03 netted ... PR32 expired) and the CNAPS1 receipt codes (00 success, 03 insufficient
balance ...). Where the sources are silent the table says ``source="zhifu"``.

>>> BUSINESS[BusinessType.ORDINARY_DEBIT].receipt_message
'beps.128'
>>> STATUS[Status.QUEUED].name_zh
'已轧差排队'
>>> RECEIPT_CODES["03"]
'insufficient balance'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Final


class BusinessType(StrEnum):
    """The six BEPS business types, plus the credit return (贷记退汇) that answers them."""

    ORDINARY_CREDIT = "ordinary_credit"
    PERIODIC_CREDIT = "periodic_credit"
    ORDINARY_DEBIT = "ordinary_debit"
    PERIODIC_DEBIT = "periodic_debit"
    REAL_TIME_CREDIT = "real_time_credit"
    REAL_TIME_DEBIT = "real_time_debit"
    CREDIT_RETURN = "credit_return"


class Direction(Enum):
    """Credit: the payer's bank sends it. Debit: the payee's bank sends it (a collection)."""

    CREDIT = "credit"
    DEBIT = "debit"


class Deadline(Enum):
    """How long the receiving bank has to answer."""

    NONE = "none"  # no receipt: final once netted
    RECEIPT_DAYS = "receipt_days"  # a receipt deadline in working days (RtrLtd)
    THIRD_WORKING_DAY = "third_working_day"  # real time: returned on the 3rd working day


@dataclass(frozen=True, slots=True)
class BusinessSpec:
    """One business type: its messages, packets, receipt rule and default per-item limit."""

    business_type: BusinessType
    name_zh: str
    direction: Direction
    real_time: bool
    messages: tuple[str, ...]  # CNAPS2 messages carrying the instruction
    receipt_message: str | None  # CNAPS2 message carrying the receipt
    pkg: str  # CNAPS1 packet number of the instruction
    receipt_pkg: str | None
    category_purpose: str  # CtgyPurp code of the plain variant
    deadline: Deadline
    limit_minor: int | None  # default per-item limit, inclusive; None: no limit
    revocable: bool  # whole-packet revocation before netting (撤销)
    returnable: bool  # may be returned (退回) once netted

    @property
    def needs_receipt(self) -> bool:
        """Nothing nets until the receiving bank's receipt."""
        return self.deadline is not Deadline.NONE


_50K: Final = 50_000_00
_C, _D = Direction.CREDIT, Direction.DEBIT
BUSINESS_TABLE: Final[tuple[BusinessSpec, ...]] = (
    BusinessSpec(
        BusinessType.ORDINARY_CREDIT, "普通贷记", _C, False, ("beps.121", "beps.122"), None,
        "001", None, "A100", Deadline.NONE, _50K, True, True,
    ),
    BusinessSpec(
        BusinessType.PERIODIC_CREDIT, "定期贷记", _C, False, ("beps.125",), None,
        "005", None, "E100", Deadline.NONE, None, True, True,
    ),
    BusinessSpec(
        BusinessType.ORDINARY_DEBIT, "普通借记", _D, False, ("beps.127",), "beps.128",
        "002", "008", "B100", Deadline.RECEIPT_DAYS, None, True, True,
    ),
    BusinessSpec(
        BusinessType.PERIODIC_DEBIT, "定期借记", _D, False, ("beps.133",), "beps.134",
        "006", "011", "F100", Deadline.RECEIPT_DAYS, None, True, True,
    ),
    BusinessSpec(
        BusinessType.REAL_TIME_CREDIT, "实时贷记", _C, True, ("beps.123",), "beps.124",
        "003", "009", "C100", Deadline.THIRD_WORKING_DAY, None, False, False,
    ),
    BusinessSpec(
        BusinessType.REAL_TIME_DEBIT, "实时借记", _D, True, ("beps.131",), "beps.132",
        "004", "010", "D100", Deadline.THIRD_WORKING_DAY, None, False, False,
    ),
    BusinessSpec(
        BusinessType.CREDIT_RETURN, "贷记退汇", _C, False, ("beps.121",), None,
        "007", None, "A100", Deadline.NONE, None, False, False,
    ),
)  # fmt: skip
BUSINESS: Final = {spec.business_type: spec for spec in BUSINESS_TABLE}
SIX: Final = tuple(b for b in BusinessType if b is not BusinessType.CREDIT_RETURN)


class Status(StrEnum):
    """Processing status (``PrcSts``) of an item."""

    NETTED = "PR03"
    SETTLED = "PR04"
    SUCCEEDED = "PR05"
    REVOKED = "PR08"
    REJECTED = "PR09"
    QUEUED = "PR11"
    SETTLEMENT_QUEUED = "PR12"
    STOPPED = "PR21"
    REVERSED = "PR22"
    EXPIRED = "PR32"
    AWAITING_RECEIPT = "PR89"


@dataclass(frozen=True, slots=True)
class StatusSpec:
    """One status: names, whether it is final, whether the item's money is in a position."""

    status: Status
    name_zh: str
    name_en: str
    final: bool
    in_position: bool
    source: str  # "digest": CNAPS2 PrcSts list; "bank-ui": a bank front-end's own state


STATUS_TABLE: Final[tuple[StatusSpec, ...]] = (
    StatusSpec(Status.NETTED, "已轧差", "netted", False, True, "digest"),
    StatusSpec(Status.SETTLED, "已清算", "settled", True, True, "digest"),
    StatusSpec(Status.SUCCEEDED, "已成功", "succeeded", True, False, "digest"),
    StatusSpec(Status.REVOKED, "已撤销", "revoked", True, False, "digest"),
    StatusSpec(Status.REJECTED, "已拒绝", "rejected", True, False, "digest"),
    StatusSpec(Status.QUEUED, "已轧差排队", "queued for netting", False, False, "digest"),
    StatusSpec(
        Status.SETTLEMENT_QUEUED, "已清算排队", "queued for settlement", False, True, "digest"
    ),
    StatusSpec(Status.STOPPED, "已止付", "stopped", True, False, "digest"),
    StatusSpec(Status.REVERSED, "已冲正", "reversed", True, False, "digest"),
    StatusSpec(Status.EXPIRED, "已超期", "expired", True, False, "digest"),
    StatusSpec(Status.AWAITING_RECEIPT, "待回执", "awaiting receipt", False, False, "bank-ui"),
)
STATUS: Final = {spec.status: spec for spec in STATUS_TABLE}


class Reason(StrEnum):
    """Why an item, receipt, revocation or return was refused (zhifu's codes)."""

    UNKNOWN_BANK = "unknown_bank"
    DUPLICATE_ID = "duplicate_id"
    AMOUNT = "amount"
    LIMIT_EXCEEDED = "limit_exceeded"
    CAP_EXCEEDED = "cap_exceeded"
    PACKET_MISMATCH = "packet_mismatch"
    RECEIPT_DAYS = "receipt_days"
    UNKNOWN_ITEM = "unknown_item"
    NOT_AWAITING = "not_awaiting_receipt"
    WRONG_BANK = "wrong_bank"
    RECEIPT_LATE = "receipt_late"
    REFUSED = "refused_by_bank"
    NO_RECEIPT = "no_receipt"
    ALREADY_NETTED = "already_netted"
    NOT_REVOCABLE = "not_revocable"
    NOT_RETURNABLE = "not_returnable"
    RETURN_LATE = "return_late"
    CALENDAR_UNKNOWN = "calendar_unknown"  # a deadline needs holiday data the centre lacks
    UNKNOWN_PACKET = "unknown_packet"
    NOT_STOPPABLE = "not_stoppable"
    NO_STOP_REQUEST = "no_stop_request"
    NOT_REVERSIBLE = "not_reversible"
    BUSINESS_KIND = "business_kind"
    NO_AGREEMENT = "no_agreement"
    AGREEMENT_MISMATCH = "agreement_mismatch"
    AGREEMENT_EXPIRED = "agreement_expired"
    AGREEMENT_ITEM_LIMIT = "agreement_item_limit"
    AGREEMENT_PERIOD_LIMIT = "agreement_period_limit"
    # message level (CNAPS2-like XML front-end, zhifu.clearing.messages.model): the whole message is
    # refused and nothing changes
    BAD_XML = "bad_xml"
    SCHEMA_INVALID = "schema_invalid"
    CONTROL_SUM = "control_sum"
    BAD_SIGNATURE = "bad_signature"
    DUPLICATE_MESSAGE = "duplicate_message"


REASON_TEXT: Final[dict[Reason, tuple[str, str]]] = {
    Reason.UNKNOWN_BANK: ("行号不存在", "unknown bank code"),
    Reason.DUPLICATE_ID: ("重复业务", "an item with this id exists"),
    Reason.AMOUNT: ("金额错误", "the amount must be positive"),
    Reason.LIMIT_EXCEEDED: ("超过单笔金额上限", "above the per-item limit"),
    Reason.CAP_EXCEEDED: ("超过净借记限额", "real-time item over the net debit cap"),
    Reason.PACKET_MISMATCH: ("包内业务不一致", "packet of another bank or business type"),
    Reason.RECEIPT_DAYS: ("回执期限错误", "receipt deadline outside the allowed range"),
    Reason.UNKNOWN_ITEM: ("原业务不存在", "no such item"),
    Reason.NOT_AWAITING: ("原业务不需回执", "the item is not awaiting a receipt"),
    Reason.WRONG_BANK: ("发起行错误", "not the bank entitled to do this"),
    Reason.RECEIPT_LATE: ("晚于最大回执期限", "receipt after the receipt deadline"),
    Reason.REFUSED: ("付款行拒绝", "refused by the receiving bank"),
    Reason.NO_RECEIPT: ("未回执", "no receipt before the deadline"),
    Reason.ALREADY_NETTED: ("已轧差不可撤销", "part of the packet is already netted"),
    Reason.NOT_REVOCABLE: ("业务不可撤销", "this business type cannot be revoked"),
    Reason.NOT_RETURNABLE: ("业务不可退回", "only netted non-real-time items can be returned"),
    Reason.RETURN_LATE: ("超过退回期限", "after the return deadline"),
    Reason.CALENDAR_UNKNOWN: ("节假日数据缺失", "the deadline needs holiday data not loaded yet"),
    Reason.UNKNOWN_PACKET: ("包不存在", "no such packet"),
    Reason.NOT_STOPPABLE: ("业务不可止付", "only ordinary and periodic debits can be stopped"),
    Reason.NO_STOP_REQUEST: ("无止付申请", "no stop-payment request is pending for the item"),
    Reason.NOT_REVERSIBLE: ("业务不可冲正", "only real-time items can be reversed"),
    Reason.BUSINESS_KIND: (
        "业务类型不符",
        "the category purpose code is not of this business type",
    ),
    Reason.NO_AGREEMENT: ("协议不存在", "periodic business needs a registered agreement"),
    Reason.AGREEMENT_MISMATCH: ("协议不符", "the agreement is of another type or other banks"),
    Reason.AGREEMENT_EXPIRED: ("协议不在有效期", "the agreement is not valid on this date"),
    Reason.AGREEMENT_ITEM_LIMIT: ("超过协议单笔限额", "above the agreement's per-item limit"),
    Reason.AGREEMENT_PERIOD_LIMIT: ("超过协议周期限额", "above what is left of the period's limit"),
    Reason.BAD_XML: ("报文格式错误", "not well-formed XML, or a DTD or entity in it"),
    Reason.SCHEMA_INVALID: ("报文不符合规范", "the message fails its XSD"),
    Reason.CONTROL_SUM: ("总笔数或总金额不符", "NbOfTxs or CtrlSum differs from the items"),
    Reason.BAD_SIGNATURE: ("数字签名验证失败", "the SM2 signature does not verify"),
    Reason.DUPLICATE_MESSAGE: ("报文标识号重复", "a message with this MsgId was accepted"),
}

# CNAPS1 receipt status (rcpstat) / return reason codes (docs/standards/clearing.md §1.3).
RECEIPT_CODES: Final[dict[str, str]] = {
    "00": "success",
    "01": "account number mismatch",
    "02": "account name mismatch",
    "03": "insufficient balance",
    "10": "wrong password",
    "11": "account status error",
    "20": "business already revoked",
    "90": "other",
}
RECEIPT_SUCCESS: Final = "00"
