"""Purchases per second terminal ↔ host on each interface: contact chip, contactless, stripe.

``python -m bench terminal``. Eight :class:`~zhifu.terminal.AsyncTerminal` objects in one event
loop send purchases back to back to the acquirer host (acquirer, in-process issuer and ledger
on SQLite files) started in this process, each with its own card file, for about ``seconds``
per interface: contact (the kernel's steps, DDA, ARQC and the second GENERATE AC), a contactless
tap (qPBOC: the cryptogram in the GPO answer, no PIN under the CVM limit), a magnetic-stripe
card swiped (tracks 2 and 3 enciphered under the TDK, the CVN checked by the issuer) and a chip
card's fallback swipe. The host and the terminals share this process and its
interpreter lock, so the figures are the whole path's cost, not a server's capacity
(``bench.payments`` measures the host alone with the load in another process).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench.harness import Row, print_table
from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.issuer import Issuer
from zhifu.terminal import AsyncTerminal, Terminal

TERMINALS = 8
MID = "898100012345678"
LMK = "6E" * 32
PIN = "1234"
KINDS = (
    ("contact", {}),
    ("contactless", {"tap": True}),
    ("magstripe swipe", {"swipe": True}),
    ("fallback swipe", {"fallback": True}),
)


async def _load(term: AsyncTerminal, card: Path, options: dict[str, bool], until: float) -> int:
    done = 0
    while time.perf_counter() < until:
        pin = None if options.get("tap") else PIN
        result = await term.transact("purchase", card, pin=pin, amount=100, **options)
        done += result.approved
    return done


async def _phase(folders: list[Path], cards: list[Path], address: str, options: dict[str, bool],
                 seconds: float) -> float:  # fmt: skip
    if options.get("swipe"):  # a stripe card, swiped
        cards = [card.with_name(card.stem + "-stripe.json") for card in cards]
    terms = [AsyncTerminal(f) for f in folders]
    try:
        for term in terms:
            await term.sign_on(address)
        start = time.perf_counter()
        counts = await asyncio.gather(
            *(_load(t, c, options, start + seconds) for t, c in zip(terms, cards, strict=True))
        )
        return sum(counts) / (time.perf_counter() - start)
    finally:
        for term in terms:
            await term.close()


def measure(seconds: float = 2.0) -> dict[str, float]:
    """Approved purchases per second on each interface."""
    os.environ["ZHIFU_LMK"] = LMK
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = AcquirerConfig.local(folder / "var", port=0)
        background = start_in_background(config, environ={"ZHIFU_LMK": LMK})
        try:
            services = background.host.services
            issuer = services.issuer
            assert isinstance(issuer, Issuer)
            folders, cards = [], []
            for n in range(TERMINALS):
                tid = f"7000{n:04d}"
                reg = register_terminal(services.registry, services.hsm, MID, tid)
                parts = [c.material.reveal().hex() for c in reg.components]
                Terminal.init(folder / f"t{n}", MID, tid, parts).close()
                card = folder / f"card-{n}.json"
                issuer.issue_card("debit", 100_000_000, PIN, card)
                issuer.issue_card("magstripe", 100_000_000, PIN, folder / f"card-{n}-stripe.json")
                folders.append(folder / f"t{n}")
                cards.append(card)
            address = f"127.0.0.1:{background.port}"
            return {
                name: asyncio.run(_phase(folders, cards, address, options, seconds))
                for name, options in KINDS
            }
        finally:
            background.stop()


def run(seconds: float = 2.0) -> None:
    """Measure and print the table."""
    f = measure(seconds)
    rows = [Row("contact purchase, terminal ↔ host", f["contact"])] + [
        Row(f"{name} purchase, terminal ↔ host", f[name], "contact purchase", f["contact"])
        for name, _ in KINDS[1:]
    ]
    print_table(
        f"Terminal ↔ host purchases per second by interface ({TERMINALS} terminals, one process)",
        rows,
    )


if __name__ == "__main__":
    run()
