"""Does a card say what the EMV/PBOC data dictionary says it should? A check a terminal
would otherwise make for us, the hard way (python-emv's ``emvtool info`` stopped on a
country code one byte short).

:func:`check_card` looks at everything a terminal reads from a card image:

* every primitive data element of the PSE and PPSE FCIs, the PSE directory records, each
  application's FCIs and records, its GET DATA answers and its GET PROCESSING OPTIONS
  answers (contact DC and EC paths, contactless qPBOC, with 3DES and with SM when the card
  holds SM4 keys) must have the format (``b``, ``n``, ``cn``, ``a``, ``an``, ``ans``) and a
  length the dictionary (:mod:`zhifu.codec.tags`) gives its tag; a Track 2 equivalent (57)
  must parse as one; tags the dictionary does not know are left alone (proprietary);
* the cardholder data must agree wherever it shows: the PAN of 57 and 5A, the expiry date
  (YYMM) of 57 and 5F24, the service code of 57 and 5F30, on every interface.

Findings name the place and the tag, never the value (PANs, expiry dates and track data are
not printed). The card image is not changed (the GPOs run on a copy).

>>> from zhifu.card.issuing import reference_image
>>> check_card(reference_image())
[]
>>> element_problem(0x5F28, bytes.fromhex("56"))
'length 1, the dictionary gives 2'
>>> element_problem(0x9F02, bytes.fromhex("00000000100A"))
'format n: not BCD digits'
>>> str(Finding("record 3.2", "5F28", "length 1, the dictionary gives 2"))
'record 3.2: 5F28 length 1, the dictionary gives 2'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from zhifu.card.apdu import CommandApdu, ResponseApdu
from zhifu.card.icc.emulated import EmulatedCard, Interface
from zhifu.card.image.model import Application, CardImage
from zhifu.card.scripted import terminal_values
from zhifu.codec import tags, tlv
from zhifu.codec.tracks import TrackError, track2_equivalent_decode
from zhifu.core.errors import DecodeError

__all__ = ["Finding", "check_card", "check_elements", "element_problem"]

_ALPHA = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ALNUM = _ALPHA | frozenset(b"0123456789")
_PRINTABLE = frozenset(range(0x20, 0x7F))
# The application preferred name is coded in the code table that 9F11 names (ISO/IEC 8859).
_CODE_TABLE_TAGS = frozenset({0x9F12})
_LATIN = _PRINTABLE | frozenset(range(0xA0, 0x100))
_DYNAMIC_GET_DATA = (0x9F36, 0x9F13, 0x9F17, 0x9F79)


class Finding(NamedTuple):
    """One place where the card departs from the dictionary or contradicts itself."""

    where: str
    tag: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.tag} {self.problem}"


def _format_problem(info: tags.TagInfo, value: bytes) -> str | None:
    digits = value.hex().upper()
    if info.fmt == "n" and not digits.isdigit():
        return "format n: not BCD digits"
    if info.fmt == "cn" and not digits.rstrip("F").isdigit() and digits.rstrip("F"):
        return "format cn: not BCD digits padded with F"
    allowed = {
        "a": _ALPHA,
        "an": _ALNUM,
        "ans": _LATIN if info.tag in _CODE_TABLE_TAGS else _PRINTABLE,
    }.get(info.fmt)
    if allowed is not None and not set(value) <= allowed:
        return f"format {info.fmt}: characters outside the set"
    return None


def element_problem(tag: int, value: bytes) -> str | None:
    """What is wrong with one data element by the dictionary, or None (also for unknown tags)."""
    info = tags.lookup(tag)
    if info is None:
        return None
    if not info.min_len <= len(value) <= info.max_len:
        wanted = (
            str(info.min_len)
            if info.min_len == info.max_len
            else f"{info.min_len} to {info.max_len}"
        )
        return f"length {len(value)}, the dictionary gives {wanted}"
    if info.constructed:
        return None
    problem = _format_problem(info, value)
    if problem is None and tag == 0x57:
        try:
            track2_equivalent_decode(value)
        except TrackError as exc:
            problem = f"not a Track 2 equivalent ({exc.reason}, field {exc.field})"
    return problem


def check_elements(items: Iterable[tlv.Tlv], where: str) -> list[Finding]:
    """:func:`element_problem` over a TLV tree (templates and what they hold)."""
    found = []
    for item in items:
        problem = element_problem(item.tag, item.value)
        if problem is not None:
            found.append(Finding(where, item.tag_hex, problem))
        found += check_elements(item.children, where)
    return found


def _check_bytes(data: bytes, where: str) -> list[Finding]:
    try:
        items = tlv.decode(data)
    except DecodeError as exc:
        return [Finding(where, "-", f"not BER-TLV ({exc.reason})")]
    return check_elements(items, where)


# ------------------------------------------------------------------------------ the card


def _directory_parts(image: CardImage) -> Iterator[tuple[str, bytes]]:
    if image.pse_fci is not None:
        yield "PSE FCI", image.pse_fci
    for number, record in sorted(image.pse_records.items()):
        yield f"PSE record {number}", record
    if image.ppse_fci is not None:
        yield "PPSE FCI", image.ppse_fci


def _application_parts(image: CardImage, app: Application) -> Iterator[tuple[str, bytes]]:
    """FCIs, records, GET DATA and GPO answers, records first (the reference for agreement)."""
    aid = app.aid.hex().upper()
    for (sfi, number), record in sorted(app.records.items()):
        yield f"{aid} record {sfi}.{number}", record
    for interface, fci in app.fci.items():
        yield f"{aid} {interface} FCI", fci
    yield from _get_data_answers(image, app)
    yield from _gpo_answers(image, app)


def _session(image: CardImage, app: Application, interface: Interface) -> EmulatedCard | None:
    """A fresh copy of the card on ``interface`` with ``app`` selected (None: it does not
    answer SELECT there)."""
    card = EmulatedCard(CardImage.from_json(image.to_json()), interface=interface)
    card.power_on()
    answer = ResponseApdu.decode(card.transmit(CommandApdu(0, 0xA4, 4, 0, app.aid, 256).encode()))
    return card if answer.ok else None


def _gpo(card: EmulatedCard, fci: bytes, *, sm: bool, ec: bool) -> bytes | None:
    pdol = tlv.find(tlv.decode(fci), 0x9F38)
    data = tlv.build_dol_data(pdol.value if pdol else b"", terminal_values(0, sm=sm, ec=ec))
    command = CommandApdu(0x80, 0xA8, 0, 0, tlv.Tlv(0x83, data).encode(), 256)
    answer = ResponseApdu.decode(card.transmit(command.encode()))
    return answer.data if answer.ok else None


def _gpo_answers(image: CardImage, app: Application) -> Iterator[tuple[str, bytes]]:
    aid = app.aid.hex().upper()
    families = (False, True) if "sm4" in app.keys else (False,)
    runs = [("contact", "dc", False), ("contact", "ec", True), ("contactless", "qpboc", False)]
    for interface, path, ec in runs:
        fci = app.fci.get(interface)
        if path not in app.paths or fci is None:
            continue
        for sm in families:
            card = _session(image, app, "contact" if interface == "contact" else "contactless")
            answer = None if card is None else _gpo(card, fci, sm=sm, ec=ec)
            if answer is not None:
                yield f"{aid} GPO {path} ({interface}{', SM' if sm else ''})", answer


def _get_data_answers(image: CardImage, app: Application) -> Iterator[tuple[str, bytes]]:
    card = _session(image, app, "auto")
    if card is None:
        return
    aid = app.aid.hex().upper()
    for tag in sorted(set(app.data) | set(_DYNAMIC_GET_DATA)):
        command = CommandApdu(0x80, 0xCA, tag >> 8, tag & 0xFF, le=256)
        answer = ResponseApdu.decode(card.transmit(command.encode()))
        if answer.ok:
            yield f"{aid} GET DATA {tlv.tag_hex(tag)}", answer.data


_AGREEING = ("PAN", "expiry date", "service code")  # cardholder data that must agree


def _cardholder_data(where: str, data: bytes) -> list[tuple[str, str, str]]:
    """(what, where ‖ tag, value) for each PAN, expiry (YYMM) and service code in ``data``."""
    try:
        found = tlv.to_dict(tlv.decode(data))
    except DecodeError:
        return []
    seen = []
    if "5A" in found:
        seen.append(("PAN", f"{where} 5A", found["5A"].hex().upper().rstrip("F")))
    if "5F24" in found:
        seen.append(("expiry date", f"{where} 5F24", found["5F24"].hex()[:4]))
    if "5F30" in found:
        seen.append(("service code", f"{where} 5F30", found["5F30"].hex()[1:]))
    if "57" in found:
        try:
            track = track2_equivalent_decode(found["57"])
        except TrackError:  # reported by the format check
            return seen
        values = (track.pan, track.expiry, track.service_code)
        for what, value in zip(_AGREEING, values, strict=True):
            if value is not None:
                seen.append((what, f"{where} 57", value))
    return seen


def _agreement(seen: list[tuple[str, str, str]]) -> list[Finding]:
    """Each PAN, expiry date and service code against the first of its kind seen."""
    found = []
    for what in _AGREEING:
        values = [(where, value) for kind, where, value in seen if kind == what]
        for where, value in values[1:]:
            if value != values[0][1]:
                place, _, element = where.rpartition(" ")
                found.append(Finding(place, element, f"{what} differs from {values[0][0]}"))
    return found


def check_card(image: CardImage) -> list[Finding]:
    """Every finding on the card (module docstring); an empty list for a conforming card."""
    found: list[Finding] = []
    for where, data in _directory_parts(image):
        found += _check_bytes(data, where)
    for app in image.applications:
        seen = []
        for where, data in _application_parts(image, app):
            found += _check_bytes(data, where)
            seen += _cardholder_data(where, data)
        found += _agreement(seen)
    return found
