"""The load of ``bench.payments``: 50 terminals in this process, over TCP to a host process.

Each terminal is a real :class:`zhifu.terminal.Terminal` (TMK from its components, signed on,
keys in its own security module); the purchases it sends are built the terminal's way but
with the card's cryptogram computed from the card's keys here, so that one process can keep
50 connections busy: field 55 with a fresh ARQC (the ATC goes up by one each time), the PIN
block under the PIK, the MAC under the MAK. Prints one JSON line of figures.

``python -m bench.payments_client SETUP.json PORT SECONDS``
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from zhifu.card.image.model import CardImage
from zhifu.card.scripted import ONLINE_TAGS, terminal_values
from zhifu.codec.tlv import Tlv
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher
from zhifu.iso8583 import Header, Message, Tpdu, decode, frame, read_frame
from zhifu.iso8583.fields_55 import build_icc_data
from zhifu.iso8583.mac import hsm_mac_fn, sign
from zhifu.security.hsm.data import MacAlgorithm
from zhifu.terminal import Terminal

TPDU, HEADER = Tpdu("6000030000"), Header("613100311108")
IAD = bytes.fromhex("07010103000000010A01000000000000000000")
AIP = bytes.fromhex("7C00")


class Load:
    """One terminal's connection and its request builder."""

    def __init__(self, term: Terminal, card: Path, pin: str) -> None:
        self.term = term
        app = CardImage.load(card).applications[0]
        self.pan = (app.internal(0x5A) or b"").hex().upper().rstrip("F")
        self.track = (app.internal(0x57) or b"").hex().upper().rstrip("F")
        self.expiry = (app.internal(0x5F24) or b"").hex()[:4]
        self.mk_ac = app.keys["tdes"].mk_ac
        self.atc = app.state.atc
        self.pin_block = term._pin_block(pin, self.pan)
        self.mac = hsm_mac_fn(term.hsm, (term.state.keys or {})["mak"], MacAlgorithm.CUP_ECB)
        self.stan = term.state.next_stan
        self.latencies: list[float] = []

    def _base(self, txn_type: str, network: str) -> dict[str, str]:
        self.stan = self.stan % 999_999 + 1
        state = self.term.state
        return {
            "11": f"{self.stan:06d}",
            "41": state.terminal_id,
            "42": state.merchant_id,
            "60": f"{txn_type}{state.batch}{network}",
        }

    def echo(self) -> bytes:
        return frame(TPDU, HEADER, sign(Message("0820", self._base("00", "301")), self.mac))

    def purchase(self, amount: int) -> bytes:
        self.atc += 1
        atc = self.atc.to_bytes(2, "big")
        values = terminal_values(amount, un=self.stan.to_bytes(4, "big"))
        data = emv.build_ac_data_pboc(
            tag_9f02=values[0x9F02],
            tag_9f03=values[0x9F03],
            tag_9f1a=values[0x9F1A],
            tag_95=values[0x95],
            tag_5f2a=values[0x5F2A],
            tag_9a=values[0x9A],
            tag_9c=values[0x9C],
            tag_9f37=values[0x9F37],
            tag_82=AIP,
            tag_9f36=atc,
            tag_9f10=IAD,
        )
        sk = emv.derive_pboc_session_key(Cipher.TDES, self.mk_ac, atc)
        icc = {tag: values[tag] for tag in ONLINE_TAGS}
        icc.update(
            {
                0x9F26: emv.generate_ac(Cipher.TDES, sk, data),
                0x9F27: b"\x80",
                0x9F36: atc,
                0x9F10: IAD,
                0x82: AIP,
            }
        )
        fields = {
            **self._base("22", "000"),
            "2": self.pan,
            "3": "000000",
            "4": f"{amount:012d}",
            "14": self.expiry,
            "22": "051",
            "23": "001",
            "25": "00",
            "35": self.track,
            "49": "156",
            "52": self.pin_block,
            "53": "2600000000000000",
            "55": build_icc_data(Tlv(t, v) for t, v in icc.items()),
        }
        return frame(TPDU, HEADER, sign(Message("0200", fields), self.mac))


async def _run(load: Load, port: int, kind: str, deadline: float) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = declined = 0
    try:
        while time.perf_counter() < deadline:
            request = load.echo() if kind == "echo" else load.purchase(100)
            start = time.perf_counter()
            writer.write(request)
            await writer.drain()
            answer = await read_frame(reader)
            load.latencies.append(time.perf_counter() - start)
            assert answer is not None, "the host closed the connection"
            done += 1
            declined += decode(answer.message).get("39") != "00"
    finally:
        writer.close()
    return done, declined


async def _phase(loads: list[Load], port: int, kind: str, seconds: float) -> dict[str, Any]:
    for load in loads:
        load.latencies = []
    start = time.perf_counter()
    counts = await asyncio.gather(*(_run(x, port, kind, start + seconds) for x in loads))
    took = time.perf_counter() - start
    latencies = sorted(v for load in loads for v in load.latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    return {
        "rate": sum(c for c, _ in counts) / took,
        "count": sum(c for c, _ in counts),
        "declined": sum(d for _, d in counts),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": p99 * 1000,
    }


def main(argv: list[str]) -> int:
    setup = json.loads(Path(argv[0]).read_text())
    port, seconds = int(argv[1]), float(argv[2])
    loads = []
    for item in setup["terminals"]:
        term = Terminal.init(item["state"], setup["merchant"], item["terminal"], item["components"])
        assert term.sign_on(f"127.0.0.1:{port}").get("39") == "00"
        term.link().close()
        loads.append(Load(term, Path(item["card"]), setup["pin"]))
    result = {
        "echo": asyncio.run(_phase(loads, port, "echo", seconds)),
        "purchase": asyncio.run(_phase(loads, port, "purchase", seconds)),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
