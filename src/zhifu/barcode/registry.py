"""Who issued a code: the institution table, the payment-code prefix registry and the
collection-code host registry, all as data (docs/standards/barcode.md §2, §3 and §5).

The real-world rows (WeChat Pay, Alipay, UnionPay) are the ranges the digest found in public
developer documents; the rows of zhifu's own three simulated institutions are project
assignments [A] chosen not to collide with them. JR/T 0245 prefix allocation was not found,
so nothing here claims conformance to it.

>>> PREFIXES.lookup("120061098828009406").institution     # WeChat micropay doc sample
'wechat'
>>> PREFIXES.lookup("1200610988280094061") is None       # 12... with 19 digits: nobody's
True
>>> institution("zhifu").simulated
True
>>> HOSTS.find("HTTPS", "QR.ALIPAY.COM").institution
'alipay'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from zhifu.core.errors import UsageError


@dataclass(frozen=True, slots=True)
class Institution:
    """A payment institution (or card network) that issues codes."""

    id: str
    name: str
    name_zh: str
    simulated: bool


INSTITUTIONS: Final[tuple[Institution, ...]] = (
    Institution("zhifu", "zhifu wallet", "zhifu 钱包", True),
    Institution("huanyu", "Huanyu Pay (simulated)", "寰宇支付（模拟）", True),
    Institution("qingniao", "Qingniao Pay (simulated)", "青鸟支付（模拟）", True),
    Institution("wechat", "WeChat Pay (Tenpay)", "微信支付（财付通）", False),
    Institution("alipay", "Alipay", "支付宝", False),
    Institution("unionpay", "China UnionPay", "中国银联", False),
    Institution("visa", "Visa", "维萨", False),
    Institution("mastercard", "Mastercard", "万事达卡", False),
    Institution("discover", "Discover", "发现卡", False),
    Institution("amex", "American Express", "美国运通", False),
    Institution("jcb", "JCB", "JCB", False),
    Institution("emvco", "EMVCo (reserved)", "EMVCo（保留）", False),
)
_BY_ID: Final = {i.id: i for i in INSTITUTIONS}
SIMULATED: Final[tuple[str, ...]] = tuple(i.id for i in INSTITUTIONS if i.simulated)


def institution(institution_id: str) -> Institution:
    """The institution with this id, or a UsageError."""
    found = _BY_ID.get(institution_id)
    if found is None:
        raise UsageError(f"unknown institution {institution_id!r}", argument="institution")
    return found


# ---------------------------------------------------------------------------------------------
# Payment codes (付款码): prefix + length -> institution


@dataclass(frozen=True, slots=True)
class PrefixRule:
    """Numeric codes starting with ``prefix`` whose length is in [min_length, max_length]."""

    prefix: str
    min_length: int
    max_length: int
    institution: str

    def matches(self, code: str) -> bool:
        return self.min_length <= len(code) <= self.max_length and code.startswith(self.prefix)

    def overlaps(self, other: PrefixRule) -> bool:
        nested = self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)
        return nested and (
            self.min_length <= other.max_length and other.min_length <= self.max_length
        )


MIN_CODE_LENGTH: Final = 16
MAX_CODE_LENGTH: Final = 24


class PrefixRegistry:
    """A checked table of prefix rules: digits only, 16-24 long, no two rules overlap."""

    def __init__(self, rules: Iterable[PrefixRule]) -> None:
        self.rules: tuple[PrefixRule, ...] = tuple(rules)
        for i, rule in enumerate(self.rules):
            _check_rule(rule)
            for other in self.rules[:i]:
                if rule.overlaps(other):
                    raise UsageError(
                        f"prefix rule {rule.prefix} overlaps {other.prefix}", argument="rules"
                    )
        self._index = {  # (length, prefix) -> rule: rules do not overlap, so keys are unique
            (length, rule.prefix): rule
            for rule in self.rules
            for length in range(rule.min_length, rule.max_length + 1)
        }
        self._prefix_lengths = sorted({len(rule.prefix) for rule in self.rules})

    def lookup(self, code: str) -> PrefixRule | None:
        """The rule that owns ``code`` (checking prefix AND length), or None. Never Luhn."""
        if not (code.isascii() and code.isdigit()):
            return None
        length = len(code)
        for size in self._prefix_lengths:
            found = self._index.get((length, code[:size]))
            if found is not None:
                return found
        return None

    def for_institution(self, institution_id: str) -> tuple[PrefixRule, ...]:
        return tuple(r for r in self.rules if r.institution == institution_id)


def _check_rule(rule: PrefixRule) -> None:
    if not (rule.prefix.isascii() and rule.prefix.isdigit()) or not rule.prefix:
        raise UsageError("a prefix is one or more digits", argument="rules")
    if not MIN_CODE_LENGTH <= rule.min_length <= rule.max_length <= MAX_CODE_LENGTH:
        raise UsageError("payment codes are 16-24 digits long", argument="rules")
    if rule.institution not in _BY_ID:
        raise UsageError(f"unknown institution {rule.institution!r}", argument="rules")


PREFIX_RULES: Final[tuple[PrefixRule, ...]] = (
    # WeChat Pay: 18 digits, 10-15 (WeChat micropay doc, chapter 5_1, as quoted in
    # docs/standards/barcode.md §2)
    *(PrefixRule(str(p), 18, 18, "wechat") for p in range(10, 16)),
    # Alipay: 16-24 digits, 25-30 (opendocs.alipay.com/open/194/106039 as quoted)
    *(PrefixRule(str(p), 16, 24, "alipay") for p in range(25, 31)),
    # UnionPay C2B code: 19 digits, 62 (community rule)
    PrefixRule("62", 19, 19, "unionpay"),
    # zhifu's simulated institutions [A]
    PrefixRule("91", 18, 18, "zhifu"),
    PrefixRule("92", 18, 18, "huanyu"),
    PrefixRule("93", 18, 18, "qingniao"),
)
PREFIXES: Final = PrefixRegistry(PREFIX_RULES)


# ---------------------------------------------------------------------------------------------
# Collection codes (收款码): scheme + host (+ path) -> institution


class CollectionKind(StrEnum):
    """What a collection code is for (259号 keeps personal and merchant codes apart)."""

    STATIC_MERCHANT = "static_merchant"
    STATIC_PERSONAL = "static_personal"
    STATIC = "static"  # static, but the issuer's form does not say whose
    DYNAMIC_ORDER = "dynamic_order"
    UNKNOWN = "unknown"

    @property
    def is_static(self) -> bool:
        return self in (self.STATIC_MERCHANT, self.STATIC_PERSONAL, self.STATIC)


@dataclass(frozen=True, slots=True)
class HostRule:
    """URLs ``scheme://host/...`` issued by ``institution``.

    ``host`` is lower case; an empty host means the scheme alone identifies the issuer (WeChat's
    ``wxp://<token>``). ``paths`` maps a regular expression on the lower-cased path to a kind;
    the first match wins. ``own`` marks a zhifu acquirer host whose paths must be well formed.
    """

    scheme: str
    host: str
    institution: str
    paths: tuple[tuple[str, CollectionKind], ...] = ()
    own: bool = False

    def kind_of(self, path: str) -> CollectionKind | None:
        low = path.lower()
        for pattern, kind in self.paths:
            if re.fullmatch(pattern, low):
                return kind
        return None if self.own else CollectionKind.UNKNOWN


# zhifu's own URL paths [A]: /qr/m/<token> merchant static, /qr/p/<token> personal static,
# /qr/o/<token> dynamic per order; tokens are 8-32 characters of 0-9 A-Z (case-insensitive).
CODE_ID_PATTERN: Final = "[0-9a-z]{8,32}"
OWN_PATHS: Final[tuple[tuple[str, CollectionKind], ...]] = (
    (f"/qr/m/{CODE_ID_PATTERN}", CollectionKind.STATIC_MERCHANT),
    (f"/qr/p/{CODE_ID_PATTERN}", CollectionKind.STATIC_PERSONAL),
    (f"/qr/o/{CODE_ID_PATTERN}", CollectionKind.DYNAMIC_ORDER),
)
OWN_PATH_LETTER: Final = {
    CollectionKind.STATIC_MERCHANT: "m",
    CollectionKind.STATIC_PERSONAL: "p",
    CollectionKind.DYNAMIC_ORDER: "o",
}

HOST_RULES: Final[tuple[HostRule, ...]] = (
    HostRule("https", "pay.zhifu.test", "zhifu", OWN_PATHS, own=True),
    HostRule("https", "pay.huanyu.test", "huanyu", OWN_PATHS, own=True),
    HostRule("https", "pay.qingniao.test", "qingniao", OWN_PATHS, own=True),
    HostRule(
        "https",
        "qr.95516.com",
        "unionpay",
        ((r"/\d{8}/unifiednative.*", CollectionKind.DYNAMIC_ORDER),),
    ),
    HostRule(
        "https",
        "qr.alipay.com",
        "alipay",
        ((r"/bax.*", CollectionKind.DYNAMIC_ORDER), (r"/fkx.*", CollectionKind.STATIC)),
    ),
    HostRule("wxp", "", "wechat", ((r".*", CollectionKind.STATIC_PERSONAL),)),
    HostRule("weixin", "wxpay", "wechat", ((r"/bizpayurl.*", CollectionKind.DYNAMIC_ORDER),)),
)


class HostRegistry:
    """A checked table of host rules, looked up case-insensitively."""

    def __init__(self, rules: Iterable[HostRule]) -> None:
        self.rules: tuple[HostRule, ...] = tuple(rules)
        seen: set[tuple[str, str]] = set()
        for rule in self.rules:
            key = (rule.scheme, rule.host)
            if rule.scheme != rule.scheme.lower() or rule.host != rule.host.lower():
                raise UsageError("registry schemes and hosts are lower case", argument="rules")
            if key in seen:
                raise UsageError(f"duplicate host rule {key}", argument="rules")
            if rule.institution not in _BY_ID:
                raise UsageError(f"unknown institution {rule.institution!r}", argument="rules")
            seen.add(key)

    def find(self, scheme: str, host: str) -> HostRule | None:
        """The rule for this scheme and host (any case), or None."""
        scheme, host = scheme.lower(), host.lower()
        for rule in self.rules:
            if rule.scheme == scheme and rule.host in ("", host):
                return rule
        return None

    def hosts(self) -> tuple[str, ...]:
        return tuple(r.host for r in self.rules if r.host)

    def own_rule(self, institution_id: str) -> HostRule:
        for rule in self.rules:
            if rule.own and rule.institution == institution_id:
                return rule
        raise UsageError(f"no acquirer host for {institution_id!r}", argument="institution")


HOSTS: Final = HostRegistry(HOST_RULES)


# ---------------------------------------------------------------------------------------------
# EMVCo identifiers -> institution: MPM merchant-account IDs 02-25 (Table 4.1), globally unique
# identifiers in templates 26-51 / 80-99, and CPM application identifiers (RIDs).

MPM_PRIMITIVE_IDS: Final[dict[str, str]] = {
    **dict.fromkeys(("02", "03"), "visa"),
    **dict.fromkeys(("04", "05"), "mastercard"),
    **dict.fromkeys(("06", "07", "08"), "emvco"),
    **dict.fromkeys(("09", "10"), "discover"),
    **dict.fromkeys(("11", "12"), "amex"),
    **dict.fromkeys(("13", "14"), "jcb"),
    **dict.fromkeys(("15", "16"), "unionpay"),
    **{f"{i:02d}": "emvco" for i in range(17, 26)},
}
# GUIs compared case-insensitively; zhifu's are reverse domain names [A], UnionPay's is its RID.
MPM_GUIS: Final[dict[str, str]] = {
    "test.zhifu.pay": "zhifu",
    "test.huanyu.pay": "huanyu",
    "test.qingniao.pay": "qingniao",
    "a000000333": "unionpay",
}
CPM_RIDS: Final[dict[str, str]] = {
    "A000000333": "unionpay",
    "A000000003": "visa",
    "A000000004": "mastercard",
    "A000000025": "amex",
    "A000000065": "jcb",
    "A000000152": "discover",
}


def institution_for_gui(gui: str) -> str | None:
    """The institution of an MPM template's globally unique identifier (prefix match)."""
    low = gui.lower()
    return next((inst for key, inst in MPM_GUIS.items() if low.startswith(key)), None)


def institution_for_aid(aid_hex: str) -> str | None:
    """The network of a CPM application identifier, by its 5-byte RID."""
    return CPM_RIDS.get(aid_hex.upper()[:10])
