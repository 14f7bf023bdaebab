"""The typed records of a described frame: what ``zhifu iso8583 decode --json`` prints.

:func:`zhifu.iso8583.describe.describe_frame` returns a :class:`FrameView`; every key is
named here with the kind of its value, so that the CLI and other readers see the shape in
their types instead of digging in a ``dict``. The JSON is the records as they are (they are
dicts), keys in the order they are built.

>>> subfield: SubfieldView = {"id": "22.1", "value": "05", "meaning": "IC card"}
>>> field: FieldView = {"name": "22 POS entry mode", "value": "051", "subfields": [subfield]}
>>> field["subfields"][0]["meaning"]
'IC card'
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypeAlias, TypedDict

__all__ = [
    "FieldDetails",
    "FieldView",
    "Form",
    "FrameView",
    "FramingView",
    "HeaderView",
    "MessageView",
    "SignOnKeysView",
    "SubfieldView",
    "TlvTree",
    "TpduView",
]

Form = Literal["frame", "no-length", "bare"]
"""A whole frame, a frame without its length prefix, or a bare message (MTI onwards)."""

TlvTree: TypeAlias = list[dict[str, Any]]
"""A BER-TLV tag tree as :func:`zhifu.codec.tlv.describe` gives it (the codec owns its shape)."""


class SubfieldView(TypedDict):
    """One sub-field of 22, 53, 60, 61 or 63: its id, value, and name or meaning when known."""

    id: str
    value: str
    name: NotRequired[str]
    meaning: NotRequired[str]


class SignOnKeysView(TypedDict, total=False):
    """Field 62 of a sign-on answer: the keys (hex, or their size unless revealed) and CVs."""

    pik: str
    pik_cv: str
    mak: str
    mak_cv: str
    tdk: str
    tdk_cv: str
    mak_single_length: bool


class FieldDetails(TypedDict, total=False):
    """What a field's decoder adds to its name and value (each field has its own few keys)."""

    subfields: list[SubfieldView]
    meaning: str
    action: str
    tlv: TlvTree
    text: str
    status: str
    records: list[TlvTree]
    sign_on_keys: SignOnKeysView
    detail_error: str


class FieldView(FieldDetails, total=False):
    """One field: its dictionary name, its value (redacted unless revealed) and details."""

    name: Required[str]
    value: Required[str]


class TpduView(TypedDict):
    """The TPDU of a frame."""

    hex: str
    id: str
    destination: str
    source: str


class HeaderView(TypedDict):
    """The UnionPay message header of a frame."""

    hex: str
    application_type: str
    version: str
    terminal_status: str
    processing_requirement: str
    processing_requirement_meaning: str
    software_version: str


class FramingView(TypedDict, total=False):
    """What a frame has around the message (nothing for a bare message)."""

    length: int
    tpdu: TpduView
    header: HeaderView


class MessageView(TypedDict):
    """A message: MTI, bitmap, fields by number; pad nibbles and masked fields when any."""

    mti: str
    mti_name: str
    bitmap: str
    fields: dict[str, FieldView]
    pads: NotRequired[dict[str, str]]
    masked_fields: NotRequired[list[str]]


class FrameView(FramingView, MessageView):
    """A described frame: its form and profile, the framing, then the message."""

    form: Form
    profile: str
