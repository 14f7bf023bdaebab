"""The acquirer asking an issuer host over TCP (``zhifu issuer run`` / ``RemoteIssuer``)
instead of the in-process issuer: the same answers, the same money."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.issuer import Issuer
from zhifu.issuer.link import ReversalRequest
from zhifu.issuer.remote import RemoteIssuer, serve_issuer
from zhifu.issuer.store import IssuerStore
from zhifu.ledger import Ledger
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.pki import client_context, init_local_pki, server_context
from zhifu.security.store import KeyStore
from zhifu.terminal import Terminal

from .conftest import LMK, MID, pan_of


@pytest.fixture(params=["tcp", "mutual-tls"])
def issuer_host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Issuer, int]]:
    tls = None
    if request.param == "mutual-tls":
        init_local_pki(tmp_path / "pki", clients=["acquirer"])
        tls = server_context(tmp_path / "pki", client_auth=True)
    home = tmp_path / "var"
    home.mkdir(mode=0o700)
    store = KeyStore.open(home / "keys.db", environ={"ZHIFU_LMK": LMK})
    ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
    (home / "issuer").mkdir(mode=0o700)
    issuer = Issuer(SoftHsm(store), ledger, IssuerStore(home / "issuer" / "issuer.db"))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.Server] = {}

    async def main() -> None:
        holder["server"] = await serve_issuer(issuer, "127.0.0.1", 0, tls=tls)
        started.set()
        async with holder["server"]:
            with contextlib.suppress(asyncio.CancelledError):
                await holder["server"].serve_forever()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    assert started.wait(10)
    yield issuer, holder["server"].sockets[0].getsockname()[1]
    loop.call_soon_threadsafe(holder["server"].close)
    thread.join(10)
    issuer.close()
    ledger.close()
    store.close()


def test_purchases_through_an_issuer_host(
    tmp_path: Path, issuer_host: tuple[Issuer, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    issuer, port = issuer_host
    card = tmp_path / "card-remote.json"
    issuer.issue_card("debit", 50_000, "1234", card)
    pki = tmp_path / "pki"
    tls = {"tls_folder": str(pki), "issuer_tls": True} if pki.is_dir() else {}
    config = AcquirerConfig.local(tmp_path / "var", port=0, issuer_address=f"127.0.0.1:{port}",
                                  **tls)  # type: ignore[arg-type]  # fmt: skip
    acquirer = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    try:
        services = acquirer.host.services
        reg = register_terminal(services.registry, services.hsm, MID, "10000099")
        parts = [c.material.reveal().hex() for c in reg.components]
        term = Terminal.init(tmp_path / "term", MID, "10000099", parts)
        term.tls = client_context(pki) if tls else None
        assert term.sign_on(f"127.0.0.1:{acquirer.port}").get("39") == "00"
        sale = term.transact("purchase", card, pin="1234", amount=2_500)
        assert sale.approved and issuer.balances(pan_of(card)).available == 47_500
        assert term.transact("purchase", card, pin="0000", amount=1).response_code == "55"
        balance = term.transact("balance", card, pin="1234")
        assert balance.approved and balance.balance == 47_500
        void = term.transact("void", card, pin="1234", original=sale.stan)
        assert void.approved and issuer.balances(pan_of(card)).available == 50_000
        assert issuer.ledger.check().balanced
    finally:
        acquirer.stop()


def test_an_acquirer_without_the_client_certificate_gets_no_answer(
    tmp_path: Path, issuer_host: tuple[Issuer, int]
) -> None:
    issuer, port = issuer_host
    if not (tmp_path / "pki").is_dir():
        pytest.skip("the plain TCP link has no certificates to leave out")
    card = tmp_path / "card-x.json"
    issuer.issue_card("debit", 50_000, "1234", card)
    anonymous = RemoteIssuer(("127.0.0.1", port), timeout=2, tls=client_context(tmp_path / "pki"))
    answer = anonymous.reverse(ReversalRequest("10000099-000001-000001", "96"))
    assert answer.field_39 == "98" and not answer.found  # the handshake refused it
