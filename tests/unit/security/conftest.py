"""Fixtures of the security-module tests: an in-memory SoftHsm and keys of known value.

A key "of known value" is formed inside the module from two components whose XOR is the
clear key, exactly the dual-control path a bank uses; the test keeps the clear value to check
results independently with zhifu.crypto (the module itself never gives it back).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest

from zhifu.crypto.cipher import xor
from zhifu.security.hsm.soft import KeyComponent, SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage, compute_kcv
from zhifu.security.secrets import KeyMaterial
from zhifu.security.store import KeyStore

MakeComponents = Callable[..., list[KeyComponent]]
KnownKey = Callable[..., KeyHandle]


def components_for(algorithm: KeyAlgorithm, clear: bytes, count: int = 2) -> list[KeyComponent]:
    """``count`` components (random, the last one fitted) whose XOR is ``clear``."""
    parts = [secrets.token_bytes(len(clear)) for _ in range(count - 1)]
    last = clear
    for part in parts:
        last = xor(last, part)
    parts.append(last)
    return [KeyComponent(KeyMaterial(p), compute_kcv(algorithm, p)) for p in parts]


@pytest.fixture
def make_components() -> MakeComponents:
    return components_for


@pytest.fixture
def store() -> Iterator[KeyStore]:
    s = KeyStore.in_memory()
    yield s
    s.close()


@pytest.fixture
def hsm(store: KeyStore) -> SoftHsm:
    return SoftHsm(store)


@pytest.fixture
def known_key(hsm: SoftHsm) -> KnownKey:
    """Form a key of known clear value inside ``hsm`` from two components."""

    def make(
        usage: KeyUsage,
        algorithm: KeyAlgorithm,
        clear: bytes,
        *,
        exportable: bool | None = None,
    ) -> KeyHandle:
        parts = components_for(algorithm, clear)
        return hsm.form_key_from_components(parts, usage, algorithm, exportable=exportable)

    return make
