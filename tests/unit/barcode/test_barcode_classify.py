"""classify(): the kind of a scanned code and its issuing institution."""

from __future__ import annotations

import base64

import pytest

from zhifu.barcode import classify
from zhifu.barcode.codes.classify import CodeKind
from zhifu.barcode.codes.emvqr.mpm import build_mpm, merchant_fields

K = CodeKind


def _mpm(gui: str, unreserved: str | None = None) -> str:
    fields = merchant_fields(gui=gui, merchant_id="M1", name="N", city="C", mcc="5812")
    if unreserved is not None:
        fields["80"] = {"00": unreserved}
    return build_mpm(fields)


@pytest.mark.parametrize(
    ("code", "kind", "institution", "valid"),
    [
        ("120061098828009406", K.PAYMENT_CODE, "wechat", True),
        ("28763443825664394", K.PAYMENT_CODE, "alipay", True),
        ("6212345678901234567", K.PAYMENT_CODE, "unionpay", True),
        ("911234567010123456\r\n", K.PAYMENT_CODE, "zhifu", True),  # scanner's CR/LF
        ("1200610988280094061", K.PAYMENT_CODE, None, False),  # no rule for 12 + 19 digits
        ("12345", K.UNKNOWN, None, False),
        ("https://pay.zhifu.test/qr/o/ABCDEFGH", K.COLLECTION_URL, "zhifu", True),
        ("wxp://f2f0JG_gcoclfMI3-WzmlCSo0YdqYimYL8-7", K.COLLECTION_URL, "wechat", True),
        ("https://pay.zhifu.test@evil.example/qr/o/A", K.COLLECTION_URL, None, False),
        ("https://shop.example.com/pay", K.COLLECTION_URL, None, False),
        (_mpm("test.zhifu.pay"), K.EMVCO_MPM, "zhifu", True),
        (_mpm("com.example", "TEST.HUANYU.PAY"), K.EMVCO_MPM, "huanyu", True),
        (_mpm("A000000333"), K.EMVCO_MPM, "unionpay", True),
        (_mpm("com.example"), K.EMVCO_MPM, None, True),
        ("hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8=", K.EMVCO_CPM, None, True),
        ("hQVDUFYwMQ==", K.EMVCO_CPM, None, False),
        ("", K.UNKNOWN, None, False),
        ("hello", K.UNKNOWN, None, False),
    ],
)
def test_classify(code: str, kind: CodeKind, institution: str | None, valid: bool) -> None:
    found = classify(code)
    assert (found.kind, found.institution, found.valid) == (kind, institution, valid), found.reason


def test_mpm_with_unionpay_id_15_and_errors(m1: str) -> None:
    body = m1.replace(
        "29300012D156000000000510A93FO3230Q", "1531" + "37210116" * 2 + "0123456789ABCDE"
    )
    found = classify(body)  # the CRC no longer matches
    assert found.kind is K.EMVCO_MPM and found.institution == "unionpay" and not found.valid
    assert "CRC_MISMATCH" in found.reason and found.mpm is not None


def test_unionpay_cpm() -> None:
    data = (
        bytes.fromhex("8505")
        + b"CPV01"
        + bytes.fromhex("6114" + "4F08A000000333010102" + "5A086263600100713672")
    )
    found = classify(base64.b64encode(data).decode())
    assert (found.kind, found.institution) == (K.EMVCO_CPM, "unionpay") and found.cpm is not None


def test_to_dict() -> None:
    assert classify("https://pay.zhifu.test:1/qr/o/ABCDEFGH").to_dict() == {
        "kind": "collection_url",
        "institution": None,
        "valid": False,
        "reason": "refused (port): explicit port",
        "refusal": "port",
    }
    assert classify("https://qr.alipay.com/bax1").to_dict()["collection_kind"] == "dynamic_order"
