"""Payment codes: the prefix registry (docs/standards/barcode.md §2, §5.1) and zhifu's one-time
codes (HMAC-SM3, TOTP-like) verified at the issuer with a FixedClock: skew window edges, expiry at
exactly 60 s, single use, typed refusals (docs/standards/security.md R24)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from zhifu.barcode.codes.payment_code import (
    LAYOUT_HUANYU,
    LAYOUT_ZHIFU,
    CodeLayout,
    CodeOutcome,
    CodePolicy,
    InMemoryDevices,
    InMemoryUsedCodes,
    PaymentCodeError,
    PaymentCodeGenerator,
    PaymentCodeIssuer,
    compute_code,
    compute_otp,
    derive_device_secret,
    new_device_secret,
    new_handle,
)
from zhifu.barcode.registry import PREFIXES, PrefixRegistry, PrefixRule
from zhifu.core.clock import FixedClock
from zhifu.core.errors import UsageError
from zhifu.core.rng import SeededRandom
from zhifu.crypto.hashes import Hash, hmac

START = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)  # a multiple of 10 s: a step boundary
SECRET = bytes(range(32))
HANDLE = "1234567"
OK, Outcome = CodeOutcome.ACCEPTED, CodeOutcome


def make(
    policy: CodePolicy | None = None, phone_offset: float = 0.0
) -> tuple[FixedClock, PaymentCodeGenerator, PaymentCodeIssuer]:
    issuer_clock = FixedClock(START)
    phone_clock = FixedClock(START + timedelta(seconds=phone_offset))
    phone = PaymentCodeGenerator(LAYOUT_ZHIFU, HANDLE, SECRET, phone_clock, policy)
    devices = InMemoryDevices({HANDLE: SECRET})
    issuer = PaymentCodeIssuer(LAYOUT_ZHIFU, devices, InMemoryUsedCodes(), issuer_clock, policy)
    return issuer_clock, phone, issuer


# --- prefix registry -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "institution"),
    [
        ("120061098828009406", "wechat"),  # WeChat micropay API doc sample
        ("135112298638468293", "wechat"),
        ("134621141753364349", "wechat"),
        ("28763443825664394", "alipay"),  # 17 digits, alipay.trade.pay doc sample
        ("289431869362714645", "alipay"),
        ("286664990659481080", "alipay"),
        ("6212345678901234567", "unionpay"),  # synthetic 19-digit (no public sample)
        ("911234567010123456", "zhifu"),
        ("921234567010123456", "huanyu"),
        ("931234567010123456", "qingniao"),
    ],
)
def test_prefix_registry_finds_the_issuer(code: str, institution: str) -> None:
    rule = PREFIXES.lookup(code)
    assert rule is not None and rule.institution == institution


@pytest.mark.parametrize(
    "code",
    [
        "1200610988280094061",  # 12... with 19 digits: neither WeChat nor UnionPay
        "12006109882800940",  # 12... with 17 digits
        "621234567890123456",  # 62... with 18 digits
        "2500000000000000000000000",  # 25 digits: over Alipay's 24
        "250000000000000",  # 15 digits
        "3100000000000000000",  # 31: nobody's
        "12006109882800940A",
        "１２００６１０９８８２８００９４０６",  # full-width digits
        "",
    ],
)
def test_prefix_registry_checks_prefix_and_length(code: str) -> None:
    assert PREFIXES.lookup(code) is None


@pytest.mark.parametrize("length", range(16, 25))
def test_alipay_takes_16_to_24_digits(length: int) -> None:
    rule = PREFIXES.lookup("25" + "0" * (length - 2))
    assert rule is not None and rule.institution == "alipay"


def test_luhn_is_never_applied() -> None:
    # the public samples fail Luhn (docs/standards/barcode.md §2 [V]) and are still recognised
    assert PREFIXES.lookup("120061098828009406") is not None


def test_overlapping_rules_are_refused() -> None:
    with pytest.raises(UsageError):
        PrefixRegistry([PrefixRule("62", 19, 19, "unionpay"), PrefixRule("621", 18, 20, "zhifu")])
    PrefixRegistry([PrefixRule("62", 19, 19, "unionpay"), PrefixRule("621", 18, 18, "zhifu")])
    with pytest.raises(UsageError):
        PrefixRegistry([PrefixRule("62", 15, 19, "unionpay")])
    with pytest.raises(UsageError):
        PrefixRegistry([PrefixRule("62", 19, 19, "nobody")])


# --- construction ----------------------------------------------------------------------------


def test_construction_is_the_documented_one() -> None:
    step, counter = 178_007_760, 3
    msg = (
        b"ZHIFU-PAYCODE-1"
        + b"91"
        + HANDLE.encode()
        + step.to_bytes(8, "big")
        + (3).to_bytes(4, "big")
    )
    mac = hmac(Hash.SM3, SECRET, msg)
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 8], "big") & 0x7FFF_FFFF_FFFF_FFFF
    otp = f"{value % 10**6:06d}"
    assert compute_otp(SECRET, LAYOUT_ZHIFU, HANDLE, step, counter) == otp
    assert compute_code(SECRET, LAYOUT_ZHIFU, HANDLE, step, counter) == f"91{HANDLE}603{otp}"


def test_codes_are_18_digits_owned_by_the_prefix_and_carry_no_account_data() -> None:
    _, phone, _ = make()
    codes = {phone.next_code() for _ in range(10)}
    assert len(codes) == 10
    for code in codes:
        rule = PREFIXES.lookup(code)
        assert len(code) == 18 and rule is not None and rule.institution == "zhifu"
        # only the prefix, the device handle, the step, the counter and the OTP
        assert code[:9] == "91" + HANDLE
    with pytest.raises(UsageError):
        phone.next_code()  # an 11th code in one 10 s step


def test_counter_restarts_each_step() -> None:
    _, phone, _ = make()
    first = phone.next_code()
    phone._clock.advance(10)  # type: ignore[attr-defined]
    assert phone.next_code()[11] == first[11] == "0"


def test_layout_and_policy_are_checked() -> None:
    with pytest.raises(UsageError):
        CodeLayout("91", otp_digits=4)
    with pytest.raises(UsageError):
        CodeLayout("91", handle_digits=20)
    with pytest.raises(UsageError):
        CodePolicy(step_seconds=30, ttl_seconds=30, skew_steps=1)
    with pytest.raises(UsageError):
        PaymentCodeIssuer(
            CodeLayout("91", step_digits=1, handle_digits=8),
            InMemoryDevices(),
            InMemoryUsedCodes(),
            FixedClock(START),
        )


def test_enrolment_helpers() -> None:
    rng = SeededRandom(3)
    handles = {new_handle(rng, LAYOUT_ZHIFU) for _ in range(50)}
    assert all(len(h) == 7 and h.isdigit() for h in handles) and len(handles) > 40
    secret = new_device_secret(rng)
    assert len(secret) == 32
    clock = FixedClock(START)
    handle = handles.pop()
    phone = PaymentCodeGenerator(LAYOUT_ZHIFU, handle, secret, clock)
    issuer = PaymentCodeIssuer(
        LAYOUT_ZHIFU, InMemoryDevices({handle: secret}), InMemoryUsedCodes(), clock
    )
    assert issuer.redeem(phone.next_code()).accepted


def test_derived_device_secret() -> None:
    master = bytes(16)
    assert derive_device_secret(master, HANDLE) == hmac(Hash.SM3, master, b"DEVICE1234567")
    with pytest.raises(UsageError):
        derive_device_secret(b"short", HANDLE)


def test_secrets_stay_out_of_repr() -> None:
    _, phone, _ = make()
    assert (
        SECRET.hex() not in repr(phone)
        and repr(InMemoryDevices({HANDLE: SECRET})) == "InMemoryDevices(1 devices)"
    )


# --- verification ----------------------------------------------------------------------------


def test_accepted_once_then_used_whatever_the_outcome() -> None:
    _, phone, issuer = make()
    code = phone.next_code()
    assert issuer.check(code).outcome is OK  # check does not spend
    first = issuer.redeem(code)
    assert first.accepted and (first.handle, first.counter) == (HANDLE, 0)
    assert first.generated_at == START
    assert issuer.redeem(code).outcome is Outcome.USED
    assert issuer.check(code).outcome is Outcome.USED


def test_expiry_at_exactly_60_seconds() -> None:
    clock, phone, issuer = make()
    code = phone.next_code()  # generated at the start of its step
    clock.advance(59.999999)
    assert issuer.check(code).outcome is OK
    clock.advance(0.000001)
    assert issuer.redeem(code).outcome is Outcome.EXPIRED


def test_ttl_counts_from_the_start_of_the_step() -> None:
    clock, phone, issuer = make(phone_offset=9)  # phone and issuer both 9 s into the step
    clock.advance(9)
    code = phone.next_code()
    clock.advance(50.999)
    assert issuer.check(code).outcome is OK
    clock.advance(0.001)
    assert issuer.check(code).outcome is Outcome.EXPIRED


@pytest.mark.parametrize(
    ("phone_offset", "outcome"),
    [
        (0, OK),
        (10, OK),  # phone one step ahead: inside the +1 step window
        (19.999, OK),
        (20, Outcome.NOT_YET_VALID),  # two steps ahead
        (-10, OK),  # one step behind: still younger than the TTL
        (-50, OK),
        (-60, Outcome.EXPIRED),
    ],
)
def test_skew_window_edges(phone_offset: float, outcome: CodeOutcome) -> None:
    _, phone, issuer = make(phone_offset=phone_offset)
    assert issuer.redeem(phone.next_code()).outcome is outcome


def test_skew_window_is_configurable() -> None:
    policy = CodePolicy(step_seconds=10, ttl_seconds=60, skew_steps=2)
    _, phone, issuer = make(policy, phone_offset=20)
    assert issuer.redeem(phone.next_code()).outcome is OK
    _, phone, issuer = make(CodePolicy(skew_steps=0), phone_offset=10)
    assert issuer.redeem(phone.next_code()).outcome is Outcome.NOT_YET_VALID


def test_ttl_is_configurable() -> None:
    clock, phone, issuer = make(CodePolicy(ttl_seconds=30))
    code = phone.next_code()
    clock.advance(30)
    assert issuer.redeem(code).outcome is Outcome.EXPIRED


def test_long_expired_codes_are_still_recognised_as_expired() -> None:
    clock, phone, issuer = make()
    code = phone.next_code()
    clock.advance(900)  # past half the 1,000 s step period: found one period back
    assert issuer.redeem(code).outcome is Outcome.EXPIRED


def test_refusals_are_distinct() -> None:
    _, phone, issuer = make()
    code = phone.next_code()
    tampered = code[:-1] + str((int(code[-1]) + 1) % 10)
    other_device = code[:2] + "7654321" + code[9:]
    cases = {
        tampered: Outcome.INVALID,
        other_device: Outcome.UNKNOWN_DEVICE,
        "120061098828009406": Outcome.OTHER_ISSUER,
        code[:-1]: Outcome.MALFORMED,
        code + "0": Outcome.MALFORMED,
        "91abc": Outcome.MALFORMED,
        "１２３": Outcome.MALFORMED,  # full-width digits
        "990000000000000000": Outcome.MALFORMED,  # nobody's prefix
    }
    for presented, outcome in cases.items():
        assert issuer.redeem(presented).outcome is outcome, presented
    assert issuer.redeem(code).outcome is OK  # the refusals did not spend the real code


def test_refusal_errors_are_typed_and_do_not_quote_the_code() -> None:
    _clock, phone, issuer = make()
    code = phone.next_code()
    issuer.redeem(code).require()
    with pytest.raises(PaymentCodeError) as info:
        issuer.redeem(code).require()
    assert info.value.outcome is Outcome.USED and code not in str(info.value)
    assert Outcome.USED.error_code == "AUTH_CODE_USED"
    assert Outcome.EXPIRED.error_code == "AUTH_CODE_EXPIRED"


def test_institutions_do_not_accept_each_others_codes() -> None:
    clock = FixedClock(START)
    phone = PaymentCodeGenerator(LAYOUT_HUANYU, HANDLE, SECRET, clock)
    devices = InMemoryDevices({HANDLE: SECRET})
    zhifu = PaymentCodeIssuer(LAYOUT_ZHIFU, devices, InMemoryUsedCodes(), clock)
    huanyu = PaymentCodeIssuer(LAYOUT_HUANYU, devices, InMemoryUsedCodes(), clock)
    code = phone.next_code()
    assert zhifu.redeem(code).outcome is Outcome.OTHER_ISSUER
    assert huanyu.redeem(code).outcome is OK
    # the prefix is inside the MAC: moving a code to another prefix breaks it
    assert zhifu.redeem("91" + code[2:]).outcome is Outcome.INVALID


def test_a_code_is_spent_exactly_once_under_concurrency() -> None:
    _, phone, issuer = make()
    code = phone.next_code()
    results: list[CodeOutcome] = []
    threads = [
        threading.Thread(target=lambda: results.append(issuer.redeem(code).outcome))
        for _ in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(OK) == 1 and results.count(Outcome.USED) == 15


def test_used_store_forgets_only_expired_codes() -> None:
    clock = FixedClock(START)
    used = InMemoryUsedCodes(clock)
    assert used.claim("a", START + timedelta(seconds=60))
    clock.advance(59)
    assert not used.claim("a", START + timedelta(seconds=60)) and len(used) == 1
    clock.advance(1)
    assert used.claim("b", START + timedelta(seconds=120)) and not used.is_used("a")
