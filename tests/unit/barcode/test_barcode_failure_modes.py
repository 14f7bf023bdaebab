"""docs/standards/barcode.md §7 "Cross-cutting failure modes to design against", one test (or a
small table)
per mode: the lenient parser reports each as its deviation and still decodes what it can."""

from __future__ import annotations

import pytest

from zhifu.barcode.codes.emvqr.mpm import DeviationCode, Severity, build_mpm, crc_text, parse_mpm
from zhifu.barcode.codes.emvqr.parse import ParseResult

D = DeviationCode


def with_crc(body: str) -> str:
    """``body`` + 6304 + the right CRC (as a conforming generator would finish it)."""
    head = body + "6304"
    return head + crc_text(head.encode("utf-8"))


def codes(result: ParseResult) -> list[str]:
    return [d.code.value for d in result.deviations]


def tlv(data_id: str, value: str) -> str:
    return f"{data_id}{len(value):02d}{value}"


BASE = (  # M5 without its CRC: a valid body to vary
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***"
)


# 1. Case of the CRC (M22): emit upper case, compare case-insensitively.
def test_mode1_lower_case_crc_is_accepted_with_a_warning(m5: str) -> None:
    result = parse_mpm(m5[:-4] + m5[-4:].lower())
    assert result.valid and codes(result) == ["CRC_LOWER_CASE"]
    assert result.deviations[0].severity is Severity.WARNING
    assert build_mpm(result.as_fields())[-4:] == "1D3D"


# 2. Zero-padding (M23, 00D7): always 4 hex digits.
def _payload_with_small_crc() -> str:
    for i in range(10_000):
        fields = parse_mpm(with_crc(BASE)).as_fields()
        fields["62"] = {"05": f"R{i}"}
        payload = build_mpm(fields)
        if payload[-4:].startswith("00"):
            return payload
    raise AssertionError("no CRC with leading zeros found")


def test_mode2_crc_with_leading_zeros_is_written_and_read_as_four_digits() -> None:
    payload = _payload_with_small_crc()
    assert payload[-8:-4] == "6304" and len(payload[-4:]) == 4
    assert parse_mpm(payload).valid


@pytest.mark.parametrize("length", ["04", "02"])
def test_mode2_unpadded_crc_is_reported(length: str) -> None:
    payload = _payload_with_small_crc()
    short = format(int(payload[-4:], 16), "X")  # e.g. 'D7' for 00D7
    result = parse_mpm(payload[:-6] + length + short)
    assert "CRC_NOT_ZERO_PADDED" in codes(result) and "CRC_MISMATCH" not in codes(result)
    assert result.value("62.05") is not None  # still decoded


# 3. Wrong CRC variant or data: XMODEM E0D2, GBK B333, UTF-16 low bytes C919 for M1.
@pytest.mark.parametrize(
    ("crc", "code"),
    [
        ("E0D2", D.CRC_XMODEM),
        ("B333", D.CRC_GBK),
        ("C919", D.CRC_UTF16_LOW_BYTE),
    ],
)
def test_mode3_wrong_crc_variant_is_named(m1: str, crc: str, code: DeviationCode) -> None:
    result = parse_mpm(m1[:-4] + crc)
    assert codes(result) == [code.value] and not result.valid
    assert result.value("64.01") == "最佳运输"


def test_mode3_crc_without_its_own_header(m1: str) -> None:
    result = parse_mpm(m1[:-4] + crc_text(m1[:-8].encode("utf-8")))
    assert codes(result) == ["CRC_WITHOUT_HEADER"]


# 4. Characters vs bytes: lengths count code points; slice text, not bytes.
def test_mode4_lengths_in_utf8_bytes_are_recognised() -> None:
    lang = tlv("00", "ZH") + "0112最佳运输" + "0206北京"  # byte-counted 01 and 02
    body = BASE + f"64{len(lang.encode()):02d}" + lang
    result = parse_mpm(with_crc(body))
    assert codes(result) == ["LENGTH_IN_UTF8_BYTES"] * 3
    assert (result.value("64.01"), result.value("64.02")) == ("最佳运输", "北京")
    assert result.value("63") is not None and not result.valid


def test_mode4_lengths_in_utf16_units_are_recognised() -> None:
    name = "𠀀面馆"  # 3 characters, 4 UTF-16 units (U+20000 is a surrogate pair)
    lang = tlv("00", "ZH") + "0104" + name
    body = BASE + f"64{len(lang) + 1:02d}" + lang
    result = parse_mpm(with_crc(body))
    assert codes(result) == ["LENGTH_IN_UTF16_UNITS"] * 2
    assert result.value("64.01") == name


def test_mode4_character_lengths_are_the_conforming_reading(m1: str) -> None:
    obj = parse_mpm(m1).find("64.02")
    assert obj is not None and (obj.length, obj.value) == (2, "北京")


# 5. Primitive vs template: 02-25 primitive; 26-51, 62, 64, 80-99 templates not starting at 00.
@pytest.mark.parametrize(
    ("data_id", "value"),
    [
        ("15", "3721011637210116" + "0123456789ABCDE"),  # UnionPay ID 15 (dongri #28, M18)
        ("02", "4000123412341234"),  # primitive MAI carrying a PAN (juanroman #2, M19)
        ("04", "0012345678901234"),  # looks like TLV but is primitive (mvallim #21)
    ],
)
def test_mode5_ids_02_to_25_are_primitive(data_id: str, value: str) -> None:
    body = BASE.replace("26580014br.gov.bcb.pix", tlv(data_id, value) + "26580014br.gov.bcb.pix")
    result = parse_mpm(with_crc(body))
    obj = result.find(data_id)
    assert result.valid and obj is not None and obj.children is None and obj.value == value


def test_mode5_templates_need_not_start_with_00(m1: str) -> None:
    obj = parse_mpm(m1).find("62")
    assert obj is not None and obj.children is not None and obj.children[0].id == "03"


# 6. Non-conformant real codes: parse leniently, validate strictly, report.
def test_mode6_sub_id_00_inside_62_is_reported_and_decoded() -> None:
    body = BASE.replace("62070503***", "62160005ABCDE0503***")
    result = parse_mpm(with_crc(body))
    assert codes(result) == ["SUB_ID_00_IN_62"]
    assert (result.value("62.00"), result.value("62.05")) == ("ABCDE", "***")


def test_mode6_payload_format_indicator_02() -> None:
    result = parse_mpm(with_crc("000202" + BASE[6:]))
    assert codes(result) == ["PFI_VALUE"] and result.value("59") == "Fulano de Tal"


def test_mode6_promptpay_without_52_59_60() -> None:
    body = "000201010211" + tlv("29", tlv("00", "A000000677010111") + tlv("01", "0066891234567"))
    result = parse_mpm(with_crc(body + "5802TH5303764"))
    assert codes(result) == ["MISSING_MANDATORY"] * 3
    assert {d.path for d in result.deviations} == {"52", "59", "60"}
    assert result.value("29.01") == "0066891234567"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Café Zürich", ["FORMAT_ANS"]),
        ("O'Brien Stores", []),  # the apostrophe is in the EMV common character set
        ("A VERY LONG MERCHANT NAME OVER 25", ["LENGTH_RANGE"]),
    ],
)
def test_mode6_merchant_names(name: str, expected: list[str]) -> None:
    body = BASE.replace("5913Fulano de Tal", tlv("59", name))
    result = parse_mpm(with_crc(body))
    assert codes(result) == expected and result.value("59") == name


# 7. The CRC must be checked on decode and must be last.
def test_mode7_tampered_amount_fails_and_the_right_crc_passes(m1: str) -> None:
    tampered = m1.replace("540523.72", "540523.73")
    assert codes(parse_mpm(tampered)) == ["CRC_MISMATCH"]
    assert parse_mpm(tampered[:-4] + "8A80").valid


def test_mode7_missing_crc_is_an_error(m5: str) -> None:
    result = parse_mpm(m5[:-8])
    assert codes(result) == ["CRC_MISSING"] and result.value("59") == "Fulano de Tal"


def test_mode7_crc_not_last_is_an_error(m5: str) -> None:
    result = parse_mpm(m5 + "6105AB123")
    assert "CRC_NOT_LAST" in codes(result) and result.value("61") == "AB123"
