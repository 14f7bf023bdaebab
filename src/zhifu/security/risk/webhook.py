"""Alerts to a webhook, signed so the receiver can trust them and refuse replays.

The body is the alert as JSON; the header ``Zhifu-Signature: t=<unix seconds>,v1=<hex>``
carries HMAC-SHA256 of ``"<t>." + body`` under a secret shared with the receiver (the scheme
of Stripe's webhooks). :func:`verify` refuses a signature that does not match, one older than
5 minutes (either way), and one seen before.

>>> body, header = sign(b'{"rule": "mac-failure-burst"}', b"shared secret", now=1_800_000_000)
>>> header  # doctest: +ELLIPSIS
't=1800000000,v1=...'
>>> seen = set()
>>> verify(body, header, b"shared secret", now=1_800_000_100, seen=seen)
True
>>> verify(body, header, b"shared secret", now=1_800_000_100, seen=seen)  # the same again
False
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import urllib.request
from typing import Final

from zhifu.core.errors import UsageError
from zhifu.security.risk.engine import Alert

__all__ = ["HEADER", "TOLERANCE_SECONDS", "send", "sign", "verify"]

HEADER: Final = "Zhifu-Signature"
TOLERANCE_SECONDS: Final = 300


def _mac(secret: bytes, stamp: int, body: bytes) -> str:
    return hmac.new(secret, str(stamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: bytes, *, now: float) -> tuple[bytes, str]:
    """The body and its ``Zhifu-Signature`` header value."""
    stamp = int(now)
    return body, f"t={stamp},v1={_mac(secret, stamp, body)}"


def verify(body: bytes, header: str, secret: bytes, *, now: float, seen: set[str]) -> bool:
    """Whether a delivery is authentic, fresh and new (``seen`` remembers signatures)."""
    parts = dict(p.partition("=")[::2] for p in header.split(","))
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > TOLERANCE_SECONDS:
        return False
    if not hmac.compare_digest(_mac(secret, int(stamp), body), given) or given in seen:
        return False
    seen.add(given)
    return True


def send(alert: Alert, url: str, secret: bytes, *, now: float, timeout: float = 5.0) -> int:
    """POST one alert; the HTTP status (an unreachable receiver raises ``OSError``)."""
    body, header = sign(json.dumps(dataclasses.asdict(alert)).encode(), secret, now=now)
    if not url.startswith(("http://", "https://")):
        raise UsageError("an http:// or https:// URL", argument="url")
    headers = {"Content-Type": "application/json", HEADER: header}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        return int(answer.status)
