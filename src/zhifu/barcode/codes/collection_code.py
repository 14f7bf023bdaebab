"""Collection codes (收款码) as URLs: recognise the issuer by scheme and host, refuse look-alikes.

Schemes and hosts are compared case-insensitively (Alipay upper-cases its URLs so that the QR
symbol can use alphanumeric mode). The URL is split by this module's own strict reader, not by
``urllib`` (whose lenient splitting is how look-alikes get through). Refused, each with its own
:class:`RefusalReason`:

- not a URL: no ``scheme://``, empty input, longer than 512 characters (NOT_A_URL);
- whitespace or control characters anywhere (CONTROL_CHARACTER);
- a backslash in the authority, as in ``https://pay.zhifu.test\\@evil`` (BACKSLASH);
- user information: ``https://pay.zhifu.test@evil.example/...`` (USERINFO);
- an explicit port, even the default one (PORT); an IP literal (IP_HOST);
- a trailing dot ``pay.zhifu.test.`` or an empty label (TRAILING_DOT, EMPTY_LABEL);
- non-ASCII (IDN, homograph) hosts and punycode ``xn--`` labels (NON_ASCII_HOST, PUNYCODE_HOST);
- percent-encoding or other characters outside ``a-z 0-9 - .`` in the host (HOST_CHARACTERS);
- a registered host under another label, ``evil.pay.zhifu.test`` (EXTRA_SUBDOMAIN), or with
  more labels after it, ``pay.zhifu.test.evil.example`` (LOOKALIKE_HOST);
- a host that reads like a registered one once confusable characters are folded
  (``0``/``o``, ``1``/``l``/``i``, ``rn``/``m``, ``vv``/``w``, ``-``/``.``) (LOOKALIKE_HOST);
- a registered host reached over another scheme, ``http://pay.zhifu.test`` (SCHEME_MISMATCH);
- on zhifu's own hosts, a path that is not ``/qr/{m,p,o}/<token>`` (BAD_PATH).

Any other host is UNKNOWN_HOST: a foreign code for the clearing layer, never guessed.

>>> classify_url("HTTPS://QR.ALIPAY.COM/FKX08154U5F2H5RLLWGX25").institution
'alipay'
>>> classify_url("https://pay.zhifu.test@evil.example/qr/o/ABCDEFGH").reason
<RefusalReason.USERINFO: 'userinfo'>
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from zhifu.barcode.registry import (
    HOSTS,
    OWN_PATH_LETTER,
    CollectionKind,
    HostRegistry,
    HostRule,
)
from zhifu.core.errors import UsageError
from zhifu.core.rng import RandomSource

MAX_URL_LENGTH: Final = 512
CODE_ID_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")
_HOST_CHARS: Final = re.compile(r"[a-z0-9\-.]*")
_IPV4: Final = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_CONFUSABLE: Final = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l"), ("-", "."))


class RefusalReason(StrEnum):
    NOT_A_URL = "not_a_url"
    CONTROL_CHARACTER = "control_character"
    BACKSLASH = "backslash"
    USERINFO = "userinfo"
    PORT = "port"
    IP_HOST = "ip_host"
    TRAILING_DOT = "trailing_dot"
    EMPTY_LABEL = "empty_label"
    NON_ASCII_HOST = "non_ascii_host"
    PUNYCODE_HOST = "punycode_host"
    HOST_CHARACTERS = "host_characters"
    EXTRA_SUBDOMAIN = "extra_subdomain"
    LOOKALIKE_HOST = "lookalike_host"
    SCHEME_MISMATCH = "scheme_mismatch"
    BAD_PATH = "bad_path"
    UNKNOWN_HOST = "unknown_host"

    @property
    def lookalike(self) -> bool:
        """True for every refusal except a plainly unknown host and a non-URL."""
        return self not in (RefusalReason.UNKNOWN_HOST, RefusalReason.NOT_A_URL)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a URL is not a collection code of a registered issuer."""

    reason: RefusalReason
    message: str


@dataclass(frozen=True, slots=True)
class CollectionCode:
    """A recognised collection code. ``token`` is the upper-cased token on zhifu's own hosts
    and the path (after the host) elsewhere."""

    url: str
    institution: str
    scheme: str
    host: str
    kind: CollectionKind
    token: str
    own: bool


@dataclass(frozen=True, slots=True)
class _Parts:
    scheme: str
    authority: str
    rest: str  # path, query and fragment, as written


def classify_url(url: str, hosts: HostRegistry = HOSTS) -> CollectionCode | Refusal:
    """Recognise a collection-code URL, or say why it is refused (see the module docstring)."""
    parts = _split(url)
    if isinstance(parts, Refusal):
        return parts
    rule = hosts.find(parts.scheme, "")
    if rule is not None and rule.host == "":
        return _accept(url, rule, parts.authority + parts.rest, "")
    host = _check_authority(parts.authority)
    if isinstance(host, Refusal):
        return host
    rule = hosts.find(parts.scheme, host)
    if rule is None:
        return _unregistered(parts.scheme, host, hosts)
    return _accept(url, rule, parts.rest, host)


def _split(url: str) -> _Parts | Refusal:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        return Refusal(RefusalReason.NOT_A_URL, "empty, not text, or over 512 characters")
    if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in url):
        return Refusal(RefusalReason.CONTROL_CHARACTER, "whitespace or control character")
    match = _SCHEME.match(url)
    if match is None:
        return Refusal(RefusalReason.NOT_A_URL, "no scheme:// at the start")
    end = len(url)
    for sep in "/?#":
        found = url.find(sep, match.end())
        if found != -1:
            end = min(end, found)
    return _Parts(match.group(1).lower(), url[match.end() : end], url[end:])


def _check_authority(authority: str) -> str | Refusal:
    host = authority.lower()
    labels = host.split(".")
    checks = (
        ("\\" in authority, RefusalReason.BACKSLASH, "backslash in the authority"),
        ("@" in authority, RefusalReason.USERINFO, "user information before the host"),
        ("[" in authority or "]" in authority, RefusalReason.IP_HOST, "IP literal host"),
        (":" in authority, RefusalReason.PORT, "explicit port"),
        (not authority.isascii(), RefusalReason.NON_ASCII_HOST, "non-ASCII (IDN) host"),
        (not host, RefusalReason.EMPTY_LABEL, "empty host"),
        (
            _HOST_CHARS.fullmatch(host) is None,
            RefusalReason.HOST_CHARACTERS,
            "host has characters outside a-z 0-9 - .",
        ),
        (host.endswith("."), RefusalReason.TRAILING_DOT, "trailing dot after the host"),
        ("" in labels, RefusalReason.EMPTY_LABEL, "empty label in the host"),
        (
            any(label.startswith("xn--") for label in labels),
            RefusalReason.PUNYCODE_HOST,
            "punycode (xn--) label",
        ),
        (_IPV4.fullmatch(host) is not None, RefusalReason.IP_HOST, "IP address host"),
    )
    for failed, reason, message in checks:
        if failed:
            return Refusal(reason, message)
    return host


def _unregistered(scheme: str, host: str, hosts: HostRegistry) -> Refusal:
    for known in hosts.hosts():
        if host == known:
            return Refusal(RefusalReason.SCHEME_MISMATCH, f"{known} is registered, not {scheme}")
        if host.endswith("." + known):
            return Refusal(RefusalReason.EXTRA_SUBDOMAIN, f"extra labels before {known}")
        if host.startswith(known + ".") or f".{known}." in f".{host}.":
            return Refusal(RefusalReason.LOOKALIKE_HOST, f"{known} followed by other labels")
        if _skeleton(host) == _skeleton(known):
            return Refusal(RefusalReason.LOOKALIKE_HOST, f"reads like {known}")
    return Refusal(RefusalReason.UNKNOWN_HOST, "host not in the registry")


def _skeleton(host: str) -> str:
    for seq, repl in _CONFUSABLE:
        host = host.replace(seq, repl)
    return host


def _accept(url: str, rule: HostRule, rest: str, host: str) -> CollectionCode | Refusal:
    path = re.split(r"[?#]", rest, maxsplit=1)[0]
    kind = rule.kind_of(path) if rule.host else rule.kind_of(rest)
    if kind is None:
        return Refusal(RefusalReason.BAD_PATH, "not a /qr/{m,p,o}/<token> path")
    token = path.rsplit("/", 1)[-1].upper() if rule.own else rest.lstrip("/")
    return CollectionCode(url, rule.institution, rule.scheme, host, kind, token, rule.own)


def new_token(rng: RandomSource, length: int = 20) -> str:
    """A random code token of ``length`` Crockford base32 characters (8-32)."""
    if not 8 <= length <= 32:
        raise UsageError("a token has 8-32 characters", argument="length")
    return "".join(CODE_ID_ALPHABET[rng.below(32)] for _ in range(length))


def collection_url(
    kind: CollectionKind, token: str, *, institution: str = "zhifu", hosts: HostRegistry = HOSTS
) -> str:
    """The URL of one of zhifu's own collection codes.

    >>> collection_url(CollectionKind.DYNAMIC_ORDER, "7K3M9Q2X8P4R")
    'https://pay.zhifu.test/qr/o/7K3M9Q2X8P4R'
    """
    letter = OWN_PATH_LETTER.get(kind)
    if letter is None:
        raise UsageError(f"zhifu issues no {kind.value} codes", argument="kind")
    if not (8 <= len(token) <= 32 and token.isascii() and token.isalnum()):
        raise UsageError("a token is 8-32 letters and digits", argument="token")
    rule = hosts.own_rule(institution)
    return f"{rule.scheme}://{rule.host}/qr/{letter}/{token.upper()}"
