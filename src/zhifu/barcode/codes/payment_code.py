"""Payment codes (付款码) of zhifu's wallets: one-time numeric codes a phone computes offline.

A code is 16-24 digits, starts with its institution's prefix (see :mod:`registry`), carries no
account data, is valid for at most 60 s by default and is single use whatever the outcome of
the payment (296号; docs/standards/barcode.md §5.1). Luhn is never applied.

Construction (project-defined [A]; HMAC-SM3 in place of HMAC-SHA-1 in RFC 6238 / RFC 4226)::

    T    = floor((unix_time - 0) / X)                 RFC 6238 time step, X = step_seconds
    msg  = "ZHIFU-PAYCODE-1" || prefix || handle      ASCII digits
           || T (8 bytes, big-endian) || counter (4 bytes, big-endian)
    mac  = HMAC-SM3(device_secret, msg)               32 bytes
    o    = mac[31] & 0x0F                             RFC 4226 §5.3 dynamic truncation,
    v    = mac[o .. o+7] as big-endian & 2^63 - 1       widened from 4 bytes / 31 bits to
    otp  = v mod 10^otp_digits (zero-padded)            8 bytes / 63 bits for up to 18 digits
    code = prefix || handle || (T mod 10^step_digits) || counter || otp

The default layout is 18 digits: prefix 2, handle 7, step 2, counter 1, OTP 6. The *handle* is
a random number the issuer assigns to the device at enrolment (never derived from an account,
card or phone number); the issuer maps it to the device secret. The *counter* numbers the codes
a phone shows within one step (a fresh code after each use), so several codes per step are
possible and each is distinct.

Verification at the issuer (its own clock, step S): rebuild the full step s from its low digits
(the nearest value, then one period earlier), check the MAC in constant time, then the time:
``s > S + skew_steps`` -> NOT_YET_VALID (phone clock too far ahead); ``now - s*X >= ttl`` ->
EXPIRED (the TTL counts from the start of the code's step, so a code lives at most ttl and at
least ttl - X seconds; a phone up to ``skew_steps`` behind is still accepted because
``ttl >= (skew_steps + 1) * X`` is required); then the code is claimed in the
:class:`UsedCodeStore` (USED if it was already there). An authentic code is consumed when
accepted, before the payment runs, so it is spent whatever the payment's outcome.

>>> from datetime import datetime, timezone
>>> from zhifu.core.clock import FixedClock
>>> clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc))
>>> secret = bytes(range(32))
>>> phone = PaymentCodeGenerator(LAYOUT_ZHIFU, "1234567", secret, clock)
>>> code = phone.next_code(); len(code), code[:9]
(18, '911234567')
>>> devices = InMemoryDevices({"1234567": secret})
>>> issuer = PaymentCodeIssuer(LAYOUT_ZHIFU, devices, InMemoryUsedCodes(), clock)
>>> issuer.redeem(code).outcome, issuer.redeem(code).outcome
(<CodeOutcome.ACCEPTED: 'accepted'>, <CodeOutcome.USED: 'used'>)
"""

from __future__ import annotations

import hmac as _hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from zhifu.barcode.codes.payment_store import (
    DeviceDirectory,
    InMemoryDevices,
    InMemoryUsedCodes,
    UsedCodeStore,
)
from zhifu.barcode.registry import PREFIXES
from zhifu.core.clock import Clock
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.core.rng import RandomSource
from zhifu.crypto.hashes import Hash, hmac

__all__ = [
    "LAYOUT_HUANYU",
    "LAYOUT_QINGNIAO",
    "LAYOUT_ZHIFU",
    "CodeLayout",
    "CodeOutcome",
    "CodePolicy",
    "DeviceDirectory",
    "InMemoryDevices",
    "InMemoryUsedCodes",
    "PaymentCodeError",
    "PaymentCodeGenerator",
    "PaymentCodeIssuer",
    "Redemption",
    "UsedCodeStore",
    "compute_code",
    "derive_device_secret",
    "new_device_secret",
    "new_handle",
]

DOMAIN: Final = b"ZHIFU-PAYCODE-1"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class CodeLayout:
    """Where each part sits in a code; the total must be 16-24 digits."""

    prefix: str
    handle_digits: int = 7
    step_digits: int = 2
    counter_digits: int = 1
    otp_digits: int = 6

    def __post_init__(self) -> None:
        if not (self.prefix.isascii() and self.prefix.isdigit()):
            raise UsageError("the prefix is digits", argument="prefix")
        if not 6 <= self.otp_digits <= 18:
            raise UsageError("the OTP has 6 to 18 digits", argument="otp_digits")
        if min(self.handle_digits, self.step_digits, self.counter_digits) < 1:
            raise UsageError("handle, step and counter need a digit each", argument="layout")
        if not 16 <= self.length <= 24:
            raise UsageError(f"a code has 16-24 digits, not {self.length}", argument="layout")

    @property
    def length(self) -> int:
        parts = (self.handle_digits, self.step_digits, self.counter_digits, self.otp_digits)
        return len(self.prefix) + sum(parts)

    def split(self, code: str) -> tuple[str, int, int, str]:
        """(handle, step low digits, counter, otp) of a code of this layout."""
        i = len(self.prefix)
        handle = code[i : i + self.handle_digits]
        i += self.handle_digits
        step_low = int(code[i : i + self.step_digits])
        i += self.step_digits
        counter = int(code[i : i + self.counter_digits])
        return handle, step_low, counter, code[i + self.counter_digits :]


LAYOUT_ZHIFU: Final = CodeLayout("91")
LAYOUT_HUANYU: Final = CodeLayout("92")
LAYOUT_QINGNIAO: Final = CodeLayout("93")


@dataclass(frozen=True, slots=True)
class CodePolicy:
    """Time rules: step length X, code lifetime and the tolerated clock skew (in steps)."""

    step_seconds: int = 10
    ttl_seconds: int = 60
    skew_steps: int = 1

    def __post_init__(self) -> None:
        if self.step_seconds < 1 or self.skew_steps < 0:
            raise UsageError("the step is >= 1 s and the skew >= 0 steps", argument="policy")
        if self.ttl_seconds < (self.skew_steps + 1) * self.step_seconds:
            raise UsageError(
                "the TTL must cover the skew window: ttl >= (skew_steps + 1) * step_seconds",
                argument="ttl_seconds",
            )

    def step_at(self, when: datetime) -> int:
        return _micros(when) // (self.step_seconds * 1_000_000)


def _pow10(digits: int) -> int:
    return int(10**digits)


def _micros(when: datetime) -> int:
    return (when - _EPOCH) // _MICRO


def new_handle(rng: RandomSource, layout: CodeLayout) -> str:
    """A random device handle for enrolment (the issuer must check it is not in use)."""
    return str(rng.below(_pow10(layout.handle_digits))).zfill(layout.handle_digits)


def new_device_secret(rng: RandomSource) -> bytes:
    """A 32-byte device secret (use :class:`SystemRandomSource` outside tests)."""
    return rng.bytes(32)


def derive_device_secret(master_key: bytes, handle: str) -> bytes:
    """A device secret derived from an issuer master key: HMAC-SM3(master, "DEVICE" || handle).

    An issuer may store per-device random secrets instead; both work with the issuer below.
    """
    if len(master_key) < 16:
        raise UsageError("the master key needs at least 16 bytes", argument="master_key")
    return hmac(Hash.SM3, master_key, b"DEVICE" + handle.encode("ascii"))


def compute_otp(secret: bytes, layout: CodeLayout, handle: str, step: int, counter: int) -> str:
    """The OTP digits for a device, step and counter (see the module docstring)."""
    msg = (
        DOMAIN
        + layout.prefix.encode("ascii")
        + handle.encode("ascii")
        + step.to_bytes(8, "big")
        + counter.to_bytes(4, "big")
    )
    mac = hmac(Hash.SM3, secret, msg)
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 8], "big") & 0x7FFF_FFFF_FFFF_FFFF
    return str(value % _pow10(layout.otp_digits)).zfill(layout.otp_digits)


def compute_code(secret: bytes, layout: CodeLayout, handle: str, step: int, counter: int) -> str:
    """The whole code for a device, step and counter."""
    if len(handle) != layout.handle_digits or not (handle.isascii() and handle.isdigit()):
        raise UsageError(f"the handle is {layout.handle_digits} digits", argument="handle")
    if not 0 <= counter < _pow10(layout.counter_digits):
        raise UsageError("counter out of range for the layout", argument="counter")
    if step < 0:
        raise UsageError("the step is not negative", argument="step")
    step_low = str(step % _pow10(layout.step_digits)).zfill(layout.step_digits)
    otp = compute_otp(secret, layout, handle, step, counter)
    return f"{layout.prefix}{handle}{step_low}{counter:0{layout.counter_digits}d}{otp}"


class PaymentCodeGenerator:
    """The phone side: shows a fresh code on demand (offline, from its device secret)."""

    def __init__(
        self,
        layout: CodeLayout,
        handle: str,
        device_secret: bytes,
        clock: Clock,
        policy: CodePolicy | None = None,
    ) -> None:
        if len(device_secret) < 16:
            raise UsageError("the device secret needs at least 16 bytes", argument="device_secret")
        self.layout = layout
        self.handle = handle
        self._secret = bytes(device_secret)
        self._clock = clock
        self.policy = policy or CodePolicy()
        self._step = -1
        self._counter = -1

    def __repr__(self) -> str:  # never the secret
        return f"PaymentCodeGenerator(prefix={self.layout.prefix!r}, handle={self.handle!r})"

    def next_code(self) -> str:
        """A code never shown before by this generator (the counter moves within a step)."""
        step = self.policy.step_at(self._clock.now())
        if step != self._step:
            self._step, self._counter = step, 0
        else:
            self._counter += 1
        if self._counter >= _pow10(self.layout.counter_digits):
            raise UsageError(
                "every code of this time step has been shown; wait for the next step",
                argument="counter",
            )
        return compute_code(self._secret, self.layout, self.handle, step, self._counter)


class CodeOutcome(StrEnum):
    """What the issuer says about a presented code; every refusal is its own value."""

    ACCEPTED = "accepted"
    MALFORMED = "malformed"  # not 16-24 digits, or not this issuer's layout length
    OTHER_ISSUER = "other_issuer"  # a prefix this issuer does not own
    UNKNOWN_DEVICE = "unknown_device"
    INVALID = "invalid"  # the OTP does not verify
    NOT_YET_VALID = "not_yet_valid"  # from a step beyond the skew window
    EXPIRED = "expired"
    USED = "used"

    @property
    def error_code(self) -> str:
        """A stable API error code (AUTH_CODE_* in the style of the micropay APIs)."""
        return "OK" if self is CodeOutcome.ACCEPTED else f"AUTH_CODE_{self.name}"


class PaymentCodeError(ZhifuError):
    """A code was refused; ``outcome`` says why (``str`` never includes the code)."""

    def __init__(self, outcome: CodeOutcome) -> None:
        super().__init__(f"payment code refused: {outcome.value}")
        self.outcome = outcome


@dataclass(frozen=True, slots=True)
class Redemption:
    """The issuer's answer; the code's parts are set once it has been authenticated."""

    outcome: CodeOutcome
    handle: str | None = None
    step: int | None = None
    counter: int | None = None
    generated_at: datetime | None = field(default=None)

    @property
    def accepted(self) -> bool:
        return self.outcome is CodeOutcome.ACCEPTED

    def require(self) -> Redemption:
        """Self if accepted, else raise :class:`PaymentCodeError` with the outcome."""
        if not self.accepted:
            raise PaymentCodeError(self.outcome)
        return self


class PaymentCodeIssuer:
    """The issuer side: authenticates a code, checks its age and spends it exactly once."""

    def __init__(
        self,
        layout: CodeLayout,
        devices: DeviceDirectory,
        used: UsedCodeStore,
        clock: Clock,
        policy: CodePolicy | None = None,
    ) -> None:
        self.layout = layout
        self.policy = policy or CodePolicy()
        period = _pow10(layout.step_digits) * self.policy.step_seconds
        window = self.policy.ttl_seconds + (self.policy.skew_steps + 1) * self.policy.step_seconds
        if period < 2 * window:
            raise UsageError(
                "step_digits too small: the step period must be twice the acceptance window",
                argument="layout",
            )
        self._devices = devices
        self._used = used
        self._clock = clock

    def check(self, code: str) -> Redemption:
        """Everything :meth:`redeem` checks except spending; USED if already spent."""
        return self._verify(code, spend=False)

    def redeem(self, code: str) -> Redemption:
        """Verify and spend the code: ACCEPTED once, USED afterwards, whatever happens next."""
        return self._verify(code, spend=True)

    def _verify(self, code: str, *, spend: bool) -> Redemption:
        if not isinstance(code, str) or not (code.isascii() and code.isdigit()):
            return Redemption(CodeOutcome.MALFORMED)
        rule = PREFIXES.lookup(code)
        if not code.startswith(self.layout.prefix):
            return Redemption(
                CodeOutcome.OTHER_ISSUER if rule is not None else CodeOutcome.MALFORMED
            )
        if len(code) != self.layout.length:
            return Redemption(CodeOutcome.MALFORMED)
        handle, step_low, counter, otp = self.layout.split(code)
        secret = self._devices.device_secret(handle)
        if secret is None:
            return Redemption(CodeOutcome.UNKNOWN_DEVICE)
        now = self._clock.now()
        step = self._authentic_step(secret, (handle, step_low, counter, otp), now)
        if step is None:
            return Redemption(CodeOutcome.INVALID)
        born = _EPOCH + timedelta(seconds=step * self.policy.step_seconds)
        if step > self.policy.step_at(now) + self.policy.skew_steps:
            outcome = CodeOutcome.NOT_YET_VALID
        elif _micros(now) - _micros(born) >= self.policy.ttl_seconds * 1_000_000:
            outcome = CodeOutcome.EXPIRED
        else:
            key = f"{self.layout.prefix}{handle}:{step}:{counter}"
            keep_until = born + timedelta(seconds=self.policy.ttl_seconds)
            fresh = self._used.claim(key, keep_until) if spend else not self._used.is_used(key)
            outcome = CodeOutcome.ACCEPTED if fresh else CodeOutcome.USED
        return Redemption(outcome, handle, step, counter, born)

    def _authentic_step(
        self, secret: bytes, parts: tuple[str, int, int, str], now: datetime
    ) -> int | None:
        handle, step_low, counter, otp = parts
        period = _pow10(self.layout.step_digits)
        current = self.policy.step_at(now)
        delta = (step_low - current) % period
        nearest = current + delta if delta < period // 2 else current + delta - period
        for step in (nearest, nearest - period):
            if step < 0:
                continue
            expected = compute_otp(secret, self.layout, handle, step, counter)
            if _hmac.compare_digest(expected, otp):
                return step
        return None
