"""A demonstration day against a running stack (``make run``), on its seeded demo world.

1. **Cards** over TCP to the running acquirer: the six terminals of the world sign on; each
   makes a chip purchase (debit card, PIN), a contactless tap (credit card) and a swipe
   (magnetic-stripe card) and a balance inquiry; besides, a pre-authorisation and its
   completion, a fallback swipe, a void, a refund, an e-cash load, an expired card, a wrong
   PIN (then the right one), and a purchase whose answer is lost (a host that never answers:
   the terminal keeps the reversal and sends it before its next purchase). Each card stays at
   its terminal and makes at most two purchases in a run, under the risk rules' velocity (five a
   minute) that ``zhifu serve`` enforces. Every terminal settles its batch.
2. **Barcodes** over the HTTP API (:class:`~zhifu.barcode.api.client.ApiClient`, signed):
   merchants create orders whose codes a wallet of another institution pays (both ways);
   merchants scan customers' payment codes (micropay); a partial refund.
3. **Clearing** and 4. **checks**: :mod:`zhifu.cli.demo.stack_clearing`.

The day's card and barcode totals between banks become the BEPS items of the clearing step.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import Any

from zhifu.cli.demo import layout
from zhifu.cli.demo.day import DemoDay, Progress, _black_hole

__all__ = ["play_barcodes", "play_cards"]

_SETTLED_KINDS = {"purchase (chip)", "purchase (tap)", "purchase (swipe)", "purchase (fallback)",
                  "completion", "after the reversal"}  # fmt: skip


class _Cards:
    """The terminals and their cards; what the day approved, in fen."""

    def __init__(self, day: DemoDay, home: Path, world: dict[str, Any]) -> None:
        from zhifu.terminal import Terminal  # noqa: PLC0415 - the CLI starts fast

        self.day, self.home = day, home
        self.terms = [Terminal(home / t["folder"]) for t in world["terminals"]]
        for term in self.terms:
            term.timeout = 5.0
        self.settled = 0  # what the issuing bank owes the acquiring bank for the day

    def card(self, n: int, product: str) -> Path:
        return self.home / f"demo/cards/{self.terms[n].state.terminal_id}-{product}.json"

    def run(self, kind: str, n: int, txn: str, product: str | Path, **kw: Any) -> Any:
        card = product if isinstance(product, Path) else self.card(n, product)
        result = self.terms[n].transact(txn, card, **kw)
        self.day.note(kind, result)
        if result.approved and kind in _SETTLED_KINDS:
            self.settled += kw.get("amount", 0)
        return result

    def close(self) -> None:
        for term in self.terms:
            term.close()


def play_cards(day: DemoDay, home: Path, world: dict[str, Any], address: str,
               step: Progress) -> int:  # fmt: skip
    """The card part of the day (see the module docstring); what the issuer owes, in fen."""
    cards = _Cards(day, home, world)
    try:
        step("cards: terminals sign on")
        for term in cards.terms:
            if term.sign_on(address).get("39") != "00":
                raise RuntimeError(f"terminal {term.state.terminal_id} could not sign on")
        step("cards: chip, contactless, stripe, balance on every terminal")
        for n in range(len(cards.terms)):
            amount = 12_00 + 137 * n
            cards.run("purchase (chip)", n, "purchase", "debit", pin=layout.PIN, amount=amount)
            cards.run("purchase (tap)", n, "purchase", "credit", amount=8_50 + n, tap=True)
            cards.run("purchase (swipe)", n, "purchase", "magstripe", pin=layout.PIN,
                      amount=23_00 + n, swipe=True)  # fmt: skip
            cards.run("balance", n, "balance", "debit", pin=layout.PIN)
        step("cards: pre-authorisation, fallback, void, refund, e-cash load")
        _more_kinds(cards)
        step("cards: an expired card, a wrong PIN, a lost answer and its reversal")
        _faults(cards, address)
        step("cards: every terminal settles its batch")
        for term in cards.terms:
            settled = term.settle()
            day.outcomes["settlement", "balanced" if settled.get("balanced") else "uploaded"] += 1
    finally:
        cards.close()
    return cards.settled


def _more_kinds(cards: _Cards) -> None:
    held = cards.run("pre-authorisation", 0, "preauth", "credit", pin=layout.PIN, amount=300_00)
    cards.run("completion", 0, "complete", "credit", original=held.stan, amount=268_00)
    cards.run("purchase (fallback)", 0, "purchase", "debit", pin=layout.PIN, amount=5_00,
              fallback=True)  # fmt: skip
    sale = cards.terms[1].transact("purchase", cards.card(1, "debit"), pin=layout.PIN, amount=7_00)
    cards.day.note("purchase (to void)", sale)
    cards.run("void", 1, "void", "debit", pin=layout.PIN, original=sale.stan)
    sale = cards.run("purchase (chip)", 2, "purchase", "credit", pin=layout.PIN, amount=30_00)
    refund = cards.run("refund", 2, "refund", "credit", original=sale.stan, amount=10_00)
    if refund.approved:
        cards.settled -= 10_00
    cards.run("e-cash load", 3, "ecash-load", "debit", pin=layout.PIN, amount=20_00)


def _faults(cards: _Cards, address: str) -> None:
    expired = cards.home / layout.EXPIRED_CARD
    cards.run("expired card", 2, "purchase", expired, pin=layout.PIN, amount=1_00)
    cards.run("wrong PIN", 5, "purchase", "credit", pin="9999", amount=1_00)
    cards.run("balance (right PIN)", 5, "balance", "credit", pin=layout.PIN)
    term = cards.terms[4]
    server, port = _black_hole()
    try:
        term.link(f"127.0.0.1:{port}")
        cards.run("no answer", 4, "purchase", "credit", pin=layout.PIN, amount=3_00)
    finally:
        server.close()
    term.link(address)
    cards.run("after the reversal", 4, "purchase", "credit", pin=layout.PIN, amount=2_00)


# -- barcodes ------------------------------------------------------------------------------------


class _Api:
    """Signed clients of the barcode API: one per merchant and per institution."""

    def __init__(self, home: Path, world: dict[str, Any], url: str) -> None:
        from zhifu.barcode.api.client import ApiClient  # noqa: PLC0415
        from zhifu.barcode.api.signing import SigningKey, load_private_key  # noqa: PLC0415

        self.clients: dict[str, ApiClient] = {}
        parties = [(f"merchant:{m['id']}", m) for m in world["barcode"]["merchants"]]
        parties += [(f"institution:{i['id']}", i) for i in world["barcode"]["institutions"]]
        for name, party in parties:
            algorithm, private = load_private_key((home / party["key_file"]).read_bytes())
            self.clients[name] = ApiClient(url, SigningKey(party["key_id"], algorithm, private))
        self.acquirer = {m["id"]: m["institution"] for m in world["barcode"]["merchants"]}

    def post(self, who: str, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        answer = self.clients[who].post(path, body, idempotency_key=key)
        data = answer.json()
        if answer.status >= 300 or not isinstance(data, dict):
            raise RuntimeError(f"{path}: HTTP {answer.status} ({answer.error_code})")
        return data

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def _payment_code(device: Path) -> str:
    """The next one-time payment code of a provisioned phone (``zhifu barcode code``)."""
    from zhifu.cli.barcode.device import _code as show_code  # noqa: PLC0415

    data = show_code(argparse.Namespace(device=str(device), png=None)).data
    assert isinstance(data, dict)
    return str(data["code"])


def play_barcodes(day: DemoDay, home: Path, world: dict[str, Any], url: str,
                  step: Progress) -> list[tuple[str, str, int]]:  # fmt: skip
    """The barcode part of the day; the movements between institutions (payer, payee, fen)."""
    api = _Api(home, world, url)
    run = secrets.token_hex(4).upper()
    moved: list[tuple[str, str, int]] = []
    wallets = {w["account"]: w for w in world["barcode"]["wallets"]}
    try:
        step("barcodes: customers scan merchants' codes across institutions")
        paid = {}
        for n, (merchant, account, amount) in enumerate(
            (("BJTEA01", "AH0001", 26_00), ("SHBUN01", "AZ0001", 9_50),
             ("SZFRUIT01", "AZ0002", 15_00), ("SHBUN01", "AQ0001", 32_00))
        ):  # fmt: skip
            order = api.post(f"merchant:{merchant}", "/v1/orders", {
                "merchant_id": merchant, "out_trade_no": f"D{run}O{n}", "amount": amount,
                "description": "demo day", "expire_seconds": 600}, f"D{run}O{n}")  # fmt: skip
            wallet = wallets[account]
            payment = api.post(f"institution:{wallet['institution']}", "/v1/wallet/payments", {
                "code": order["code_url"], "customer_id": wallet["customer"],
                "account_id": account, "factors": ["device", "password"],
                "scan_source": "camera"}, f"D{run}W{n}")  # fmt: skip
            day.outcomes["barcode: customer scans", str(payment.get("status", "?"))] += 1
            moved.append((wallet["institution"], api.acquirer[merchant], amount))
            paid[n] = order["order_id"]
        step("barcodes: merchants scan customers' payment codes; a refund")
        for n, (merchant, account, amount) in enumerate(
            (("SHBUN01", "AZ0002", 12_34), ("BJTEA01", "AH0002", 18_00))
        ):  # fmt: skip
            code = _payment_code(home / wallets[account]["device"])
            order = api.post(f"merchant:{merchant}", "/v1/micropay", {
                "merchant_id": merchant, "out_trade_no": f"D{run}M{n}", "auth_code": code,
                "amount": amount, "description": "demo day"}, f"D{run}M{n}")  # fmt: skip
            day.outcomes["barcode: merchant scans", str(order.get("status", "?"))] += 1
            moved.append((wallets[account]["institution"], api.acquirer[merchant], amount))
        refund = api.post("merchant:BJTEA01", f"/v1/orders/{paid[0]}/refunds",
                          {"out_refund_no": f"D{run}R0", "amount": 6_00, "reason": "demo"},
                          f"D{run}R0")  # fmt: skip
        day.outcomes["barcode: refund", str(refund.get("status", "?"))] += 1
        if refund.get("status") == "succeeded":
            moved.append(("zhifu", "huanyu", 6_00))
    finally:
        api.close()
    return moved
