"""TLS 1.3 on the acquirer's port with the local PKI: a terminal signs on and buys over TLS;
a plain TCP terminal gets nothing; with client authentication only a certified client gets in."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.acquirer.background import BackgroundAcquirer
from zhifu.issuer import Issuer
from zhifu.security.pki import client_context, init_local_pki
from zhifu.terminal import NoAnswerError, Terminal

from .conftest import LMK, MID


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    folder = tmp_path / "pki"
    init_local_pki(folder, clients=["term"])
    return folder


def _host(tmp_path: Path, pki: Path, *, client_auth: bool) -> BackgroundAcquirer:
    config = dataclasses.replace(
        AcquirerConfig.local(tmp_path / "var", port=0), tls_folder=str(pki),
        tls_client_auth=client_auth,
    )  # fmt: skip
    return start_in_background(config, environ={"ZHIFU_LMK": LMK})


@pytest.fixture
def host(
    tmp_path: Path, pki: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BackgroundAcquirer]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.delenv("ZHIFU_LEDGER_URL", raising=False)
    background = _host(tmp_path, pki, client_auth=False)
    yield background
    background.stop()


def _terminal(host: BackgroundAcquirer, folder: Path, tid: str, timeout: float = 5.0) -> Terminal:
    services = host.host.services
    reg = register_terminal(services.registry, services.hsm, MID, tid)
    parts = [c.material.reveal().hex() for c in reg.components]
    term = Terminal.init(folder / f"term-{tid}", MID, tid, parts)
    term.timeout = timeout
    return term


def test_a_purchase_over_tls(host: BackgroundAcquirer, pki: Path, tmp_path: Path) -> None:
    address = f"127.0.0.1:{host.port}"
    plain = _terminal(host, tmp_path, "10000091", 1.0)
    with pytest.raises(NoAnswerError):
        plain.sign_on(address)  # TCP without TLS: the handshake never comes
    term = _terminal(host, tmp_path, "10000092")
    term.tls = client_context(pki)
    assert term.sign_on(address).get("39") == "00"
    issuer = host.host.services.issuer
    assert isinstance(issuer, Issuer)
    card = tmp_path / "card.json"
    issuer.issue_card("debit", 100_000, "1234", card)
    sale = term.transact("purchase", card, pin="1234", amount=1_00)
    assert sale.approved, sale.message
    wrong_ca = tmp_path / "other-pki"
    init_local_pki(wrong_ca)
    stranger = _terminal(host, tmp_path, "10000093", 1.0)
    stranger.tls = client_context(wrong_ca)  # a server of another CA is not trusted
    with pytest.raises(NoAnswerError):
        stranger.sign_on(address)


def test_mutual_tls_lets_only_certified_clients_in(
    pki: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.delenv("ZHIFU_LEDGER_URL", raising=False)
    background = _host(tmp_path, pki, client_auth=True)
    try:
        address = f"127.0.0.1:{background.port}"
        anonymous = _terminal(background, tmp_path, "10000094", 1.0)
        anonymous.tls = client_context(pki)
        with pytest.raises(NoAnswerError):
            anonymous.sign_on(address)
        certified = _terminal(background, tmp_path, "10000095")
        certified.tls = client_context(pki, "term")
        assert certified.sign_on(address).get("39") == "00"
        assert certified.tls.minimum_version is ssl.TLSVersion.TLSv1_3
    finally:
        background.stop()
