"""BEPS items netted per second THROUGH XML: build, sign, validate, parse, net, settle.

``python -m bench.clearing_xml [seconds]``. 20 direct participants in 4 cities, caps ample,
ordinary credits of random amounts. Rows, each for about ``seconds``:

- one item per message: the bank builds and SM2-signs a beps.121; the centre
  (:class:`zhifu.clearing.transport.ClearingCentre`) parses it safely, validates it against its
  XSD, verifies the signature, checks the control sum, nets the item in the engine, and signs
  a ccms.900 confirmation and the forward to the payee bank; the round is then closed and
  settled in the ledger (timed too);
- packets of 1,000 items per message (one signature, one XSD validation per packet);
- baselines in the same run: the engine alone on the same items (objects built beforehand),
  and a plain Python dict loop adding amounts to bank pairs.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime

from bench.harness import Row, print_table
from zhifu.clearing import BusinessType, ClearingSystem, Item, NodeKind, Participant
from zhifu.clearing.messages.build import build, make_instruction
from zhifu.clearing.signing import Signer
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import SHANGHAI
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

START = datetime(2025, 10, 9, 9, 30, tzinfo=SHANGHAI)
CAPS = {NodeKind.NPC: 10**15, NodeKind.CCPC: 10**15}
CITIES = ("1000", "2900", "5810", "6510")
BANKS = [f"{100 + n:03d}{CITIES[n % 4]}{n:05d}" for n in range(20)]


def _world() -> tuple[ClearingCentre, dict[str, Signer]]:
    hsm = SoftHsm(KeyStore.in_memory())
    participants = [Participant(code, CITIES[n % 4], caps=CAPS) for n, code in enumerate(BANKS)]
    system = ClearingSystem(participants, start=START)
    for code in BANKS:
        system.fund(code, 10**14)
    centre = ClearingCentre.create(system, hsm)
    signers = {}
    for code in BANKS:
        key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
        signers[code] = Signer(hsm, key, code)
        centre.register(code, hsm.get_public_key(key))
    return centre, signers


def _items(n: int, prefix: str, rng: random.Random, payer: str | None = None) -> list[Item]:
    out = []
    for i in range(n):
        a = payer or rng.choice(BANKS)
        b = rng.choice([x for x in BANKS if x != a])
        amount = rng.randint(1, 5_000_000)
        out.append(Item(f"{prefix}{i}", BusinessType.ORDINARY_CREDIT, a, b, amount))
    return out


def time_one_per_message(seconds: float) -> tuple[int, float]:
    """Items netted per second with one item per signed message, settlement included."""
    centre, signers = _world()
    rng = random.Random(7)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        (item,) = _items(1, f"S{n}-", rng)
        msg_id = f"M{n}"
        packed = Item(item.item_id, item.business_type, item.payer_bank, item.payee_bank,
                      item.amount, msg_id)  # fmt: skip
        data = build(make_instruction([packed], msg_id, START), signers[item.payer_bank])
        centre.receive(data)
        n += 1
    centre.system.close_round()
    took = time.perf_counter() - start
    assert centre.system.books.balanced()
    return n, took


def time_packets(seconds: float, size: int = 1000) -> tuple[int, float]:
    """Items netted per second in packets of ``size`` items per signed message."""
    centre, signers = _world()
    rng = random.Random(8)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        payer = rng.choice(BANKS)
        msg_id = f"P{n}"
        items = [
            Item(i.item_id, i.business_type, i.payer_bank, i.payee_bank, i.amount, msg_id)
            for i in _items(size, f"{msg_id}-", rng, payer)
        ]
        centre.receive(build(make_instruction(items, msg_id, START), signers[payer]))
        n += size
    centre.system.close_round()
    took = time.perf_counter() - start
    assert centre.system.books.balanced()
    return n, took


def time_engine(items: list[Item]) -> float:
    centre, _ = _world()
    start = time.perf_counter()
    for item in items:
        centre.system.submit_item(item)
    centre.system.close_round()
    return time.perf_counter() - start


def time_dict(items: list[Item]) -> float:
    start = time.perf_counter()
    pairs: dict[tuple[str, str], int] = {}
    for item in items:
        key = (item.payer_bank, item.payee_bank)
        pairs[key] = pairs.get(key, 0) + item.amount
    return time.perf_counter() - start


def run(seconds: float = 3.0) -> None:
    """Print the table."""
    one, one_took = time_one_per_message(seconds)
    packed, packed_took = time_packets(seconds)
    same = _items(max(packed, 10_000), "E", random.Random(9))
    engine = len(same) / time_engine(same)
    loop = len(same) / time_dict(same)
    rows = [
        Row("XML, 1 item per signed message (centre: XSD, SM2, engine, ack, ledger)",
            one / one_took, "engine alone", engine),
        Row("XML, 1,000-item packets (centre: XSD, SM2, engine, ack, ledger)",
            packed / packed_took, "engine alone", engine),
        Row("engine alone, item by item + ledger", engine, "Python dict loop", loop),
    ]  # fmt: skip
    print_table("BEPS clearing through CNAPS2-like XML: items netted per second", rows)
    print(f"- {one:,} single-item messages and {packed:,} packed items in ~{seconds:g} s each")


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
