"""The public vectors of docs/standards/barcode.md §6: MPM M1 (EMVCo MPM v1.1 Annex B), M5 (BCB BR
Code manual), CPM C1 / C2 (EMVCo CPM v1.1 Annex B.1 / B.2)."""

from __future__ import annotations

import binascii

from zhifu.barcode.codes.cpm import decode_cpm
from zhifu.barcode.codes.emvqr.mpm import (
    DataObject,
    build_mpm,
    crc16_ccitt_false,
    crc_text,
    parse_mpm,
)

# docs/standards/barcode.md §6.2 "Parsed reference for M1 (root in payload order)"
M1_TREE = [
    ("00", "01"),
    ("01", "12"),
    ("29", {"00": "D15600000000", "05": "A93FO3230Q"}),
    ("31", {"00": "D15600000001", "03": "12345678"}),
    ("52", "4111"),
    ("58", "CN"),
    ("59", "BEST TRANSPORT"),
    ("60", "BEIJING"),
    ("64", {"00": "ZH", "01": "最佳运输", "02": "北京"}),
    ("54", "23.72"),
    ("53", "156"),
    ("55", "01"),
    ("62", {"03": "1234", "06": "***", "07": "A6008667", "09": "ME"}),
    ("91", {"00": "A011223344998877", "07": "12345678"}),
    ("63", "A13A"),
]


def _tree(objects: tuple[DataObject, ...]) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for obj in objects:
        value = obj.value if obj.children is None else {c.id: c.value for c in obj.children}
        out.append((obj.id, value))
    return out


def test_crc16_ccitt_false_check_value() -> None:
    # CRC-16/CCITT-FALSE check value over "123456789" (docs/standards/barcode.md §4.1 [V])
    assert crc16_ccitt_false(b"123456789") == 0x29B1 == binascii.crc_hqx(b"123456789", 0xFFFF)


def test_m1_parses_to_the_reference_tree(m1: str) -> None:
    result = parse_mpm(m1)
    assert result.deviations == [] and result.valid
    assert _tree(result.tree) == M1_TREE


def test_m1_lengths_count_characters_and_crc_covers_utf8(m1: str) -> None:
    assert len(m1) == 248 and len(m1.encode("utf-8")) == 260
    assert parse_mpm(m1).find("64.01").length == 4  # type: ignore[union-attr]
    assert crc_text(m1[:-4].encode("utf-8")) == "A13A"


def test_m1_rebuilds_byte_for_byte(m1: str) -> None:
    assert build_mpm(parse_mpm(m1).as_fields()) == m1


def test_m5_parses_and_rebuilds(m5: str) -> None:
    result = parse_mpm(m5)
    assert result.valid and result.value("63") == "1D3D"
    assert result.value("26.00") == "br.gov.bcb.pix"
    assert result.value("26.01") == "123e4567-e12b-12d1-a456-426655440000"
    assert (result.value("53"), result.value("58"), result.value("59")) == (
        "986",
        "BR",
        "Fulano de Tal",
    )
    assert result.value("62.05") == "***"
    assert build_mpm(result.as_fields()) == m5


def test_c1_decodes(c1: str) -> None:
    cpm = decode_cpm(c1)
    assert cpm.format_indicator == "CPV01" and len(cpm.applications) == 1
    app = cpm.applications[0]
    assert app.aid == "A0000000555555"
    assert app.track2 is not None
    assert app.track2.pan == "1234567890123458"  # fails Luhn: must not be rejected
    assert (app.track2.expiry, app.track2.service_code, app.track2.discretionary) == (
        "1912",
        "201",
        "12345",
    )
    assert app.data["57"].hex().upper() == "1234567890123458D191220112345F"


def test_c2_decodes_two_applications_with_common_data(c2: str) -> None:
    cpm = decode_cpm(c2)
    assert [(a.aid, a.label) for a in cpm.applications] == [
        ("A0000000555555", "Product1"),
        ("A0000000666666", "Product2"),
    ]
    app = cpm.applications[0]
    assert app.pan == "1234567890123458"
    assert app.cardholder_name == "CARDHOLDER/EMV"
    assert app.data["5F2D"] == b"ruesdeen"
    transparent = app.transparent["64"].hex().upper()
    assert "9F2608584FD385FA234BCC" in transparent and "9F37046D58EF13" in transparent
    assert "9F10070601" in transparent and "9F36020001" in transparent
