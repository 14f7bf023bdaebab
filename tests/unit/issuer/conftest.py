"""Fixtures of the issuer tests: a real security module, ledger file, issuer database, chips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.issuer import Issuer
from zhifu.issuer.store import IssuerStore
from zhifu.ledger import Ledger
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.store import KeyStore


@pytest.fixture
def hsm() -> SoftHsm:
    return SoftHsm(KeyStore.in_memory())


@pytest.fixture
def issuer(tmp_path: Path, hsm: SoftHsm) -> Iterator[Issuer]:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    found = Issuer(hsm, ledger, IssuerStore(tmp_path / "issuer.db"))
    yield found
    found.close()
    ledger.close()
