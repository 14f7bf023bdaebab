"""The UnionPay POS dialect of ISO 8583 (GB/T 15150), as data and codecs.

Framing (length, TPDU, header) in :mod:`~zhifu.iso8583.framing`; the field dictionary in
:mod:`~zhifu.iso8583.specs` with per-acquirer :mod:`~zhifu.iso8583.profiles`; encode/decode on
pyiso8583 in :mod:`~zhifu.iso8583.codec`; sub-fields in ``fields_*``; the MAC scope in
:mod:`~zhifu.iso8583.mac`; field 39 in :mod:`~zhifu.iso8583.response_codes`; log redaction in
:mod:`~zhifu.iso8583.redact`; a frame as data and text in :mod:`~zhifu.iso8583.describe`.

>>> raw = bytes.fromhex("0028" "6006010000" "613100311108" "0800" "0020000000800010" "000001"
...                     "3232303033363030" "0011" "000000000030")
>>> frame_, message = decode_frame(raw)
>>> frame_.tpdu.destination, message.mti, message["41"], parse_field_60(message["60"]).network_code
('0601', '0800', '22003600', '003')
>>> reply = message.replace({"39": "00"}, mti="0810")
>>> encode_frame(reply, frame_.tpdu.reply(), frame_.header)[:7].hex()
'002a6000000601'
"""

from zhifu.iso8583.codec import decode, decode_frame, encode, encode_frame
from zhifu.iso8583.fields_60 import Field60, build_field_60, parse_field_60
from zhifu.iso8583.framing import Frame, Header, Tpdu, frame, read_frame, unframe
from zhifu.iso8583.message import Message
from zhifu.iso8583.profiles import DEFAULT_PROFILE, PROFILES, Profile, get_profile
from zhifu.iso8583.redact import redact
from zhifu.iso8583.response_codes import ResponseCode
from zhifu.iso8583.response_codes import lookup as lookup_response_code
from zhifu.iso8583.specs import FIELDS, FieldSpec

__all__ = [
    "DEFAULT_PROFILE",
    "FIELDS",
    "PROFILES",
    "Field60",
    "FieldSpec",
    "Frame",
    "Header",
    "Message",
    "Profile",
    "ResponseCode",
    "Tpdu",
    "build_field_60",
    "decode",
    "decode_frame",
    "encode",
    "encode_frame",
    "frame",
    "get_profile",
    "lookup_response_code",
    "parse_field_60",
    "read_frame",
    "redact",
    "unframe",
]
