"""People and access: the RFC 6238 test vectors (SHA-1, SHA-256, SHA-512), replay and drift of
TOTP codes, scrypt password hashes, and the lockout and idle thresholds exactly."""

from __future__ import annotations

import pytest

from zhifu.core.errors import DecodeError, UsageError
from zhifu.security.access import (
    SignInPolicy,
    SignInState,
    hash_password,
    totp,
    verify_password,
    verify_totp,
)

SECRETS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# RFC 6238 Appendix B: time, then the 8-digit code for SHA-1, SHA-256, SHA-512
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("now", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc_6238_vectors(now: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert totp(SECRETS[algorithm], now, digits=8, algorithm=algorithm) == expected


def test_a_code_is_taken_once_within_one_step_of_drift() -> None:
    secret, now = b"zhifu-totp-secret-0001", 1_750_000_000
    code = totp(secret, now)
    step = verify_totp(secret, code, now + 30)  # the phone's clock one step behind
    assert step == now // 30
    assert verify_totp(secret, code, now, last_step=step) is None  # replayed
    assert verify_totp(secret, code, now + 90) is None  # three steps later: stale
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert verify_totp(secret, wrong, now) is None


def test_passwords_are_hashed_and_checked() -> None:
    stored = hash_password("twelve chars")
    assert "twelve" not in stored and verify_password("twelve chars", stored)
    assert not verify_password("twelve charz", stored)
    assert hash_password("twelve chars") != stored  # salted
    with pytest.raises(UsageError, match="12 characters"):
        hash_password("eleven char")
    with pytest.raises(DecodeError):
        verify_password("twelve chars", "md5$abc")


def test_lockout_after_exactly_ten_failures_for_exactly_thirty_minutes() -> None:
    policy, state = SignInPolicy(), SignInState()
    for n in range(9):
        state = policy.failed(state, now=n)
        assert not policy.locked(state, now=n)
    state = policy.failed(state, now=100)
    assert policy.locked(state, now=100) and policy.locked(state, now=100 + 1799.999)
    assert not policy.locked(state, now=100 + 1800)
    fresh = policy.succeeded(policy.failed(SignInState(), now=0), now=1)
    assert fresh.failures == 0  # a success resets the count


def test_idle_for_exactly_fifteen_minutes_signs_out() -> None:
    policy = SignInPolicy()
    state = policy.succeeded(SignInState(), now=1000)
    assert policy.active(state, now=1000 + 899.999)
    assert not policy.active(state, now=1000 + 900)
    state = policy.touched(state, now=1500)
    assert policy.active(state, now=1500 + 899)
    assert not policy.active(SignInState(), now=0)
