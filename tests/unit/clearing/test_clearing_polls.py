"""Signed polls: the refusal table, the canonical bytes, the time window and the nonce memory.

The guard runs here on a clock the test sets (Unix seconds); the HTTP side is in
tests/integration/clearing/test_clearing_polls_http.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zhifu.clearing.polls import (
    REFUSALS,
    WINDOW_SECONDS,
    PollAuthError,
    PollGuard,
    canonical_poll,
    sign_poll,
)
from zhifu.clearing.signing import KeyDirectory, Signer
from zhifu.core.errors import UsageError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

DOC = Path(__file__).resolve().parents[3] / "docs" / "clearing.md"
A = "102100099996"
T = 1_760_000_000
TARGET = f"/clearing/inbox/{A}?after=3"


class Clock:
    def __init__(self) -> None:
        self.now = T

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def setup() -> tuple[PollGuard, Signer, Clock]:
    hsm = SoftHsm(KeyStore.in_memory())
    key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
    keys = KeyDirectory(hsm)
    keys.register(A, hsm.get_public_key(key))
    clock = Clock()
    return PollGuard(keys, now=clock), Signer(hsm, key, A), clock


def test_the_refusal_table() -> None:
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", code) for code in REFUSALS)
    assert {code: status for code, (status, _) in REFUSALS.items() if status != 401} == {
        "bank_mismatch": 403
    }
    assert all(text and "\n" not in text for _, text in REFUSALS.values())


def test_every_refusal_is_documented_with_its_status() -> None:
    section = DOC.read_text(encoding="utf-8").split("## Signed polls", 1)[1].split("\n## ", 1)[0]
    for code, (status, _) in REFUSALS.items():
        assert f"| `{code}` | {status} |" in section, code


def test_the_canonical_bytes() -> None:
    assert canonical_poll("get", TARGET, A, T, "n" * 16) == (
        b"ZHIFU-BEPS-POLL-1\nGET\n/clearing/inbox/102100099996?after=3\n102100099996\n"
        b"1760000000\nnnnnnnnnnnnnnnnn\n"
    )
    with pytest.raises(UsageError, match="newline"):
        canonical_poll("GET", TARGET + "\n", A, T, "n" * 16)


def test_the_window_is_inclusive_and_either_way(setup: tuple[PollGuard, Signer, Clock]) -> None:
    guard, signer, clock = setup
    for offset, nonce in ((WINDOW_SECONDS, "a" * 16), (-WINDOW_SECONDS, "b" * 16)):
        clock.now = T + offset
        headers = sign_poll(signer, "GET", TARGET, timestamp=T, nonce=nonce)
        assert guard.check("GET", TARGET, A, headers) == A
    for offset in (WINDOW_SECONDS + 1, -WINDOW_SECONDS - 1):
        clock.now = T + offset
        headers = sign_poll(signer, "GET", TARGET, timestamp=T, nonce="c" * 16)
        with pytest.raises(PollAuthError, match="timestamp_stale"):
            guard.check("GET", TARGET, A, headers)


def test_a_nonce_is_remembered_as_long_as_its_timestamp_is_accepted(
    setup: tuple[PollGuard, Signer, Clock],
) -> None:
    guard, signer, clock = setup
    headers = sign_poll(signer, "GET", TARGET, timestamp=T, nonce="d" * 16)
    guard.check("GET", TARGET, A, headers)
    for step in range(0, WINDOW_SECONDS + 1, 60):
        clock.now = T + step
        with pytest.raises(PollAuthError) as refused:
            guard.check("GET", TARGET, A, headers)
        assert refused.value.code == "nonce_reused" and refused.value.status == 401
    clock.now = T + WINDOW_SECONDS + 1
    with pytest.raises(PollAuthError, match="timestamp_stale"):
        guard.check("GET", TARGET, A, headers)


def test_the_nonce_memory_is_pruned(setup: tuple[PollGuard, Signer, Clock]) -> None:
    guard, signer, _ = setup
    for n in range(4100):
        guard._seen[A, f"{n:016d}"] = T - 1  # forgotten already
    headers = sign_poll(signer, "GET", TARGET, timestamp=T, nonce="e" * 16)
    guard.check("GET", TARGET, A, headers)
    assert len(guard._seen) == 1
