"""A real zhifu web server (uvicorn, in a thread) on 127.0.0.1 over a barcode platform kept in a
temporary directory (its own SQLite database and one ledger file per institution), plus the
helpers the end-to-end tests share."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from zhifu.barcode.api.client import ApiClient
from zhifu.barcode.api.signing import SigningKey
from zhifu.barcode.codes.payment_code import PaymentCodeGenerator
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.core.clock import Clock
from zhifu.crypto import rsa, sm2
from zhifu.web.app import create_app
from zhifu.web.fastpath import create_asgi

SM2_MERCHANT = sm2.generate_keypair()
RSA_MERCHANT = rsa.generate_rsa_key(2048)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """The running server and the back office behind it."""

    system: BarcodeSystem
    home: Path
    url: str
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    pems: dict[str, bytes] = field(default_factory=dict)

    def next(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter):06d}"

    def merchant(
        self,
        institution: str = "zhifu",
        *,
        algorithm: str = "SM2-SM3",
        notify_url: str | None = None,
    ) -> tuple[str, ApiClient]:
        """A new merchant with a registered key, and a client signing for it."""
        merchant_id = self.next("M")
        self.system.add_merchant(merchant_id, institution, "Noodle Bar", notify_url=notify_url)
        key_id = f"{merchant_id}-k1"
        if algorithm == "SM2-SM3":
            private: Any = SM2_MERCHANT[0]
            self.system.add_key(f"merchant:{merchant_id}", key_id, SM2_MERCHANT[1])
            self.pems[key_id] = sm2.private_key_to_pem(private).encode()
        else:
            private = RSA_MERCHANT
            self.system.add_key(f"merchant:{merchant_id}", key_id, RSA_MERCHANT.public_key)
            self.pems[key_id] = rsa.private_key_to_pem(private).encode()
        return merchant_id, ApiClient(self.url, SigningKey(key_id, algorithm, private))

    def institution(self, institution: str) -> ApiClient:
        """A client signing for an institution's wallet backend."""
        key_id = f"{institution}-wallet-{next(self.counter)}"
        private, public = sm2.generate_keypair()
        self.system.add_key(f"institution:{institution}", key_id, public)
        return ApiClient(self.url, SigningKey(key_id, "SM2-SM3", private))

    def wallet(
        self,
        institution: str = "zhifu",
        *,
        balance: int = 1_000_000,
        grade: str = "C",
        clock: Clock | None = None,
    ) -> tuple[str, str, PaymentCodeGenerator]:
        """A funded wallet account and its enrolled phone."""
        customer, account = self.next("C"), self.next("A")
        self.system.open_wallet(institution, customer, account)
        self.system.top_up(institution, account, balance, f"topup-{account}")
        handle, secret = self.system.enroll_device(institution, customer, account, grade=grade)
        return customer, account, self.system.phone(institution, handle, secret, clock)

    def ledger_url(self, institution: str) -> str:
        return f"sqlite:///{self.home / f'ledger-{institution}.db'}"

    def state(self) -> tuple[object, ...]:
        """Every ledger balance and the order, payment and refund tables."""
        books = tuple(
            node.ledger.store.read(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending"
                " FROM accounts ORDER BY id"
            )
            for node in self.system.nodes.values()
        )
        tables = tuple(
            self.system.db.all(f"SELECT * FROM {table} ORDER BY 1")
            for table in ("orders", "payments", "refunds", "obligations", "limit_usage")
        )
        return books, tables


@pytest.fixture(scope="module", params=["served", "litestar"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A real server: the app ``zhifu serve`` serves (with the micropay fast path), and the
    bare Litestar app (every route through the framework): each test runs on both."""
    home = tmp_path_factory.mktemp("barcode")
    system = BarcodeSystem.open(home, backoff=(0.2, 0.4, 0.8))
    system.start()
    port = free_port()
    app = create_asgi if request.param == "served" else create_app
    config = uvicorn.Config(app(barcode=system), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-barcode", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Stack(system, home, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=15)
    system.close()
