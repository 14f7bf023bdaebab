"""The ``qr`` kind of ``zhifu load``: a wallet paying a merchant's dynamic code over HTTP.

Before the load, :func:`prepare_qr` makes, in the running stack's barcode platform
(``$ZHIFU_HOME/barcode``, as ``zhifu barcode`` commands do), a load merchant at ``zhifu`` with an
SM2 key, an SM2 key for the institution ``huanyu`` and one ``huanyu`` wallet per virtual
terminal, topped up once per run; the private keys go to the load's folder. During the load,
each ``qr`` transaction is two signed requests to the web app (``--url``): the merchant creates
an order (``POST /v1/orders``) and the wallet's institution pays its code
(``POST /v1/wallet/payments``) — a payment that crosses the switch from huanyu to zhifu. Its
latency is both requests'. Each virtual terminal has its own pair of kept-alive connections.

>>> QrPayer.approved(200, {"status": "PAID"}), QrPayer.approved(409, {})
(True, False)
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from typing import Any, Final

from zhifu.barcode.api.client import ApiClient
from zhifu.barcode.api.signing import SigningKey
from zhifu.cli.barcode.support import default_home, platform
from zhifu.crypto import sm2

__all__ = ["QR_AMOUNT", "QrPayer", "prepare_qr"]

QR_AMOUNT: Final = 100  # 1.00 yuan a payment
MERCHANT: Final = "LOADQR01"
PAYER: Final = "huanyu"
TOP_UP: Final = 1_000_000  # 10,000.00 yuan per wallet and run


def prepare_qr(count: int) -> tuple[SigningKey, SigningKey, str]:
    """The merchant's and the institution's new keys, and this run's id (see the module)."""
    run = secrets.token_hex(4)
    args = argparse.Namespace(home=str(default_home()))
    merchant_key, _ = sm2.generate_keypair()
    wallet_key, _ = sm2.generate_keypair()
    with platform(args, create=True) as system:
        if system.directory.merchant(MERCHANT) is None:
            system.add_merchant(MERCHANT, "zhifu", "zhifu load 压测商户")
        system.add_key(f"merchant:{MERCHANT}", f"{MERCHANT}-{run}", merchant_key.public_key)
        system.add_key(f"institution:{PAYER}", f"load-{PAYER}-{run}", wallet_key.public_key)
        for n in range(count):
            system.open_wallet(PAYER, f"LQC{run}{n:04d}", f"LQA{run}{n:04d}")
            system.top_up(PAYER, f"LQA{run}{n:04d}", TOP_UP, f"load-{run}-{n}")
    return (SigningKey(f"{MERCHANT}-{run}", "SM2-SM3", merchant_key),
            SigningKey(f"load-{PAYER}-{run}", "SM2-SM3", wallet_key), run)  # fmt: skip


class QrPayer:
    """Performs ``qr`` transactions for each virtual terminal (one at a time per index)."""

    def __init__(self, url: str, keys: tuple[SigningKey, SigningKey, str]) -> None:
        self.url, (self.merchant_key, self.wallet_key, self.run) = url, keys
        self._clients: dict[int, tuple[ApiClient, ApiClient]] = {}
        self._count = 0

    @staticmethod
    def approved(status: int, body: Any) -> bool:
        """Whether a payment answer says paid."""
        return status in (200, 201) and isinstance(body, dict) and body.get("status") == "PAID"

    async def __call__(self, index: int) -> bool:
        return await asyncio.to_thread(self._pay, index)

    def _pay(self, index: int) -> bool:
        merchant, wallet = self._clients.setdefault(
            index, (ApiClient(self.url, self.merchant_key), ApiClient(self.url, self.wallet_key))
        )
        self._count += 1
        trade = f"LQ{self.run}{index:04d}{self._count:07d}"
        order = {"merchant_id": MERCHANT, "out_trade_no": trade, "amount": QR_AMOUNT,
                 "description": "zhifu load"}  # fmt: skip
        made = merchant.post("/v1/orders", order, idempotency_key=trade)
        if made.status not in (200, 201):
            return False
        pay = {"code": made.json()["code_url"], "customer_id": f"LQC{self.run}{index:04d}",
               "account_id": f"LQA{self.run}{index:04d}", "factors": ["password"],
               "scan_source": "camera"}  # fmt: skip
        paid = wallet.post("/v1/wallet/payments", pay, idempotency_key=f"P{trade}")
        return self.approved(paid.status, paid.json())

    def close(self) -> None:
        for merchant, wallet in self._clients.values():
            merchant.close()
            wallet.close()
