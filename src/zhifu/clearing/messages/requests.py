"""Requests as messages: revocation, return, stop-payment, reversal, agreements, caps, queues.

Every request a bank or the central bank's operator makes of the centres travels as a signed
message of its own type, validated against its own XSD, and is answered by the centre's
``ccms.900`` confirmation (``docs/clearing.md`` §16). The table below is the data: each row
names the message, its root and information block, who sends it, and its elements in order
(the XSD files declare exactly these; a test checks them against the table).

======== ===================== ========== =====================================================
message  root                  sender     what
======== ===================== ========== =====================================================
ccms.307 ``BizRvcReq``          bank       revoke a packet (撤销) not yet netted
ccms.318 ``RtrReq``             bank       return a netted item (退回) as a credit return
beps.411 ``DbtStopPmtReq``      bank       stop a debit awaiting its receipt (止付)
beps.412 ``DbtStopPmtRspn``     bank       the payer's bank answers a stop-payment request
beps.413 ``RealTmRvslReq``      bank       reverse a real-time item awaiting its receipt (冲正)
beps.392 ``CstmrAgrmtMgmt``     bank       register (ADD) or end (DEL) a periodic agreement
nets.353 ``NDCAllctn``          operator   set a bank's net debit cap at a node kind
nets.376 ``ErmrkdFndsIncr``     bank       earmark funds: its own cap goes up by the amount
nets.377 ``ErmrkdFndsDcr``      bank       release earmarked funds: its cap goes down
nets.405 ``NetgQueQry``         bank       its items queued for netting (answered as TxSts)
nets.407 ``NetgQueMgmt``        operator   queue management: ``RSLV`` resolves gridlock
ccms.925 ``SttlmTmChng``        operator   the settlement time of holiday rounds (zhifu's no.)
======== ===================== ========== =====================================================

>>> REQUESTS["beps.411"].root, [f.name for f in REQUESTS["beps.411"].fields]
('DbtStopPmtReq', ['OrgnlTxId'])
>>> OPERATOR_CODE
'999999999998'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from typing import Final

from zhifu.clearing.messages.model import (
    BY_NAMESPACE,
    MESSAGES,
    Header,
    MessageKind,
    MessageType,
)

__all__ = [
    "OPERATOR_CODE",
    "REQUESTS",
    "REQUEST_TABLE",
    "FieldType",
    "RequestField",
    "RequestMessage",
    "RequestSpec",
    "Role",
]

OPERATOR_CODE: Final = "999999999998"
"""The 12-digit code the central bank's operator signs its requests with (zhifu's)."""


class Role(StrEnum):
    """Who may send a request: a participant (about its own business) or the operator."""

    BANK = "bank"
    OPERATOR = "operator"


class FieldType(StrEnum):
    """An element's XSD type (defined in ``cnaps_common.xsd``)."""

    ID = "Max35Text"
    BANK = "BankCode"
    AMOUNT = "ActiveCurrencyAndAmount"
    FLAG = "xs:boolean"
    DATE = "xs:date"
    TIME = "xs:time"
    NODE = "NodeKindText"
    ACCOUNT = "AccountText"
    AGREEMENT_ACTION = "AgreementAction"
    AGREEMENT_TYPE = "AgreementType"
    PERIOD = "PeriodText"
    QUEUE_ACTION = "QueueAction"


@dataclass(frozen=True, slots=True)
class RequestField:
    """One element of a request's information block."""

    name: str
    type: FieldType
    required: bool = True


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One request message type: its root, block, sender role and elements in order."""

    code: str
    root: str
    block: str
    role: Role
    fields: tuple[RequestField, ...]
    version: str = "001.01"


_F, _T = RequestField, FieldType
_BANK, _OP = Role.BANK, Role.OPERATOR
_ORIGINAL = (_F("OrgnlTxId", _T.ID),)
REQUEST_TABLE: Final[tuple[RequestSpec, ...]] = (
    RequestSpec("ccms.307", "BizRvcReq", "RvcInf", _BANK, (_F("OrgnlMsgId", _T.ID),)),
    RequestSpec("ccms.318", "RtrReq", "RtrInf", _BANK, (*_ORIGINAL, _F("TxId", _T.ID))),
    RequestSpec("beps.411", "DbtStopPmtReq", "StopInf", _BANK, _ORIGINAL),
    RequestSpec(
        "beps.412", "DbtStopPmtRspn", "StopRspnInf", _BANK, (*_ORIGINAL, _F("Agrd", _T.FLAG))
    ),
    RequestSpec("beps.413", "RealTmRvslReq", "RvslInf", _BANK, _ORIGINAL),
    RequestSpec(
        "beps.392", "CstmrAgrmtMgmt", "AgrmtInf", _BANK,
        (
            _F("Actn", _T.AGREEMENT_ACTION), _F("AgrmtId", _T.ID),
            _F("AgrmtTp", _T.AGREEMENT_TYPE, False), _F("DbtrAgt", _T.BANK, False),
            _F("DbtrAcct", _T.ACCOUNT, False), _F("CdtrAgt", _T.BANK, False),
            _F("ItmLmt", _T.AMOUNT, False), _F("Prd", _T.PERIOD, False),
            _F("PrdLmt", _T.AMOUNT, False), _F("VldFr", _T.DATE, False),
            _F("VldTo", _T.DATE, False),
        ),
    ),
    RequestSpec(
        "nets.353", "NDCAllctn", "NDCInf", _OP,
        (_F("BkCd", _T.BANK), _F("Nd", _T.NODE), _F("Amt", _T.AMOUNT)),
    ),
    RequestSpec(
        "nets.376", "ErmrkdFndsIncr", "ErmrkdInf", _BANK, (_F("Nd", _T.NODE), _F("Amt", _T.AMOUNT))
    ),
    RequestSpec(
        "nets.377", "ErmrkdFndsDcr", "ErmrkdInf", _BANK, (_F("Nd", _T.NODE), _F("Amt", _T.AMOUNT))
    ),
    RequestSpec("nets.405", "NetgQueQry", "QryInf", _BANK, (_F("Nd", _T.ID, False),)),
    RequestSpec(
        "nets.407", "NetgQueMgmt", "QueMgmtInf", _OP,
        (_F("Actn", _T.QUEUE_ACTION), _F("Nd", _T.ID, False)),
    ),
    RequestSpec("ccms.925", "SttlmTmChng", "SttlmTmInf", _OP, (_F("SttlmTm", _T.TIME),)),
)  # fmt: skip
REQUESTS: Final = {spec.code: spec for spec in REQUEST_TABLE}
REQUEST_TYPES: Final = tuple(
    MessageType(s.code, s.version, s.root, MessageKind.REQUEST, None) for s in REQUEST_TABLE
)
ALL_MESSAGES: Final = {**MESSAGES, **{t.code: t for t in REQUEST_TYPES}}
"""Every message type: the packets, receipts, summary and confirmation, and the requests."""
ALL_BY_NAMESPACE: Final = {**BY_NAMESPACE, **{t.namespace: t for t in REQUEST_TYPES}}

Value = str | int | bool | date | time


@dataclass(frozen=True, slots=True)
class RequestMessage:
    """A request: its header (no totals) and its elements by name (amounts in fen)."""

    message_type: str
    header: Header
    values: Mapping[str, Value] = field(default_factory=dict)

    @property
    def spec(self) -> RequestSpec:
        return REQUESTS[self.message_type]

    def text(self, name: str) -> str:
        """An element's text ('' when absent)."""
        found = self.values.get(name)
        return "" if found is None else str(found)

    def fen(self, name: str) -> int:
        """An amount element in fen (0 when absent)."""
        found = self.values.get(name, 0)
        assert isinstance(found, int) and not isinstance(found, bool)
        return found

    def flag(self, name: str) -> bool:
        return self.values.get(name) is True

    def day(self, name: str) -> date:
        found = self.values.get(name)
        assert isinstance(found, date)
        return found
