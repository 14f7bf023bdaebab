"""Sub-field codecs: 22, 25, 26, 44, 48, 53, 55, 60, 61, 62, 63 -- round trips and vectors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.codec.tlv import tlv
from zhifu.core.errors import DecodeError, EncodeError
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.kcv import kcv
from zhifu.iso8583 import fields_48 as f48
from zhifu.iso8583 import fields_55 as f55
from zhifu.iso8583 import fields_60 as f60
from zhifu.iso8583 import fields_62 as f62
from zhifu.iso8583 import fields_pos as fp

digits = st.text("0123456789", min_size=1, max_size=1)


def _n(size: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=size, max_size=size)


# ------------------------------------------------------------------------------------ 22-26


@pytest.mark.parametrize(
    "value", ["021", "022", "051", "052", "071", "072", "801", "802", "012", "032"]
)
def test_entry_mode_round_trip(value: str) -> None:
    mode = fp.parse_entry_mode(value)
    assert fp.build_entry_mode(mode) == value
    assert mode.pan_entry in fp.PAN_ENTRY_MODES or mode.pan_entry == "03"
    assert mode.pin_capability in fp.PIN_CAPABILITIES


def test_entry_mode_errors() -> None:
    with pytest.raises(DecodeError):
        fp.parse_entry_mode("07")
    with pytest.raises(EncodeError):
        fp.build_entry_mode(fp.EntryMode("7", "1"))


def test_condition_and_pin_capture() -> None:
    assert fp.POS_CONDITION_CODES["06"] == "pre-authorisation family"
    assert fp.max_pin_length("12") == 12 and fp.max_pin_length("06") == 6
    with pytest.raises(DecodeError):
        fp.max_pin_length("99")


# ------------------------------------------------------------------------------------ 53


def test_security_control_t29() -> None:
    """docs/standards/card-terminal.md T29: format 0 (with PAN) + double-length PIK, no track
    encryption."""
    control = fp.SecurityControl(pin_format="2", algorithm="6", track_encryption="0")
    assert fp.build_security_control(control) == "2600000000000000"
    assert fp.parse_security_control("2600000000000000") == control


@pytest.mark.parametrize(
    "value", ["2600000000000000", "2610000000000000", "0600000000000000", "1000000000000000"]
)
def test_security_control_typical_values(value: str) -> None:
    """docs/standards/iso8583-cup.md §6.5 typical values."""
    assert fp.build_security_control(fp.parse_security_control(value)) == value


def test_security_control_reserved_digits() -> None:
    with pytest.raises(DecodeError):
        fp.parse_security_control("2600000000000001")


# ------------------------------------------------------------------------------------ 44, 61, 63


def test_field_44_t09() -> None:
    """T09/T10: 44 = issuer id + acquirer id, an11 each, space-padded."""
    value = "90310000   03025840   "  # T09 (YT 0210) field 44
    assert fp.parse_field_44(value) == ("90310000", "03025840")
    assert fp.build_field_44("90310000", "03025840") == value
    with pytest.raises(DecodeError):
        fp.parse_field_44(value + "X")
    with pytest.raises(EncodeError):
        fp.build_field_44("1" * 12, "")


@given(_n(6), _n(6), st.one_of(st.none(), _n(4)))
@settings(max_examples=100)
def test_field_61_round_trip(batch: str, trace: str, date: str | None) -> None:
    field = fp.Field61(batch, trace, date)
    assert fp.parse_field_61(fp.build_field_61(field)) == field


def test_field_61_full_and_errors() -> None:
    full = fp.Field61("000001", "000123", "0315", "00", "12345678901")
    assert fp.parse_field_61(fp.build_field_61(full)) == full
    with pytest.raises(DecodeError):
        fp.parse_field_61("00000100012")
    with pytest.raises(EncodeError):
        fp.build_field_61(fp.Field61("000001", "000123", None, "00"))


def test_field_63() -> None:
    assert fp.parse_field_63("CUP") == fp.Field63("CUP")
    assert fp.parse_field_63("CUP谢谢惠顾") == fp.Field63("CUP", "谢谢惠顾")
    assert fp.build_field_63(fp.Field63("01")) == "01 "
    with pytest.raises(EncodeError):
        fp.build_field_63(fp.Field63("ABCD"))


# ------------------------------------------------------------------------------------ 48


amounts = st.integers(0, 10**12 - 1)
counts = st.integers(0, 999)
totals = st.builds(f48.Totals, amounts, counts, amounts, counts, st.sampled_from("0123"))


@given(totals, totals)
@settings(max_examples=150)
def test_settlement_round_trip(domestic: f48.Totals, foreign: f48.Totals) -> None:
    settlement = f48.Settlement(domestic, foreign)
    digits_ = f48.build_settlement(settlement)
    assert len(digits_) == 62
    assert f48.parse_settlement(digits_) == settlement


def test_settlement_result_digit_position() -> None:
    """WP reads the reconciliation result at charAt(30) of the 0510 field 48."""
    digits_ = f48.build_settlement(f48.Settlement(f48.Totals(result="1"), f48.Totals(result="2")))
    assert digits_[30] == "1" and digits_[61] == "2"
    assert f48.RECONCILIATION_RESULTS["1"].startswith("balanced")


def test_settlement_errors() -> None:
    with pytest.raises(DecodeError):
        f48.parse_settlement("0" * 61)
    with pytest.raises(EncodeError):
        f48.build_settlement(f48.Settlement(f48.Totals(debit_amount=10**12), f48.Totals()))
    with pytest.raises(EncodeError):
        f48.build_settlement(f48.Settlement(f48.Totals(result="12"), f48.Totals()))
    assert f48.parse_batch_end_count(f48.build_batch_end_count(37)) == 37
    with pytest.raises(DecodeError):
        f48.parse_batch_end_count("37")


# ------------------------------------------------------------------------------------ 55


def test_icc_data_round_trip_t12() -> None:
    """T12 (WH 0200) field 55: the sale request tags."""
    value = (
        "9F26089C0A057796D091E39F2701809F1013070F0103A00000010A010000005959BAF31C349F37042AE9F9B4"
        "9F36020FCD950500000000009A031802099C01009F02060000000000015F2A02015682027C009F1A020156"
        "9F03060000000000009F330390C8C09F34030000009F3501229F1E0831323334353637388408A00000033301"
        "01019F090200209F410400000002"
    )
    items = f55.parse_icc_data(value)
    assert f55.build_icc_data(items) == value
    assert f55.missing_tags(items, f55.REQUEST_TAGS) == []
    assert f55.describe_icc_data(value)[0]["name"] == "Application Cryptogram"
    assert "9F26 Application Cryptogram [8]" in f55.render_icc_data(value)


def test_icc_data_errors_name_tag_and_offset() -> None:
    with pytest.raises(DecodeError) as info:
        f55.parse_icc_data("9F2608AABB", offset_base=100)
    assert (info.value.field, info.value.offset) == ("9F26", 100)
    with pytest.raises(DecodeError):
        f55.parse_icc_data("ZZ")


def test_icc_data_masks_pan() -> None:
    value = f55.build_icc_data([tlv("5A", bytes.fromhex("6225881234566789"))])
    assert f55.describe_icc_data(value)[0]["value"] == "622588******6789"
    assert f55.describe_icc_data(value, reveal=True)[0]["value"] == "6225881234566789"


# ------------------------------------------------------------------------------------ 60


@pytest.mark.parametrize(
    "value",
    [
        "00000000003",  # T02: sign-on request 60.3 003
        "00006603003",  # T04
        "2200660300060",  # T05: 13 digits
        "22000024000600",  # T14
        "220000010006",  # T12
        "2600000100060000000",  # T15: 19 digits (extension)
        "00000001372",  # CAPK query
        "22",
    ],
)
def test_field_60_round_trip_real_values(value: str) -> None:
    assert f60.build_field_60(f60.parse_field_60(value)) == value


@given(st.lists(st.integers(0, 9), min_size=2, max_size=25).map(lambda d: "".join(map(str, d))))
@settings(max_examples=200)
def test_field_60_round_trip_any_digits(value: str) -> None:
    parsed = f60.parse_field_60(value)
    assert f60.build_field_60(parsed) == value
    assert len(parsed.extension) == max(0, len(value) - 17)


def test_field_60_build_rules() -> None:
    assert f60.build_field_60(f60.Field60("00", "000001", "004")) == "00000001004"
    with pytest.raises(EncodeError):
        f60.build_field_60(f60.Field60("00", None, "004"))
    with pytest.raises(EncodeError):
        f60.build_field_60(f60.Field60("00", "0001", "004"))
    with pytest.raises(EncodeError):
        f60.build_field_60(f60.Field60("00", "000001", "004", extension="99"))
    with pytest.raises(DecodeError):
        f60.parse_field_60("2")


def test_field_60_tables() -> None:
    assert f60.TXN_TYPES["22"] == "sale" and f60.TXN_TYPES["23"] == "sale void"
    assert {"001", "003", "004", "005", "006"} == f60.SIGN_ON_CODES
    assert f60.TDK_SIGN_ON_CODES <= f60.SIGN_ON_CODES
    meanings = f60.NETWORK_CODES
    assert all(meanings[code].startswith("sign-on:") for code in f60.SIGN_ON_CODES)
    queries = {c for c, text in meanings.items() if text.startswith("query:")}
    downloads = {c for c, text in meanings.items() if text.startswith("download:")}
    assert queries == f60.QUERY_CODES and downloads == f60.DOWNLOAD_CODES
    assert all(len(code) == 3 and code.isdigit() for code in f60.NETWORK_CODES)
    assert all(len(code) == 2 and code.isdigit() for code in f60.TXN_TYPES)
    assert sum(width for *_, width in f60.FIELD_60_WIDTHS) == 17
    rows = f60.describe_field_60("00000001372")
    assert rows[2] == {
        "id": "60.3", "name": "网络管理信息码", "value": "372", "meaning": "query: CA public keys"
    }  # fmt: skip


# ------------------------------------------------------------------------------------ 62


K1_FIELD_62 = bytes.fromhex(
    "37ce423bfa39b2a5adf173475bc06c9b14ae01bbfdd04400942ee12e0000000000000000b8f616dc"
)


def test_sign_on_keys_k1() -> None:
    """K1 (GO log.txt): the 0810's MAK slot is 8 bytes + 8 zeros; the logged clear MAK
    dab36167e6dfb5ef has check value DES(MAK, 0^8)[0:4] = the 4 bytes after the slot."""
    keys = f62.parse_sign_on_keys(K1_FIELD_62, "003")
    assert keys.mak_single_length
    assert keys.mak_cv == kcv(Cipher.DES, bytes.fromhex("dab36167e6dfb5ef"), 4)
    assert keys.pik_cv.hex() == "14ae01bb"
    assert f62.build_sign_on_keys(keys, "003") == K1_FIELD_62
    assert "37CE" not in repr(keys).upper()


@pytest.mark.parametrize("code", ["001", "003", "004", "005", "006"])
def test_sign_on_layouts_round_trip(code: str) -> None:
    pik_size, mak_size, tdk_size = f62.SIGN_ON_LAYOUTS[code]
    keys = f62.SignOnKeys(
        bytes(range(pik_size)), b"\x01" * 4, bytes(range(10, 10 + mak_size)), b"\x02" * 4,
        bytes(range(20, 20 + tdk_size)) if tdk_size else None, b"\x03" * 4 if tdk_size else None,
    )  # fmt: skip
    data = f62.build_sign_on_keys(keys, code)
    assert len(data) == {"001": 24, "003": 40, "004": 60, "005": 40, "006": 60}[code]
    assert f62.parse_sign_on_keys(data, code) == keys


def test_sign_on_keys_single_length_mak_is_zero_filled() -> None:
    keys = f62.SignOnKeys(bytes(16), bytes(4), b"\x11" * 8, bytes(4))
    data = f62.build_sign_on_keys(keys, "003")
    assert data[20:36] == b"\x11" * 8 + bytes(8)


def test_sign_on_key_errors() -> None:
    with pytest.raises(DecodeError):
        f62.parse_sign_on_keys(bytes(39), "003")
    with pytest.raises(DecodeError):
        f62.parse_sign_on_keys(bytes(40), "301")
    with pytest.raises(EncodeError):
        f62.build_sign_on_keys(f62.SignOnKeys(bytes(16), bytes(4), bytes(16), bytes(4)), "004")
    with pytest.raises(EncodeError):
        f62.build_sign_on_keys(
            f62.SignOnKeys(bytes(16), bytes(4), bytes(16), bytes(4), bytes(16), bytes(4)), "003"
        )


CAPK_RECORD = bytes.fromhex("9F0605A0000003339F220103DF05083230323431323331")


def test_query_round_trip_blog_0830() -> None:
    """x07 (zfr_xuexiao66 blog): '1' + 12 CAPK records of 23 bytes."""
    records = [f62.parse_download_request(CAPK_RECORD)] * 3
    data = f62.build_query_response(f62.QUERY_COMPLETE, records)
    assert data[:1] == b"1" and len(data) == 1 + 3 * 23
    status, parsed = f62.parse_query_response(data)
    assert status == "1" and parsed == records
    assert f62.parse_query_request(f62.build_query_request(12)) == 12
    assert f62.build_query_request(0) == b"100"


def test_download_round_trip() -> None:
    key = [tlv("9F06", bytes.fromhex("A000000333")), tlv("9F22", b"\x03")]
    assert f62.parse_download_request(f62.build_download_request(key)) == key
    assert f62.parse_download_response(f62.build_download_response(None)) == ("0", [])
    record = [*key, tlv("DF05", b"20241231")]
    assert f62.parse_download_response(f62.build_download_response(record)) == ("1", record)


def test_query_and_download_errors() -> None:
    with pytest.raises(DecodeError):
        f62.parse_query_response(b"9")
    with pytest.raises(DecodeError):
        f62.parse_download_response(b"")
    with pytest.raises(DecodeError):
        f62.parse_query_request(b"200")
    with pytest.raises(EncodeError):
        f62.build_query_request(100)
    with pytest.raises(EncodeError):
        f62.build_query_response("3", [])
    with pytest.raises(DecodeError) as info:
        f62.parse_query_response(b"1" + CAPK_RECORD[:-1])
    assert info.value.offset is not None and info.value.offset >= 1
