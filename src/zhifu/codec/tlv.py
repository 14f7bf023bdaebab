"""BER-TLV as EMV uses it (EMV 4.3 Book 3 Annex B) and data object lists (Book 3 5.4).

Tags are 1 to 4 bytes, lengths 1 to 5 bytes (``81``..``84`` long forms), constructed
objects (bit 6 of the first tag byte) hold more TLV objects, and ``00``/``FF`` bytes between
objects are padding. Decoding is bounded: nesting deeper than ``max_depth`` or any truncated
or oversize field raises :class:`~zhifu.core.errors.DecodeError` naming the tag and the
absolute byte offset, never the bytes themselves. A profile that allows less (shorter tags or
length fields, ``00`` as the only padding, as EMVCo's consumer-presented QR reader does) says so
with the keywords of :func:`decode`. Decoded objects know their ``offset``; a ``repr`` masks
the PAN, track 2 and cardholder data the way :func:`render_tree` does.

>>> fci = decode(bytes.fromhex("6F10840E325041592E5359532E4444463031"))
>>> fci[0].tag_hex, fci[0].constructed, fci[0].find(0x84).value, fci[0].children[0].offset
('6F', True, b'2PAY.SYS.DDF01', 2)
>>> encode(fci).hex().upper()
'6F10840E325041592E5359532E4444463031'
>>> record = tlv("70", [tlv("5A", bytes.fromhex("6228000100001117"))])
>>> record.encode().hex().upper()
'700A5A086228000100001117'
>>> record
Tlv(70, [Tlv(5A [8] 622800******1117)])
>>> print(render_tree(fci))
6F File Control Information (FCI) Template
  84 Dedicated File (DF) Name [14] 325041592E5359532E4444463031
>>> parse_dol(bytes.fromhex("9F02069F1A02"))
[(40706, 6), (40730, 2)]
>>> build_dol_data(bytes.fromhex("9F0206"), {0x9F02: bytes.fromhex("1234")}).hex()
'000000001234'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from zhifu.codec.pan import mask_pan
from zhifu.codec.tags import SENSITIVE_TAGS, lookup, name_of, tag_hex, tag_size
from zhifu.core.errors import DecodeError, UsageError

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH_BYTES",
    "MAX_TAG_BYTES",
    "Tlv",
    "build_dol_data",
    "decode",
    "describe",
    "encode",
    "encode_length",
    "encode_tag",
    "find",
    "parse_dol",
    "render_tree",
    "split_dol_data",
    "tag_hex",
    "tlv",
    "to_dict",
]

MAX_DEPTH = 16
MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4  # after the first byte of a long-form length (``84`` + 4 bytes)


class _Rules(NamedTuple):
    """What one :func:`decode` call accepts."""

    max_depth: int
    max_tag_bytes: int
    max_length_bytes: int
    padding: bytes  # the bytes skipped between objects


def _tag_problem(tag: int) -> str | None:
    """Why ``tag`` is not a well-formed BER tag of 1 to 4 bytes, or None."""
    if tag <= 0 or tag > 0xFFFFFFFF:
        return "must be a BER tag of 1 to 4 bytes"
    raw = tag.to_bytes(tag_size(tag), "big")
    if raw[0] & 0x1F != 0x1F:
        return None if len(raw) == 1 else "a one-byte tag cannot have subsequent bytes"
    if len(raw) == 1:
        return "a tag ending in 1F needs subsequent bytes"
    if any(b & 0x80 == 0 for b in raw[1:-1]) or raw[-1] & 0x80:
        return "subsequent tag bytes must have bit 8 set except the last"
    return None


def encode_tag(tag: int) -> bytes:
    """The bytes of ``tag``: ``encode_tag(0x9F02) == b'\\x9f\\x02'``."""
    problem = _tag_problem(tag)
    if problem:
        raise UsageError(problem, argument="tag")
    return tag.to_bytes(tag_size(tag), "big")


def _parse_tag(tag: int | str) -> int:
    if isinstance(tag, str):
        try:
            return int.from_bytes(bytes.fromhex(tag), "big")
        except ValueError:
            raise UsageError("must be hex text or an int", argument="tag") from None
    return tag


def encode_length(n: int) -> bytes:
    """The BER length field of ``n`` (short form below 128, else ``81``..``84`` + n)."""
    if n < 0 or n > 0xFFFFFFFF:
        raise UsageError("must be 0 to 2**32 - 1", argument="length")
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


# ------------------------------------------------------------------------------------ objects


@dataclass(frozen=True, repr=False)
class Tlv:
    """One BER-TLV data object.

    A primitive object has ``value``. A constructed object has ``children``; its ``value`` is
    the content bytes (as received when decoded, else the encoding of ``children``).
    ``offset`` is where the tag starts in the decoded input (``offset_base`` included), None
    for an object built here; it takes no part in equality.
    """

    tag: int
    value: bytes = b""
    children: tuple[Tlv, ...] = field(default=())
    offset: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        problem = _tag_problem(self.tag)
        if problem:
            raise UsageError(problem, argument="tag")
        if self.children and not self.constructed:
            raise UsageError("a primitive tag cannot have children", argument="children")
        if self.children and not self.value:
            object.__setattr__(self, "value", encode(self.children))

    @property
    def constructed(self) -> bool:
        """Bit 6 of the first tag byte."""
        return bool(self.tag.to_bytes(tag_size(self.tag), "big")[0] & 0x20)

    @property
    def tag_hex(self) -> str:
        """Upper-case hex of the tag bytes, e.g. ``'9F02'``."""
        return tag_hex(self.tag)

    @property
    def name(self) -> str:
        """The EMV/PBOC name of the tag (from :mod:`zhifu.codec.tags`)."""
        return name_of(self.tag)

    def find(self, tag: int | str) -> Tlv | None:
        """This object or the first descendant (depth-first) with ``tag``."""
        return find([self], tag)

    def find_all(self, tag: int | str) -> list[Tlv]:
        """Every object with ``tag`` in this tree, depth-first."""
        wanted = _parse_tag(tag)
        return [item for item in _walk([self]) if item.tag == wanted]

    def encode(self) -> bytes:
        """Tag, length and value bytes."""
        return encode_tag(self.tag) + encode_length(len(self.value)) + self.value

    def __repr__(self) -> str:
        if self.children:
            return f"Tlv({self.tag_hex}, [{', '.join(map(repr, self.children))}])"
        shown = f"{self.tag_hex} [{len(self.value)}] {_shown_value(self, False)}"
        return f"Tlv({shown.rstrip()})"


def tlv(tag: int | str, value: bytes | Iterable[Tlv] = b"") -> Tlv:
    """Build a primitive object (``value`` bytes) or a constructed one (``value`` objects).

    Bytes given for a constructed tag are decoded into children.
    """
    number = _parse_tag(tag)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        children = tuple(decode(data)) if Tlv(number).constructed else ()
        return Tlv(number, data, children)
    return Tlv(number, children=tuple(value))


def encode(items: Iterable[Tlv]) -> bytes:
    """The concatenated encodings of ``items``."""
    return b"".join(item.encode() for item in items)


def _walk(items: Iterable[Tlv]) -> Iterable[Tlv]:
    stack = list(reversed(list(items)))
    while stack:
        item = stack.pop()
        yield item
        stack.extend(reversed(item.children))


def find(items: Iterable[Tlv], tag: int | str) -> Tlv | None:
    """The first object with ``tag`` in ``items`` and their descendants, depth-first."""
    wanted = _parse_tag(tag)
    return next((item for item in _walk(items) if item.tag == wanted), None)


def to_dict(items: Iterable[Tlv]) -> dict[str, bytes]:
    """Primitive values by tag hex, depth-first; the first occurrence of a tag wins."""
    result: dict[str, bytes] = {}
    for item in _walk(items):
        if not item.constructed:
            result.setdefault(item.tag_hex, item.value)
    return result


# ------------------------------------------------------------------------------------ decode


def _read_tag(data: bytes, pos: int, base: int, most: int = MAX_TAG_BYTES) -> tuple[int, int]:
    start = pos
    if data[pos] & 0x1F == 0x1F:
        while True:
            pos += 1
            if pos >= len(data):
                raise DecodeError("truncated tag", field="tag", offset=base + start)
            if pos - start >= most:
                raise DecodeError(f"tag longer than {most} bytes", field="tag", offset=base + start)
            if not data[pos] & 0x80:
                break
    pos += 1
    return int.from_bytes(data[start:pos], "big"), pos


def _read_length(data: bytes, pos: int, base: int, where: str, most: int) -> tuple[int, int]:
    if pos >= len(data):
        raise DecodeError("missing length", field=where, offset=base + pos)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size == 0:
        raise DecodeError("indefinite length is not allowed", field=where, offset=base + pos)
    if size > most:
        raise DecodeError(
            f"length field of {size + 1} bytes (at most {most + 1})", field=where, offset=base + pos
        )
    if pos + 1 + size > len(data):
        raise DecodeError("truncated length", field=where, offset=base + pos)
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


def _decode_level(data: bytes, base: int, depth: int, rules: _Rules) -> list[Tlv]:
    items: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if data[pos] in rules.padding:
            pos += 1
            continue
        start = pos
        tag, pos = _read_tag(data, pos, base, rules.max_tag_bytes)
        where = tag_hex(tag)
        length, pos = _read_length(data, pos, base, where, rules.max_length_bytes)
        if length > len(data) - pos:
            raise DecodeError(
                f"length {length} runs past the data ({len(data) - pos} left)",
                field=where,
                offset=base + start,
            )
        value = data[pos : pos + length]
        children: tuple[Tlv, ...] = ()
        if data[start] & 0x20 and value:
            if depth >= rules.max_depth:
                raise DecodeError(
                    f"nested deeper than {rules.max_depth} levels", field=where, offset=base + start
                )
            children = tuple(_decode_level(value, base + pos, depth + 1, rules))
        items.append(Tlv(tag, value, children, base + start))
        pos += length
    return items


def decode(
    data: bytes,
    *,
    max_depth: int = MAX_DEPTH,
    offset_base: int = 0,
    max_tag_bytes: int = MAX_TAG_BYTES,
    max_length_bytes: int = MAX_LENGTH_BYTES,
    ff_padding: bool = True,
) -> list[Tlv]:
    """Decode the BER-TLV objects of ``data`` (constructed ones recursively, ``max_depth`` deep).

    ``offset_base`` is added to every offset (that of ``data`` in a larger input). A stricter
    profile may allow tags of fewer bytes (``max_tag_bytes``, 1 to 4), length fields of fewer
    bytes after the first (``max_length_bytes``, 0 to 4: ``82`` + 2 bytes is 2) and take ``FF``
    for a tag instead of padding (``ff_padding=False``; ``00`` is always padding).

    >>> decode(bytes.fromhex("9F0206"))
    Traceback (most recent call last):
    ...
    zhifu.core.errors.DecodeError: field 9F02 at offset 0: length 6 runs past the data (0 left)
    >>> decode(bytes.fromhex("5A83000001FF"), max_length_bytes=2)
    Traceback (most recent call last):
    ...
    zhifu.core.errors.DecodeError: field 5A at offset 1: length field of 4 bytes (at most 3)
    """
    if not 1 <= max_depth <= 64:
        raise UsageError("must be 1 to 64", argument="max_depth")
    if not 1 <= max_tag_bytes <= MAX_TAG_BYTES:
        raise UsageError(f"must be 1 to {MAX_TAG_BYTES}", argument="max_tag_bytes")
    if not 0 <= max_length_bytes <= MAX_LENGTH_BYTES:
        raise UsageError(f"must be 0 to {MAX_LENGTH_BYTES}", argument="max_length_bytes")
    padding = b"\x00\xff" if ff_padding else b"\x00"
    rules = _Rules(max_depth, max_tag_bytes, max_length_bytes, padding)
    return _decode_level(bytes(data), offset_base, 1, rules)


# ------------------------------------------------------------------------------------ DOL


def parse_dol(dol: bytes) -> list[tuple[int, int]]:
    """The (tag, length) entries of a data object list (EMV Book 3 5.4, one-byte lengths)."""
    entries: list[tuple[int, int]] = []
    data = bytes(dol)
    pos = 0
    while pos < len(data):
        tag, pos = _read_tag(data, pos, 0)
        if pos >= len(data):
            raise DecodeError("missing length", field=tag_hex(tag), offset=pos)
        entries.append((tag, data[pos]))
        pos += 1
    return entries


def _fit(tag: int, value: bytes, length: int) -> bytes:
    """EMV Book 3 5.4: truncate or pad ``value`` to ``length`` by the tag's format."""
    info = lookup(tag)
    fmt = info.fmt if info else "b"
    if info and info.constructed:
        return bytes(length)
    if len(value) >= length:
        return value[len(value) - length :] if fmt == "n" else value[:length]
    fill = length - len(value)
    if fmt == "n":
        return bytes(fill) + value
    return value + (b"\xff" * fill if fmt == "cn" else bytes(fill))


def build_dol_data(dol: bytes, values: Mapping[int, bytes]) -> bytes:
    """The data a DOL asks for, in DOL order; missing or constructed objects become zeros.

    A numeric (``n``) value is truncated or zero-padded on the left, a ``cn`` value is padded
    with ``F`` on the right, any other value is truncated or zero-padded on the right.

    >>> build_dol_data(bytes.fromhex("5A0A9F3704"), {0x5A: bytes.fromhex("6228")}).hex()
    '6228ffffffffffffffff00000000'
    """
    return b"".join(
        _fit(tag, bytes(values[tag]), length) if tag in values else bytes(length)
        for tag, length in parse_dol(dol)
    )


def split_dol_data(dol: bytes, data: bytes) -> dict[int, bytes]:
    """Cut DOL-related ``data`` (as a card receives it) into values by tag.

    >>> split_dol_data(bytes.fromhex("9F1A025F2A02"), bytes.fromhex("01560156"))[0x5F2A].hex()
    '0156'
    """
    entries = parse_dol(dol)
    needed = sum(length for _, length in entries)
    if len(data) != needed:
        raise DecodeError(
            f"DOL data is {len(data)} bytes, the DOL asks for {needed}",
            field="dol data",
            offset=min(len(data), needed),
        )
    result: dict[int, bytes] = {}
    pos = 0
    for tag, length in entries:
        result.setdefault(tag, bytes(data[pos : pos + length]))
        pos += length
    return result


# ------------------------------------------------------------------------------------ printing


def _shown_value(item: Tlv, reveal: bool) -> str:
    text = item.value.hex().upper()
    kind = SENSITIVE_TAGS.get(item.tag)
    if reveal or kind is None:
        return text
    if kind == "track2_if_separator" and "D" not in text:
        return text
    if kind == "secret":
        return "*" * len(text)
    head, sep, tail = text.partition("D")
    digits = head.rstrip("F")
    return mask_pan(digits) + "*" * (len(head) - len(digits)) + sep + "*" * len(tail)


def _text_of(item: Tlv) -> str | None:
    info = lookup(item.tag)
    if info is None or info.fmt not in ("a", "an", "ans") or item.tag in SENSITIVE_TAGS:
        return None
    if not all(0x20 <= b < 0x7F for b in item.value):
        return None
    return item.value.decode("ascii")


def describe(items: Iterable[Tlv], *, reveal: bool = False) -> list[dict[str, Any]]:
    """A JSON-ready tree: tag, name, length and either children or value (masked by default)."""
    result: list[dict[str, Any]] = []
    for item in items:
        entry: dict[str, Any] = {"tag": item.tag_hex, "name": item.name, "length": len(item.value)}
        if item.children:
            entry["children"] = describe(item.children, reveal=reveal)
        else:
            entry["value"] = _shown_value(item, reveal)
            text = _text_of(item)
            if text is not None:
                entry["text"] = text
        result.append(entry)
    return result


def render_tree(items: Iterable[Tlv], *, reveal: bool = False, indent: int = 2) -> str:
    """An indented tree with tag names; PAN, track 2 and name values are masked by default."""
    lines: list[str] = []

    def add(entries: list[dict[str, Any]], level: int) -> None:
        for entry in entries:
            pad = " " * (indent * level)
            if "children" in entry:
                lines.append(f"{pad}{entry['tag']} {entry['name']}")
                add(entry["children"], level + 1)
                continue
            line = f"{pad}{entry['tag']} {entry['name']} [{entry['length']}] {entry['value']}"
            if "text" in entry:
                line += f' "{entry["text"]}"'
            lines.append(line.rstrip())

    add(describe(items, reveal=reveal), 0)
    return "\n".join(lines)
