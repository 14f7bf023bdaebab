"""The parameter tables: seeded CAPKs and AIDs, TLV records, paged queries, versions."""

from __future__ import annotations

import pytest

from zhifu.acquirer.database import Database
from zhifu.acquirer.tables import AID_DEFAULTS, PK_RSA, PK_SM2, AidParameters, ParameterTables
from zhifu.card.personalise import capk_table
from zhifu.codec.tlv import encode, tlv, to_dict
from zhifu.core.errors import UsageError
from zhifu.iso8583.fields_62 import build_query_response, parse_query_response


@pytest.fixture
def tables() -> ParameterTables:
    return ParameterTables(Database())


def test_seeded_from_the_card_package(tables: ParameterTables) -> None:
    expected = {(r["rid"], r["index"]): r for r in capk_table()}
    assert {(k.rid, k.index) for k in tables.capks()} == set(expected)
    for key in tables.capks():
        record = expected[(key.rid, key.index)]
        assert (key.modulus, key.exponent, key.checksum) == (
            record["modulus"], record["exponent"], record["checksum"])  # fmt: skip
    assert [a.aid for a in tables.aids()] == [a.aid for a in AID_DEFAULTS]
    assert (tables.version("capk"), tables.version("aid")) == (1, 1)
    ParameterTables(tables._db)  # opening again does not seed again
    assert tables.version("capk") == 1


def test_capk_records(tables: ParameterTables) -> None:
    rsa = tables.capks(PK_RSA)[0]
    short = encode(tables.capk_query_record(rsa))
    assert len(short) == 23  # 9F06 RID + 9F22 index + DF05 expiry: 23 bytes
    values = to_dict(rsa.to_tlv())
    assert values["9F06"].hex().upper() == "A000000333" and values["9F22"] == b"\x80"
    assert values["DF05"] == b"20491231" and values["DF04"] == b"\x03"
    assert values["DF06"] == b"\x01" and values["DF07"] == b"\x01"
    sm2 = to_dict(tables.capks(PK_SM2)[0].to_tlv())
    assert "DF04" not in sm2 and len(sm2["DF02"]) == 64 and sm2["DF07"] == b"\x04"


def test_aid_record_values() -> None:
    values = to_dict(AID_DEFAULTS[0].to_tlv())
    assert values["9F06"].hex().upper() == "A000000333010101"
    assert values["DF11"].hex().upper() == "D84000A800"
    assert values["DF12"].hex().upper() == "D84004F800"
    assert values["DF13"].hex().upper() == "0010000000"
    assert values["9F1B"] == bytes(4) and values["DF14"].hex().upper() == "9F3704"
    assert values["DF16"] == b"\x99" and values["9F7B"].hex() == "000000100000"
    assert len(encode(AID_DEFAULTS[0].to_tlv())) < 512


@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 10])
def test_query_pages_cover_the_table_once(tables: ParameterTables, page_size: int) -> None:
    seen, start, statuses = [], 0, []
    while True:
        status, page = tables.query("aid", start=start, page_size=page_size)
        statuses.append(status)
        wire = build_query_response(status, page)
        assert len(wire) <= 512
        assert parse_query_response(wire)[1] == page
        seen += page
        start += len(page)
        if status != "2":
            break
    assert statuses[-1] == "1" and set(statuses[:-1]) <= {"2"}
    assert [r[0].value.hex().upper() for r in seen] == [a.aid for a in AID_DEFAULTS]
    assert tables.query("aid", start=len(AID_DEFAULTS), page_size=page_size) == ("0", [])


def test_download_by_key(tables: ParameterTables) -> None:
    key = [tlv("9F06", bytes.fromhex("A000000333")), tlv("9F22", b"\x81")]
    record = tables.download("capk", key)
    assert record is not None and to_dict(record)["DF07"] == b"\x04"
    assert tables.download("capk", key[:1]) is None
    assert tables.download("capk", [tlv("9F06", bytes.fromhex("A000000333")), tlv("9F22",
                           b"\x99")]) is None  # fmt: skip
    assert tables.download("aid", [tlv("9F06", bytes.fromhex("A000000333010106"))]) is not None
    assert tables.download("aid", [tlv("9F06", bytes.fromhex("A000000999"))]) is None
    assert tables.download("aid", [tlv("DF01", b"\x00")]) is None


def test_changes_bump_the_version(tables: ParameterTables) -> None:
    tables.put_aid(AidParameters("A000000333010108", "UnionPay (US)"))
    assert tables.version("aid") == 2 and len(tables.aids()) == 5
    assert tables.delete_aid("A000000333010108") and tables.version("aid") == 3
    assert not tables.delete_aid("A000000333010108") and tables.version("aid") == 3
    assert tables.delete_capk("A000000333", 0x80) and tables.version("capk") == 2
    with pytest.raises(UsageError):
        tables.version("blacklist")
    with pytest.raises(UsageError):
        tables.query("blacklist", start=0, page_size=1)
