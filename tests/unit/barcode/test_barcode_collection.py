"""Collection-code URLs (docs/standards/barcode.md §3, §5.2): the host registry, case-insensitive
matching, zhifu's own static/dynamic codes, and every look-alike refusal."""

from __future__ import annotations

import pytest

from zhifu.barcode.codes.collection_code import (
    CollectionCode,
    Refusal,
    RefusalReason,
    classify_url,
    collection_url,
    new_token,
)
from zhifu.barcode.registry import HOSTS, CollectionKind, HostRegistry, HostRule
from zhifu.core.errors import UsageError
from zhifu.core.rng import SeededRandom

R = RefusalReason
K = CollectionKind


@pytest.mark.parametrize(
    ("url", "institution", "kind"),
    [
        # public samples, docs/standards/barcode.md §3
        ("https://qr.95516.com/00010000/01116734936470044423094034227630", "unionpay", K.UNKNOWN),
        ("https://qr.95516.com/00010002/01012166439217005044479417630044", "unionpay", K.UNKNOWN),
        (
            "https://qr.95516.com/03095810/unifiedNative?mchNo=1&token=2",
            "unionpay",
            K.DYNAMIC_ORDER,
        ),
        ("HTTPS://QR.ALIPAY.COM/FKX08154U5F2H5RLLWGX25", "alipay", K.STATIC),
        ("https://qr.alipay.com/fkx13673gkz2fi4kwuvzjb9", "alipay", K.STATIC),
        ("https://qr.alipay.com/bax03431ljhokirwl38f00a7", "alipay", K.DYNAMIC_ORDER),
        ("wxp://f2f0JG_gcoclfMI3-WzmlCSo0YdqYimYL8-7", "wechat", K.STATIC_PERSONAL),
        ("weixin://wxpay/bizpayurl?pr=Mvasgua", "wechat", K.DYNAMIC_ORDER),
        # zhifu's own
        ("https://pay.zhifu.test/qr/m/7K3M9Q2X8P4R", "zhifu", K.STATIC_MERCHANT),
        ("https://pay.zhifu.test/qr/p/7K3M9Q2X8P4R", "zhifu", K.STATIC_PERSONAL),
        ("HTTPS://PAY.ZHIFU.TEST/QR/O/7K3M9Q2X8P4R", "zhifu", K.DYNAMIC_ORDER),
        ("https://Pay.Zhifu.Test/qr/o/7k3m9q2x8p4r?from=app", "zhifu", K.DYNAMIC_ORDER),
        ("https://pay.huanyu.test/qr/o/ABCDEFGH", "huanyu", K.DYNAMIC_ORDER),
        ("https://pay.qingniao.test/qr/m/ABCDEFGH", "qingniao", K.STATIC_MERCHANT),
    ],
)
def test_registered_codes_are_recognised(url: str, institution: str, kind: CollectionKind) -> None:
    code = classify_url(url)
    assert isinstance(code, CollectionCode), code
    assert (code.institution, code.kind) == (institution, kind)


def test_own_codes_carry_the_upper_cased_token() -> None:
    code = classify_url("https://pay.zhifu.test/qr/o/7k3m9q2x8p4r")
    assert isinstance(code, CollectionCode) and code.own and code.token == "7K3M9Q2X8P4R"
    assert code.kind.is_static is False and K.STATIC_PERSONAL.is_static


# Every refusal the module docstring lists, each with its reason.
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", R.NOT_A_URL),
        ("pay.zhifu.test/qr/o/ABCDEFGH", R.NOT_A_URL),
        ("https:pay.zhifu.test/qr/o/ABCDEFGH", R.NOT_A_URL),
        ("https://pay.zhifu.test/qr/o/" + "A" * 600, R.NOT_A_URL),
        ("https://pay.zhifu.test/qr/o/ABC DEFGH", R.CONTROL_CHARACTER),
        ("https://pay.zhifu.test/qr/o/ABCDEFGH\n", R.CONTROL_CHARACTER),
        ("https://pay.zhifu.test\\@evil.example/qr/o/ABCDEFGH", R.BACKSLASH),
        ("https://pay.zhifu.test@evil.example/qr/o/ABCDEFGH", R.USERINFO),
        ("https://user:pw@pay.zhifu.test/qr/o/ABCDEFGH", R.USERINFO),
        ("https://pay.zhifu.test:443/qr/o/ABCDEFGH", R.PORT),
        ("https://pay.zhifu.test:8443/qr/o/ABCDEFGH", R.PORT),
        ("https://[::1]/qr/o/ABCDEFGH", R.IP_HOST),
        ("https://127.0.0.1/qr/o/ABCDEFGH", R.IP_HOST),
        ("https://pay.zhifu.test./qr/o/ABCDEFGH", R.TRAILING_DOT),
        ("https://pay..zhifu.test/qr/o/ABCDEFGH", R.EMPTY_LABEL),
        ("https:///qr/o/ABCDEFGH", R.EMPTY_LABEL),
        ("https://pay.zhіfu.test/qr/o/ABCDEFGH", R.NON_ASCII_HOST),  # Cyrillic і
        ("https://ｐａｙ.zhifu.test/qr/o/ABCDEFGH", R.NON_ASCII_HOST),  # full-width letters
        ("https://pay.xn--zhfu-3ve.test/qr/o/ABCDEFGH", R.PUNYCODE_HOST),
        ("https://pay.zhifu%2etest/qr/o/ABCDEFGH", R.HOST_CHARACTERS),
        ("https://pay_zhifu.test/qr/o/ABCDEFGH", R.HOST_CHARACTERS),
        ("https://evil.pay.zhifu.test/qr/o/ABCDEFGH", R.EXTRA_SUBDOMAIN),
        ("https://pay.zhifu.test.evil.example/qr/o/ABCDEFGH", R.LOOKALIKE_HOST),
        ("https://www.qr.alipay.com.evil.example/bax1", R.LOOKALIKE_HOST),
        ("https://pay.zh1fu.test/qr/o/ABCDEFGH", R.LOOKALIKE_HOST),
        ("https://pay-zhifu.test/qr/o/ABCDEFGH", R.LOOKALIKE_HOST),
        ("https://qr.aIipay.com/bax1", R.LOOKALIKE_HOST),  # capital I for l
        ("https://qr.a1ipay.com/bax1", R.LOOKALIKE_HOST),
        ("https://qr.95516.corn/00010000/1", R.LOOKALIKE_HOST),  # rn for m
        ("http://pay.zhifu.test/qr/o/ABCDEFGH", R.SCHEME_MISMATCH),
        ("https://pay.zhifu.test/qr/x/ABCDEFGH", R.BAD_PATH),
        ("https://pay.zhifu.test/qr/o/SHORT", R.BAD_PATH),
        ("https://pay.zhifu.test/qr/o/ABCDEFGH/../m/X", R.BAD_PATH),
        ("https://pay.example.com/qr/o/ABCDEFGH", R.UNKNOWN_HOST),
    ],
)
def test_refusals(url: str, reason: RefusalReason) -> None:
    answer = classify_url(url)
    assert isinstance(answer, Refusal) and answer.reason is reason, answer


def test_lookalike_flag() -> None:
    assert R.USERINFO.lookalike and R.PUNYCODE_HOST.lookalike
    assert not R.UNKNOWN_HOST.lookalike and not R.NOT_A_URL.lookalike


def test_builders_round_trip() -> None:
    rng = SeededRandom(6)
    for kind in (K.STATIC_MERCHANT, K.STATIC_PERSONAL, K.DYNAMIC_ORDER):
        token = new_token(rng)
        for inst in ("zhifu", "huanyu", "qingniao"):
            url = collection_url(kind, token, institution=inst)
            code = classify_url(url)
            assert isinstance(code, CollectionCode)
            assert (code.institution, code.kind, code.token) == (inst, kind, token)
            upper = classify_url(url.upper())  # alphanumeric-mode QR form
            assert isinstance(upper, CollectionCode) and upper.token == token


def test_builder_arguments_are_checked() -> None:
    with pytest.raises(UsageError):
        collection_url(K.STATIC, "ABCDEFGH")
    with pytest.raises(UsageError):
        collection_url(K.DYNAMIC_ORDER, "AB")
    with pytest.raises(UsageError):
        collection_url(K.DYNAMIC_ORDER, "ABCDEFGH", institution="alipay")
    with pytest.raises(UsageError):
        new_token(SeededRandom(1), 4)


def test_host_registry_is_checked() -> None:
    assert HOSTS.find("HTTPS", "PAY.ZHIFU.TEST") is not None
    with pytest.raises(UsageError):
        HostRegistry([HostRule("https", "Pay.Zhifu.Test", "zhifu")])
    with pytest.raises(UsageError):
        HostRegistry([HostRule("https", "a.test", "zhifu"), HostRule("https", "a.test", "zhifu")])
    with pytest.raises(UsageError):
        HostRegistry([HostRule("https", "a.test", "nobody")])
