"""The UnionPay POS ISO 8583 field dictionary (fields 1-64) as data.

Every row follows docs/standards/iso8583-cup.md §3 (field table) and section 2 (encoding
conventions):

* ``fmt``: the CUP format letter: ``n`` numeric (packed BCD), ``z`` track data (BCD, ``=`` sent as
  the nibble ``D``), ``an``/``ans`` text, ``b`` binary;
* ``max_len``: digits for ``n``/``z``, bytes for ``an``/``ans``/``b`` (``b 64`` = 8 bytes);
* ``length_type``: ``fixed``, ``llvar`` (1-byte length prefix) or ``lllvar`` (2 bytes);
* ``prefix``: how the length prefix is written: ``bcd`` (always, in the POS flavour) or ``""``
  for fixed fields; ``counts``: what it counts, ``digits`` for BCD data, ``bytes`` otherwise;
* ``align``: where an odd count of digits sits in its bytes (``left``: pad nibble after,
  ``right``: pad nibble before); ``pad``: the pad nibble a profile uses unless it says otherwise;
* ``charset``: the text encoding of ``an``/``ans`` fields (GBK where Chinese text may appear).

Fields the POS flavour does not use are listed in :data:`ABSENT` with the reason, so that the
table accounts for every field from 1 to 64.

>>> FIELDS["22"].align, FIELDS["23"].align
('left', 'right')
>>> FIELDS["2"].length_type, FIELDS["2"].max_len, FIELDS["2"].counts
('llvar', 19, 'digits')
>>> FIELDS["55"].fmt, FIELDS["55"].length_type, FIELDS["55"].counts
('b', 'lllvar', 'bytes')
>>> ABSENT["1"]
'secondary bitmap: never set by UnionPay POS (primary bitmap only)'
>>> wire_size(FIELDS["22"]), wire_size(FIELDS["41"]), wire_size(FIELDS["2"])
(2, 8, None)
>>> MESSAGE_TYPES["0810"]
('网络管理应答', 'network management response')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "ABSENT",
    "ALIGNS",
    "CHARSETS",
    "FIELDS",
    "FORMATS",
    "LENGTH_TYPES",
    "MESSAGE_TYPES",
    "Align",
    "Charset",
    "FieldFormat",
    "FieldSpec",
    "LengthType",
    "field_name",
    "wire_size",
]

FieldFormat = Literal["n", "z", "an", "ans", "b"]
LengthType = Literal["fixed", "llvar", "lllvar"]
Align = Literal["left", "right"]
Charset = Literal["ascii", "gbk", ""]
Confidence = Literal["V", "S", "1", "U"]

FORMATS: Final = frozenset({"n", "z", "an", "ans", "b"})
LENGTH_TYPES: Final = frozenset({"fixed", "llvar", "lllvar"})
ALIGNS: Final = frozenset({"left", "right"})
CHARSETS: Final = frozenset({"ascii", "gbk", ""})


@dataclass(frozen=True)
class FieldSpec:
    """One data element of the UnionPay POS dialect (docs/standards/iso8583-cup.md §3)."""

    number: str
    name_cn: str
    name_en: str
    fmt: FieldFormat
    max_len: int
    length_type: LengthType
    prefix: Literal["bcd", ""]
    counts: Literal["digits", "bytes"]
    align: Align
    pad: str
    charset: Charset
    conf: Confidence
    note: str = ""

    @property
    def is_bcd(self) -> bool:
        """Packed-BCD data (``n`` and ``z``)."""
        return self.fmt in ("n", "z")

    @property
    def is_text(self) -> bool:
        """Text data (``an`` and ``ans``)."""
        return self.fmt in ("an", "ans")

    @property
    def prefix_bytes(self) -> int:
        """Size of the length prefix: 0 (fixed), 1 (LLVAR) or 2 (LLLVAR)."""
        return {"fixed": 0, "llvar": 1, "lllvar": 2}[self.length_type]


def wire_size(spec: FieldSpec) -> int | None:
    """Bytes a fixed field takes on the wire (None for variable fields)."""
    if spec.length_type != "fixed":
        return None
    return (spec.max_len + 1) // 2 if spec.is_bcd else spec.max_len


def _n(
    number: str, cn: str, en: str, digits: int, *, conf: Confidence = "S", **kw: str
) -> FieldSpec:
    """A fixed numeric field (packed BCD; odd lengths left-aligned unless ``align="right"``)."""
    align: Align = "right" if kw.get("align") == "right" else "left"
    return FieldSpec(
        number, cn, en, "n", digits, "fixed", "", "digits", align, "0", "", conf, kw.get("note", "")
    )


def _var(
    number: str,
    cn: str,
    en: str,
    fmt: FieldFormat,
    max_len: int,
    *,
    ll: LengthType,
    conf: Confidence = "S",
    note: str = "",
    charset: Charset = "ascii",
) -> FieldSpec:
    """A variable field: BCD length prefix counting digits (n, z) or bytes (text, binary)."""
    bcd = fmt in ("n", "z")
    return FieldSpec(
        number,
        cn,
        en,
        fmt,
        max_len,
        ll,
        "bcd",
        "digits" if bcd else "bytes",
        "left",
        "0" if bcd else "",
        "" if bcd or fmt == "b" else charset,
        conf,
        note,
    )


def _text(number: str, cn: str, en: str, fmt: FieldFormat, size: int) -> FieldSpec:
    """A fixed text field: ASCII, left-justified, space-padded."""
    return FieldSpec(number, cn, en, fmt, size, "fixed", "", "bytes", "left", "", "ascii", "V")


def _bin(number: str, cn: str, en: str, size: int, note: str = "") -> FieldSpec:
    """A fixed binary field."""
    return FieldSpec(number, cn, en, "b", size, "fixed", "", "bytes", "left", "", "", "V", note)


_ROWS: Final[tuple[FieldSpec, ...]] = (
    _var("2", "主账号", "primary account number (PAN)", "n", 19, ll="llvar", conf="V"),
    _n("3", "交易处理码", "processing code", 6),
    _n("4", "交易金额", "amount, transaction (fen)", 12, conf="V"),
    _n("11", "受卡方系统跟踪号", "system trace audit number (STAN)", 6),
    _n("12", "受卡方所在地时间", "local time hhmmss", 6, conf="V"),
    _n("13", "受卡方所在地日期", "local date MMDD", 4, conf="V"),
    _n("14", "卡有效期", "expiration date YYMM", 4, conf="V"),
    _n("15", "清算日期", "settlement date MMDD", 4, conf="V"),
    _n("22", "服务点输入方式码", "POS entry mode", 3, conf="V", note="left-aligned: 051 -> 0510"),
    _n("23", "卡片序列号", "card sequence number", 3, conf="V", align="right", note="001 -> 0001"),
    _n("25", "服务点条件码", "POS condition code", 2),
    _n("26", "服务点PIN获取码", "PIN capture code (max PIN length)", 2, conf="V"),
    _var("32", "受理方标识码", "acquiring institution id", "n", 11, ll="llvar", conf="V"),
    _var("35", "第二磁道数据", "track 2 data", "z", 37, ll="llvar", conf="V", note="= is D"),
    _var("36", "第三磁道数据", "track 3 data", "z", 104, ll="lllvar"),
    _text("37", "检索参考号", "retrieval reference number (RRN)", "an", 12),
    _text("38", "授权标识应答码", "authorisation code", "an", 6),
    _text("39", "应答码", "response code (reversal reason in 0400)", "an", 2),
    _text("41", "受卡机终端标识码", "card acceptor terminal id", "ans", 8),
    _text("42", "受卡方标识码", "card acceptor (merchant) id", "ans", 15),
    _var("44", "附加响应数据", "additional response data", "an", 25, ll="llvar", conf="V"),
    _var("48", "附加数据-私有", "additional data - private", "n", 322, ll="lllvar", note="totals"),
    _text("49", "交易货币代码", "currency code, transaction", "an", 3),
    _bin("52", "个人标识码数据", "PIN block (encrypted)", 8, "SM4 terminals: 16 (profile)"),
    _n("53", "安全控制信息", "security related control information", 16, conf="V"),
    _var("54", "余额", "balance", "an", 20, ll="lllvar", conf="U", note="some stacks 40"),
    _var("55", "IC卡数据域", "ICC system related data (EMV TLV)", "b", 255, ll="lllvar", conf="V"),
    _var("58", "PBOC电子钱包标准的交易信息", "PBOC e-purse data", "ans", 100, ll="lllvar",
         charset="gbk"),
    _var("59", "自定义域", "private: QR / acquirer data", "ans", 999, ll="lllvar", conf="V",
         charset="gbk"),
    _var("60", "自定义域", "private: 60.1-60.7 (type, batch, ...)", "n", 17, ll="lllvar", conf="V"),
    _var("61", "原始信息域", "original message data", "n", 29, ll="lllvar"),
    _var("62", "自定义域", "private: keys, downloads, terminal info", "b", 512, ll="lllvar",
         conf="V"),
    _var("63", "自定义域", "private: operator / card org + text", "ans", 163, ll="lllvar",
         conf="V", charset="gbk"),
    _bin("64", "报文鉴别码", "message authentication code (MAC)", 8, "8 ASCII hex characters"),
)  # fmt: skip

FIELDS: Final[dict[str, FieldSpec]] = {row.number: row for row in _ROWS}
"""The fields the POS flavour uses, by number (string keys, as inside the codec)."""

_UNUSED = "not used by UnionPay POS"
ABSENT: Final[dict[str, str]] = {
    "1": "secondary bitmap: never set by UnionPay POS (primary bitmap only)",
    **{str(n): _UNUSED for n in (*range(5, 11), *range(16, 22), 24, *range(27, 32), 33, 34)},
    "40": _UNUSED + " (one acquirer app uses it for private TLV)",
    "43": _UNUSED + " (private in some variants)",
    **{str(n): _UNUSED for n in (45, 46, 47, 50, 51)},
    "56": _UNUSED + " in core POS",
    "57": _UNUSED + " in core POS",
}
"""Fields 1-64 the POS flavour does not use, with the reason (docs/standards/iso8583-cup.md §3)."""

MESSAGE_TYPES: Final[dict[str, tuple[str, str]]] = {
    "0100": ("授权请求", "authorisation request (pre-auth family)"),
    "0110": ("授权应答", "authorisation response"),
    "0200": ("金融交易请求", "financial transaction request"),
    "0210": ("金融交易应答", "financial transaction response"),
    "0220": ("金融通知", "financial advice (refund, offline)"),
    "0230": ("金融通知应答", "financial advice response"),
    "0320": ("批上送", "batch upload"),
    "0330": ("批上送应答", "batch upload response"),
    "0400": ("冲正请求", "reversal request"),
    "0410": ("冲正应答", "reversal response"),
    "0420": ("冲正通知", "reversal advice"),
    "0430": ("冲正通知应答", "reversal advice response"),
    "0500": ("批结算请求", "settlement request"),
    "0510": ("批结算应答", "settlement response"),
    "0620": ("脚本通知", "script result advice"),
    "0630": ("脚本通知应答", "script result advice response"),
    "0800": ("网络管理请求", "network management request"),
    "0810": ("网络管理应答", "network management response"),
    "0820": ("网络管理通知", "network management advice (sign-off, echo, queries)"),
    "0830": ("网络管理通知应答", "network management advice response"),
}
"""The message types of the POS flavour (docs/standards/iso8583-cup.md §4)."""


def field_name(number: str) -> str:
    """``'2 主账号 primary account number (PAN)'``-style label, for people."""
    spec = FIELDS.get(number)
    if spec is None:
        return f"{number} {ABSENT.get(number, 'unknown field')}"
    return f"{number} {spec.name_cn} {spec.name_en}"
