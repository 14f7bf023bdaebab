"""A decoded frame as data and as text (for ``zhifu iso8583 decode``), and the way back.

:func:`describe_frame` decodes a frame (or a bare message) into a JSON-ready
:class:`~zhifu.iso8583.views.FrameView`: framing, header, MTI, bitmap, every field with its
name, field 55 as a tag tree, the sub-fields of 22, 53, 60, 61, 62, 63 and the meaning of 39.
Unless ``reveal`` is set, values are shown as :mod:`zhifu.iso8583.redact` prints them.
:func:`encode_description` turns such a description (made with ``reveal``) back into the very
same bytes; display-only keys are ignored.

>>> raw = bytes.fromhex("0800" "0020000000C00012" "000001" "3232303033363030"
...                     "313034353132353431313130303031" "0011" "000000000030" "0003" "303031")
>>> desc = describe_frame(raw, form="bare", reveal=True)
>>> desc["mti"], desc["bitmap"], desc["fields"]["60"]["subfields"][2]["meaning"]
('0800', '0020000000C00012', 'sign-on: double-length keys')
>>> encode_description(desc) == raw
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from zhifu.codec.tlv import describe as describe_tlv
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.iso8583 import fields_62 as f62
from zhifu.iso8583.codec import decode, encode
from zhifu.iso8583.fields_55 import describe_icc_data
from zhifu.iso8583.fields_60 import DOWNLOAD_CODES, QUERY_CODES, describe_field_60
from zhifu.iso8583.fields_pos import (
    PAN_ENTRY_MODES,
    PIN_ALGORITHMS,
    PIN_CAPABILITIES,
    PIN_FORMATS,
    POS_CONDITION_CODES,
    TRACK_ENCRYPTION,
    parse_field_61,
    parse_security_control,
)
from zhifu.iso8583.framing import MESSAGE_OFFSET, PROCESSING_REQUIREMENTS, Header, Tpdu, unframe
from zhifu.iso8583.framing import frame as build_frame
from zhifu.iso8583.message import Message
from zhifu.iso8583.profiles import get_profile
from zhifu.iso8583.redact import is_key_block, redact_field
from zhifu.iso8583.response_codes import lookup
from zhifu.iso8583.specs import MESSAGE_TYPES, field_name
from zhifu.iso8583.views import (
    FieldDetails,
    FieldView,
    Form,
    FrameView,
    FramingView,
    HeaderView,
    MessageView,
    SignOnKeysView,
    SubfieldView,
    TlvTree,
    TpduView,
)

__all__ = ["Form", "describe_frame", "describe_message", "encode_description"]

FORMS: tuple[Form, ...] = ("frame", "no-length", "bare")


def describe_frame(
    data: bytes, *, form: Form = "frame", profile: str | None = None, reveal: bool = False
) -> FrameView:
    """Decode ``data`` (a whole frame, a frame without length, or a bare message) and describe."""
    prof = get_profile(profile)
    framing: FramingView = {}
    message_bytes = bytes(data)
    base = 0
    if form != "bare":
        framed = unframe(data, length_prefix=form == "frame")
        base = MESSAGE_OFFSET if form == "frame" else MESSAGE_OFFSET - 2
        if form == "frame":
            framing["length"] = len(data) - 2
        framing["tpdu"] = _describe_tpdu(framed.tpdu)
        framing["header"] = _describe_header(framed.header)
        message_bytes = framed.message
    message = describe_message(decode(message_bytes, prof, offset_base=base), reveal=reveal)
    return {"form": form, "profile": prof.name, **framing, **message}


def _describe_tpdu(tpdu: Tpdu) -> TpduView:
    return {"hex": tpdu.hex, "id": tpdu.id, "destination": tpdu.destination, "source": tpdu.source}


def _describe_header(header: Header) -> HeaderView:
    requirement = header.processing_requirement
    return {
        "hex": header.hex,
        "application_type": header.application_type,
        "version": header.version,
        "terminal_status": header.terminal_status,
        "processing_requirement": requirement,
        "processing_requirement_meaning": PROCESSING_REQUIREMENTS.get(requirement, "unknown"),
        "software_version": header.software_version,
    }


def describe_message(message: Message, *, reveal: bool = False) -> MessageView:
    """MTI, bitmap, fields (with names and sub-fields), pads and the list of masked fields."""
    names = MESSAGE_TYPES.get(message.mti, ("", "unknown message type"))
    fields: dict[str, FieldView] = {}
    masked = []
    for number in message:
        value = message[number]
        shown = value if reveal else redact_field(number, value, message)
        if shown != value:
            masked.append(number)
        details = _details(number, value, message, reveal)
        fields[number] = {"name": field_name(number), "value": shown, **details}
    out: MessageView = {
        "mti": message.mti,
        "mti_name": f"{names[0]} {names[1]}".strip(),
        "bitmap": message.bitmap,
        "fields": fields,
    }
    if message.pads:
        out["pads"] = dict(message.pads)
    if masked:
        out["masked_fields"] = masked
    return out


def _meaning(table: Mapping[str, str], value: str) -> str:
    return table.get(value, "unknown")


def _details(number: str, value: str, message: Message, reveal: bool) -> FieldDetails:
    handler = _DETAILS.get(number)
    if handler is None:
        return {}
    try:
        return handler(value, message, reveal)
    except ZhifuError as exc:
        return {"detail_error": str(exc)}


def _d22(value: str, _: Message, __: bool) -> FieldDetails:
    return {
        "subfields": [
            {"id": "22.1", "value": value[:2], "meaning": _meaning(PAN_ENTRY_MODES, value[:2])},
            {"id": "22.2", "value": value[2:], "meaning": _meaning(PIN_CAPABILITIES, value[2:])},
        ]
    }


def _d25(value: str, _: Message, __: bool) -> FieldDetails:
    return {"meaning": _meaning(POS_CONDITION_CODES, value)}


def _d39(value: str, message: Message, __: bool) -> FieldDetails:
    if message.mti in ("0400", "0420"):
        return {"meaning": "reversal reason"}
    code = lookup(value)
    return {"meaning": f"{code.meaning_cn} {code.meaning_en}", "action": code.action.value}


def _d53(value: str, _: Message, __: bool) -> FieldDetails:
    control = parse_security_control(value)
    rows = (
        ("53.1", control.pin_format, PIN_FORMATS),
        ("53.2", control.algorithm, PIN_ALGORITHMS),
        ("53.3", control.track_encryption, TRACK_ENCRYPTION),
    )
    return {
        "subfields": [
            {"id": sub, "value": digit, "meaning": _meaning(table, digit)}
            for sub, digit, table in rows
        ]
    }


def _d55(value: str, _: Message, reveal: bool) -> FieldDetails:
    return {"tlv": describe_icc_data(value, reveal=reveal)}


def _d60(value: str, _: Message, __: bool) -> FieldDetails:
    return {"subfields": describe_field_60(value)}


def _d61(value: str, _: Message, __: bool) -> FieldDetails:
    parsed = parse_field_61(value)
    names = (
        "61.1 original batch",
        "61.2 original trace",
        "61.3 original date",
        "61.4 original authorisation mode",
        "61.5 original authorising institution",
    )
    values = (
        parsed.orig_batch,
        parsed.orig_trace,
        parsed.orig_date,
        parsed.orig_auth_mode,
        parsed.orig_auth_institution,
    )
    return {
        "subfields": [
            {"id": name[:4], "name": name[5:], "value": piece}
            for name, piece in zip(names, values, strict=True)
            if piece is not None
        ]
    }


def _d63(value: str, _: Message, __: bool) -> FieldDetails:
    subfields: list[SubfieldView] = [{"id": "63.1", "value": value[:3]}]
    if value[3:]:
        subfields.append({"id": "63.2", "value": value[3:]})
    return {"subfields": subfields}


def _d64(value: str, _: Message, __: bool) -> FieldDetails:
    return _text_of(bytes.fromhex(value))


def _text_of(data: bytes) -> FieldDetails:
    if data and all(0x20 <= b < 0x7F for b in data):
        return {"text": data.decode("ascii")}
    return {}


def _d62(value: str, message: Message, reveal: bool) -> FieldDetails:
    data = bytes.fromhex(value)
    network_code = (message.get("60") or "")[8:11]
    if is_key_block(message):
        return {"sign_on_keys": _sign_on_keys(f62.parse_sign_on_keys(data, network_code), reveal)}
    if message.mti in ("0830", "0810") and network_code in QUERY_CODES | DOWNLOAD_CODES:
        if network_code in QUERY_CODES:
            status, records = f62.parse_query_response(data)
        else:
            status, record = f62.parse_download_response(data)
            records = [record] if record else []
        return {"status": status, "records": [_name_record(describe_tlv(r)) for r in records]}
    return _text_of(data)


def _sign_on_keys(keys: f62.SignOnKeys, reveal: bool) -> SignOnKeysView:
    def shown(key: bytes) -> str:
        return key.hex().upper() if reveal else f"<{len(key)} bytes>"

    view: SignOnKeysView = {
        "pik": shown(keys.pik),
        "pik_cv": keys.pik_cv.hex().upper(),
        "mak": shown(keys.mak),
        "mak_cv": keys.mak_cv.hex().upper(),
    }
    if keys.tdk is not None and keys.tdk_cv is not None:
        view["tdk"], view["tdk_cv"] = shown(keys.tdk), keys.tdk_cv.hex().upper()
    view["mak_single_length"] = keys.mak_single_length
    return view


def _name_record(entries: TlvTree) -> TlvTree:
    """Names for the download-record tags the EMV dictionary does not know (DF05, DF02...)."""
    for entry in entries:
        name = f62.DOWNLOAD_TAG_NAMES.get(entry["tag"])
        if name and entry["name"] == "Unknown tag":
            entry["name"] = name
            entry.update(_text_of(bytes.fromhex(entry.get("value", ""))))
        _name_record(entry.get("children", []))
    return entries


_DETAILS: dict[str, Callable[[str, Message, bool], FieldDetails]] = {
    "22": _d22,
    "25": _d25,
    "39": _d39,
    "53": _d53,
    "55": _d55,
    "60": _d60,
    "61": _d61,
    "62": _d62,
    "63": _d63,
    "64": _d64,
}


# ------------------------------------------------------------------------------------ back


def _value_of(number: str, entry: object) -> str:
    if isinstance(entry, Mapping):
        entry = entry.get("value")
    if not isinstance(entry, str):
        raise UsageError(f"field {number}: the value must be a string", argument="JSON")
    return entry


def _hex_part(data: Mapping[str, object], key: str) -> str | None:
    part = data.get(key)
    if isinstance(part, Mapping):
        part = part.get("hex")
    if part is not None and not isinstance(part, str):
        raise UsageError(f"{key} must be hex text or an object with 'hex'", argument="JSON")
    return part


def message_of_description(data: Mapping[str, object]) -> Message:
    """The :class:`Message` a description stands for (values must not be masked)."""
    masked = data.get("masked_fields")
    if masked:
        numbers = masked if isinstance(masked, list) else [masked]
        raise UsageError(
            f"fields {', '.join(map(str, numbers))} are masked: decode with --reveal",
            argument="JSON",
        )
    mti = data.get("mti")
    fields = data.get("fields", {})
    pads = data.get("pads", {})
    if not isinstance(mti, str) or not isinstance(fields, Mapping) or not isinstance(pads, Mapping):
        raise UsageError(
            "needs 'mti' (text), 'fields' and optional 'pads' (objects)", argument="JSON"
        )
    values = {str(number): _value_of(str(number), entry) for number, entry in fields.items()}
    return Message(mti, values, {str(k): str(v) for k, v in pads.items()})


def encode_description(
    data: Mapping[str, object], *, sign: Callable[[Message, str], bytes] | None = None
) -> bytes:
    """The bytes a description stands for (``form`` decides: frame, no-length or bare).

    ``sign(message, profile_name)`` replaces plain encoding when given (to compute a MAC).
    """
    form = data.get("form", "frame" if "tpdu" in data else "bare")
    if form not in FORMS:
        raise UsageError(f"form must be one of {', '.join(FORMS)}", argument="JSON")
    name = data.get("profile")
    if name is not None and not isinstance(name, str):
        raise UsageError("profile must be the name of a profile", argument="JSON")
    profile = get_profile(name)
    message = message_of_description(data)
    body = sign(message, profile.name) if sign else encode(message, profile)
    if form == "bare":
        return body
    tpdu_hex, header_hex = _hex_part(data, "tpdu"), _hex_part(data, "header")
    if tpdu_hex is None or header_hex is None:
        raise UsageError(f"a {form} needs 'tpdu' and 'header'", argument="JSON")
    framed = build_frame(Tpdu(tpdu_hex), Header(header_hex), body)
    return framed if form == "frame" else framed[2:]
