"""Command and response APDUs (ISO/IEC 7816-4 short form), status words, T=0 exchanges.

``le`` is the number of bytes expected, 1 to 256 (the wire byte ``00`` means 256, and
``le=0`` is accepted as a synonym of it), or ``None`` when absent. Extended-length APDUs are
refused. The representations show lengths only, never the data (a VERIFY carries a PIN
block).

>>> select = CommandApdu(0x00, 0xA4, 0x04, 0x00, b"2PAY.SYS.DDF01", le=256)
>>> select.encode().hex().upper()
'00A404000E325041592E5359532E444446303100'
>>> CommandApdu.decode(select.encode()) == select
True
>>> select
CommandApdu(cla=0x00, ins=0xA4, p1=0x04, p2=0x00, data=<14 bytes>, le=256)
>>> response = ResponseApdu.decode(bytes.fromhex("9F790600000000100090 00".replace(" ", "")))
>>> response.sw_hex, response.data.hex().upper()
('9000', '9F7906000000001000')
>>> describe_sw(StatusWord.FILE_NOT_FOUND)
'6A82: file or application not found (文件或应用未找到)'
>>> describe_sw(tries_left(2))
'63C2: verification failed, 2 tries left (验证失败，还可尝试 2 次)'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from zhifu.core.errors import DecodeError, UsageError

__all__ = [
    "MAX_T0_ROUNDS",
    "STATUS_WORDS",
    "SW1_MORE_DATA",
    "SW1_WRONG_LE",
    "CommandApdu",
    "ResponseApdu",
    "StatusWord",
    "describe_sw",
    "more_data",
    "transmit_t0",
    "tries_left",
    "wrong_le",
]


class StatusWord(IntEnum):
    """The status words with a fixed value, by name (``StatusWord.FILE_NOT_FOUND`` is ``6A82``).

    One member per fixed entry of :data:`STATUS_WORDS` (a test checks both tables agree).
    The families with a count in SW2 are built by :func:`more_data` (``61xx``),
    :func:`wrong_le` (``6Cxx``) and :func:`tries_left` (``63Cx``).
    """

    OK = 0x9000
    DATA_MAY_BE_CORRUPTED = 0x6281
    SELECTED_FILE_INVALIDATED = 0x6283
    AUTH_FAILED = 0x6300
    EXECUTION_ERROR = 0x6400
    MEMORY_FAILURE = 0x6581
    WRONG_LENGTH = 0x6700
    SM_NOT_SUPPORTED = 0x6882
    INCOMPATIBLE_FILE_STRUCTURE = 0x6981
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6983
    DATA_INVALIDATED = 0x6984
    CONDITIONS_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED = 0x6986
    SM_DATA_MISSING = 0x6987
    SM_DATA_INCORRECT = 0x6988
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    NOT_ENOUGH_MEMORY = 0x6A84
    WRONG_P1P2 = 0x6A86
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    WRONG_PARAMETERS = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00
    MAC_INVALID = 0x9302
    APPLICATION_LOCKED = 0x9303
    INSUFFICIENT_BALANCE = 0x9401
    KEY_INDEX_NOT_SUPPORTED = 0x9403
    MAC_NOT_AVAILABLE = 0x9406


SW1_MORE_DATA: Final = 0x61
"""SW1 of ``61xx``: xx more response bytes wait for GET RESPONSE (T=0)."""
SW1_WRONG_LE: Final = 0x6C
"""SW1 of ``6Cxx``: wrong Le, xx bytes are available (send the command again)."""
_VERIFICATION_FAILED: Final = 0x63C0
_GET_RESPONSE: Final = 0xC0


def more_data(available: int) -> int:
    """``61xx``: ``available`` response bytes still to fetch (256 is ``6100``)."""
    return SW1_MORE_DATA << 8 | (available & 0xFF)


def wrong_le(available: int) -> int:
    """``6Cxx``: the Le was wrong, ``available`` bytes are there (256 is ``6C00``)."""
    return SW1_WRONG_LE << 8 | (available & 0xFF)


def tries_left(tries: int) -> int:
    """``63Cx``: verification failed, ``tries`` left (more than 15 shows as 15)."""
    return _VERIFICATION_FAILED | min(max(tries, 0), 15)


# Status words (ISO/IEC 7816-4 5.1.3, EMV Book 1 / Book 3, JR/T 0025).
# Patterns are four hex digits; "XX" is a byte and "X" a nibble filled in by describe_sw.
STATUS_WORDS: Final[dict[str, tuple[str, str]]] = {
    "9000": ("normal processing", "正常处理"),
    "61XX": ("{n} response bytes still available", "还有 {n} 字节响应数据"),
    "6281": ("part of returned data may be corrupted", "返回数据可能有错"),
    "6283": ("selected file or application invalidated (blocked)", "选择的文件或应用已锁定"),
    "6300": ("authentication failed", "认证失败"),
    "63CX": ("verification failed, {n} tries left", "验证失败，还可尝试 {n} 次"),
    "6400": ("execution error, state unchanged", "执行出错，状态未改变"),
    "6581": ("memory failure", "存储器故障"),
    "6700": ("wrong length", "长度错误"),
    "6882": ("secure messaging not supported", "不支持安全报文"),
    "6981": ("command incompatible with file structure", "命令与文件结构不相容"),
    "6982": ("security status not satisfied", "安全状态不满足"),
    "6983": ("authentication method blocked", "认证方法锁定"),
    "6984": ("referenced data invalidated", "引用数据无效"),
    "6985": ("conditions of use not satisfied", "使用条件不满足"),
    "6986": ("command not allowed (no current EF)", "命令不允许"),
    "6987": ("expected secure messaging data objects missing", "安全报文数据对象丢失"),
    "6988": ("secure messaging data objects incorrect", "安全报文数据对象不正确"),
    "6A80": ("incorrect parameters in the data field", "数据域参数不正确"),
    "6A81": ("function not supported (card blocked)", "功能不支持（卡已锁定）"),
    "6A82": ("file or application not found", "文件或应用未找到"),
    "6A83": ("record not found", "记录未找到"),
    "6A84": ("not enough memory space in the file", "文件中存储空间不足"),
    "6A86": ("incorrect parameters P1-P2", "参数 P1 P2 不正确"),
    "6A88": ("referenced data not found", "引用数据未找到"),
    "6B00": ("wrong parameters P1-P2", "参数错误"),
    "6CXX": ("wrong Le, {n} bytes available", "Le 错误，实际长度 {n}"),
    "6D00": ("instruction code not supported or invalid", "指令不支持或无效"),
    "6E00": ("class not supported", "CLA 不支持"),
    "6F00": ("no precise diagnosis", "没有精确诊断"),
    "9302": ("MAC invalid", "MAC 无效"),
    "9303": ("application permanently locked", "应用已被永久锁定"),
    "9401": ("insufficient balance", "金额不足"),
    "9403": ("key index not supported", "密钥索引不支持"),
    "9406": ("required MAC not available", "所需 MAC 不可用"),
}

MAX_T0_ROUNDS: Final = 32


def _check_byte(value: int, argument: str) -> None:
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise UsageError("must be a byte (0 to 255)", argument=argument)


@dataclass(frozen=True, repr=False)
class CommandApdu:
    """A short command APDU: cases 1 (header), 2 (+Le), 3 (+Lc data), 4 (+Lc data Le)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            _check_byte(getattr(self, name), name)
        if len(self.data) > 255:
            raise UsageError(f"{len(self.data)} bytes, at most 255 (short APDU)", argument="data")
        if self.le is not None:
            if not 0 <= self.le <= 256:
                raise UsageError("must be 0 to 256 or None", argument="le")
            if self.le == 0:
                object.__setattr__(self, "le", 256)

    @property
    def case(self) -> int:
        """The ISO/IEC 7816-3 case, 1 to 4."""
        return 1 + (self.le is not None) + 2 * bool(self.data)

    def encode(self) -> bytes:
        """The APDU bytes."""
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            out += bytes([self.le & 0xFF])
        return out

    @classmethod
    def decode(cls, apdu: bytes) -> CommandApdu:
        """Parse a short command APDU; extended lengths raise DecodeError."""
        raw = bytes(apdu)
        if len(raw) < 4:
            raise DecodeError(f"{len(raw)} bytes, a header needs 4", field="header", offset=0)
        cla, ins, p1, p2 = raw[:4]
        if len(raw) == 4:
            return cls(cla, ins, p1, p2)
        if len(raw) == 5:
            return cls(cla, ins, p1, p2, le=raw[4] or 256)
        lc = raw[4]
        if lc == 0:
            raise DecodeError("extended length APDUs are not supported", field="Lc", offset=4)
        if len(raw) == 5 + lc:
            return cls(cla, ins, p1, p2, raw[5:])
        if len(raw) == 6 + lc:
            return cls(cla, ins, p1, p2, raw[5:-1], raw[-1] or 256)
        raise DecodeError(
            f"Lc {lc} does not match the {len(raw) - 5} bytes after it", field="Lc", offset=4
        )

    def __repr__(self) -> str:
        return (
            f"CommandApdu(cla=0x{self.cla:02X}, ins=0x{self.ins:02X}, p1=0x{self.p1:02X}, "
            f"p2=0x{self.p2:02X}, data=<{len(self.data)} bytes>, le={self.le})"
        )


@dataclass(frozen=True, repr=False)
class ResponseApdu:
    """A response APDU: data followed by the status word SW1 SW2."""

    data: bytes
    sw1: int
    sw2: int

    def __post_init__(self) -> None:
        _check_byte(self.sw1, "sw1")
        _check_byte(self.sw2, "sw2")

    @classmethod
    def from_sw(cls, sw: int, data: bytes = b"") -> ResponseApdu:
        """Build from a two-byte status word: ``ResponseApdu.from_sw(0x6A82)``."""
        if not 0 <= sw <= 0xFFFF:
            raise UsageError("must be two bytes", argument="sw")
        return cls(bytes(data), sw >> 8, sw & 0xFF)

    @property
    def sw(self) -> int:
        """The status word as an int, e.g. ``0x9000``."""
        return self.sw1 << 8 | self.sw2

    @property
    def sw_hex(self) -> str:
        """The status word as upper-case hex, e.g. ``'9000'``."""
        return f"{self.sw:04X}"

    @property
    def ok(self) -> bool:
        """Whether the status word is ``9000``."""
        return self.sw == StatusWord.OK

    def encode(self) -> bytes:
        """Data then SW1 SW2."""
        return self.data + bytes([self.sw1, self.sw2])

    @classmethod
    def decode(cls, response: bytes) -> ResponseApdu:
        """Split response bytes into data and status word."""
        raw = bytes(response)
        if len(raw) < 2:
            raise DecodeError(f"{len(raw)} bytes, a status word needs 2", field="SW", offset=0)
        return cls(raw[:-2], raw[-2], raw[-1])

    def __repr__(self) -> str:
        return f"ResponseApdu(data=<{len(self.data)} bytes>, sw={self.sw_hex})"


def _sw_entry(sw: int) -> tuple[str, tuple[str, str], int] | None:
    text = f"{sw:04X}"
    if text in STATUS_WORDS:
        return text, STATUS_WORDS[text], 0
    byte_pattern = text[:2] + "XX"
    if byte_pattern in STATUS_WORDS:
        return byte_pattern, STATUS_WORDS[byte_pattern], sw & 0xFF
    nibble_pattern = text[:3] + "X"
    if nibble_pattern in STATUS_WORDS:
        return nibble_pattern, STATUS_WORDS[nibble_pattern], sw & 0x0F
    return None


def describe_sw(sw: int) -> str:
    """``'6A82: file or application not found (文件或应用未找到)'``; unknown ones say so."""
    if not 0 <= sw <= 0xFFFF:
        raise UsageError("must be two bytes", argument="sw")
    entry = _sw_entry(sw)
    if entry is None:
        return f"{sw:04X}: unknown status word (未知状态字)"
    _, (english, chinese), n = entry
    if n == 0 and sw >> 8 == SW1_MORE_DATA:
        n = 256
    return f"{sw:04X}: {english.format(n=n)} ({chinese.format(n=n)})"


def transmit_t0(send: Callable[[bytes], bytes], command: CommandApdu) -> ResponseApdu:
    """Exchange ``command`` as T=0 does: on ``61xx`` send GET RESPONSE (``00 C0 00 00 xx``),
    on ``6Cxx`` send the command again with Le ``xx``; concatenate the data.

    At most :data:`MAX_T0_ROUNDS` exchanges; more raise DecodeError.
    """
    data = b""
    current = command
    for _ in range(MAX_T0_ROUNDS):
        response = ResponseApdu.decode(send(current.encode()))
        data += response.data
        if response.sw1 == SW1_MORE_DATA:
            current = CommandApdu(0x00, _GET_RESPONSE, 0x00, 0x00, le=response.sw2 or 256)
        elif response.sw1 == SW1_WRONG_LE:
            current = CommandApdu(
                current.cla, current.ins, current.p1, current.p2, current.data, response.sw2
            )
        else:
            return ResponseApdu(data, response.sw1, response.sw2)
    raise DecodeError(f"no final status word after {MAX_T0_ROUNDS} exchanges", field="SW")
