"""Field 39 response codes as data (docs/standards/iso8583-cup.md §5), and the reversal reasons
(4.4).

Meanings from Q/CUP 006.6-2015 annex A.2.1 (RC), terminal display texts from a production POS
application (SD), and what our terminal does with each (:class:`Action`). Code ``77`` is an
acquirer code (batch mismatch) that is not in RC.

>>> lookup("00").action, lookup("00").approved
(<Action.APPROVE: 'approve'>, True)
>>> lookup("A0").display, lookup("A0").action.value
('MAC校验错,请重新签到', 'sign on again')
>>> lookup("55").action.value
'decline: re-enter PIN'
>>> lookup("ZZ").meaning_en
'unknown response code'
>>> REVERSAL_REASONS["98"]
'no response within the timeout'
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Final

__all__ = [
    "APPROVED_CODES",
    "RESPONSE_CODES",
    "REVERSAL_REASONS",
    "Action",
    "ResponseCode",
    "lookup",
]


class Action(enum.Enum):
    """What the terminal does on receiving a response code."""

    APPROVE = "approve"
    APPROVE_PARTIAL = "approve: partial amount"
    APPROVE_WITH_WARNING = "approve with a warning"
    DECLINE = "decline"
    CALL_ISSUER = "decline: cardholder to call the issuer"
    REENTER_PIN = "decline: re-enter PIN"
    RETRY_LATER = "retry later"
    SIGN_ON = "sign on again"
    NEW_STAN = "decline: use a new STAN"
    NOT_ONLINE = "not used online"

    @property
    def approved(self) -> bool:
        """The transaction went through (fully, partly or with a warning)."""
        return self in (Action.APPROVE, Action.APPROVE_PARTIAL, Action.APPROVE_WITH_WARNING)


@dataclasses.dataclass(frozen=True)
class ResponseCode:
    """One field 39 value: meanings, what the terminal shows, what it does."""

    code: str
    meaning_cn: str
    meaning_en: str
    display: str
    action: Action

    @property
    def approved(self) -> bool:
        """True for 00, 10, 11 and the 'defective success' codes A2, A4, A5, A6."""
        return self.action.approved


_A = Action
_DEFECTIVE = (
    "有缺陷的成功",
    "defective success (transfer family)",
    "交易成功,请向资金转入/到账行确认",
)
_ROWS: Final = (
    ("00", "承兑或交易成功", "approved", "交易成功", _A.APPROVE),
    ("01", "查发卡方", "refer to issuer", "请持卡人与发卡行联系", _A.CALL_ISSUER),
    ("03", "无效商户", "invalid merchant (MCC not allowed / blacklisted)", "无效商户", _A.DECLINE),
    ("04", "没收卡", "pick up", "此卡为无效卡(POS)", _A.DECLINE),
    ("05", "身份认证失败", "cardholder verification failed / do not honour", "持卡人认证失败",
     _A.DECLINE),
    ("10", "部分金额批准", "partial approval", "显示部分批准金额", _A.APPROVE_PARTIAL),
    ("11", "重要人物批准(VIP)", "approved VIP", "成功,VIP客户", _A.APPROVE),
    ("12", "无效的关联交易", "invalid (related) transaction", "无效交易", _A.DECLINE),
    ("13", "无效金额", "invalid amount", "无效金额", _A.DECLINE),
    ("14", "无效卡号(无此账号)", "invalid card number", "无效卡号", _A.DECLINE),
    ("15", "无此发卡方", "no such issuer", "此卡无对应发卡方", _A.DECLINE),
    ("21", "卡未初始化", "card not activated / dormant", "该卡未初始化或睡眠卡", _A.DECLINE),
    ("22", "故障怀疑,关联交易错误", "suspected malfunction, wrong related transaction",
     "操作有误,或超出交易允许天数", _A.DECLINE),
    ("25", "找不到原始交易", "original transaction not found", "没有原始交易,请联系发卡方",
     _A.DECLINE),
    ("30", "报文格式错误", "format error", "请重试", _A.DECLINE),
    ("34", "有作弊嫌疑", "suspected fraud (incl. ARQC failure)", "作弊卡,吞卡", _A.DECLINE),
    ("38", "超过允许的PIN试输入", "PIN tries exceeded (locked)", "密码错误次数超限,请与发卡方联系",
     _A.DECLINE),
    ("40", "请求的功能尚不支持", "function not supported", "发卡方不支持的交易", _A.DECLINE),
    ("41", "挂失卡", "lost card", "挂失卡(POS)", _A.DECLINE),
    ("43", "被窃卡", "stolen card", "被窃卡(POS)", _A.DECLINE),
    ("45", "不允许降级交易", "fallback not allowed", "请使用芯片", _A.DECLINE),
    ("51", "资金不足", "insufficient funds", "可用余额不足", _A.DECLINE),
    ("54", "过期的卡", "expired card", "该卡已过期", _A.DECLINE),
    ("55", "不正确的PIN", "incorrect PIN", "密码错", _A.REENTER_PIN),
    ("57", "不允许持卡人进行的交易", "not permitted to cardholder", "不允许此卡交易", _A.DECLINE),
    ("58", "不允许终端进行的交易", "not permitted on terminal",
     "发卡方不允许该卡在本终端进行此交易", _A.DECLINE),
    ("59", "有作弊嫌疑(CVN)", "suspected fraud (CVN)", "卡片校验错", _A.DECLINE),
    ("61", "超出金额限制", "exceeds amount limit", "交易金额超限", _A.DECLINE),
    ("62", "受限制的卡", "restricted card", "受限制的卡", _A.DECLINE),
    ("64", "原始金额错误", "amount differs from original", "交易金额与原交易不匹配", _A.DECLINE),
    ("65", "超出取款/消费次数限制", "exceeds frequency limit", "超出消费次数限制", _A.DECLINE),
    ("68", "发卡行响应超时", "issuer response timeout", "交易超时,请重试", _A.DECLINE),
    ("75", "允许的输入PIN次数超限", "PIN tries exceeded", "密码错误次数超限", _A.DECLINE),
    ("77", "批次号不一致", "batch mismatch (acquirer code, not in RC)", "批次号不一致,请重新签到",
     _A.SIGN_ON),
    ("90", "正在日终处理", "cut-over in progress", "系统日切,请稍后重试", _A.RETRY_LATER),
    ("91", "发卡方不能操作", "issuer inoperative", "发卡方状态不正常,请稍后重试", _A.RETRY_LATER),
    ("92", "金融机构或中间网络设施找不到或无法达到", "routing failure", "发卡方线路异常,请稍后重试",
     _A.RETRY_LATER),
    ("94", "重复交易", "duplicate transmission (e.g. STAN reused)", "拒绝,重复交易,请稍后重试",
     _A.NEW_STAN),
    ("96", "银联处理中心系统异常、失效", "system malfunction", "拒绝,交换中心异常,请稍后重试",
     _A.DECLINE),
    ("97", "ATM/POS终端号找不到", "terminal not registered", "终端未登记", _A.DECLINE),
    ("98", "银联处理中心收不到发卡方应答", "issuer no response", "发卡方超时", _A.DECLINE),
    ("99", "PIN格式错", "PIN format error", "PIN格式错,请重新签到", _A.SIGN_ON),
    ("A0", "MAC鉴别失败", "MAC verification failed", "MAC校验错,请重新签到", _A.SIGN_ON),
    ("A1", "转账货币不一致", "transfer currency mismatch", "", _A.DECLINE),
    ("A2", *_DEFECTIVE, _A.APPROVE_WITH_WARNING),
    ("A3", "资金到账行无此账户", "no such payee account", "", _A.DECLINE),
    ("A4", *_DEFECTIVE, _A.APPROVE_WITH_WARNING),
    ("A5", *_DEFECTIVE, _A.APPROVE_WITH_WARNING),
    ("A6", *_DEFECTIVE, _A.APPROVE_WITH_WARNING),
    ("A7", "安全处理失败", "security processing failed (HSM, PIN translate, ARPC)", "安全处理失败",
     _A.DECLINE),
    ("C1", "受理方状态非法", "acquirer not signed on / invalid state", "", _A.DECLINE),
    ("Y1", "脱机批准", "offline approved (file interface, IC)", "", _A.NOT_ONLINE),
    ("Y3", "不能联机,脱机批准", "unable to go online, offline approved", "", _A.NOT_ONLINE),
    ("Z1", "脱机拒绝", "offline declined (file interface, IC)", "", _A.NOT_ONLINE),
    ("Z3", "不能联机,脱机拒绝", "unable to go online, offline declined", "", _A.NOT_ONLINE),
)  # fmt: skip

RESPONSE_CODES: Final[dict[str, ResponseCode]] = {row[0]: ResponseCode(*row) for row in _ROWS}
"""Every field 39 code of docs/standards/iso8583-cup.md §5, by code."""

APPROVED_CODES: Final = frozenset(c for c, rc in RESPONSE_CODES.items() if rc.approved)
"""00, 10, 11, A2, A4, A5, A6."""

REVERSAL_REASONS: Final[dict[str, str]] = {
    "98": "no response within the timeout",
    "96": "approved response received but the terminal failed to complete",
    "A0": "response MAC check failed",
    "06": "anything else (e.g. ARPC or card rejection)",
}
"""Field 39 of a 0400 request: why the terminal reverses (docs/standards/iso8583-cup.md §4.4,
RR)."""

_UNKNOWN = ("", "未知应答码", "unknown response code", "交易失败", Action.DECLINE)


def lookup(code: str) -> ResponseCode:
    """The table entry of ``code``; an unknown code is a decline with a generic text."""
    found = RESPONSE_CODES.get(code)
    if found is not None:
        return found
    return ResponseCode(code, *_UNKNOWN[1:])
