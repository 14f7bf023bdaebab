"""Emulated-card benchmarks: APDUs per second through the in-process card, and a
full contact transaction (SELECT PSE -> ... -> GENERATE AC 2) with its APDU count and time.

The card runs in memory (no card file) and with its file (every state change saved with
fsync before the answer, as the card does in use).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.harness import Row, ops_per_second, print_table
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import CardImage
from zhifu.card.issuing import issue_card
from zhifu.card.scripted import contact_transaction

SELECT = bytes.fromhex("00A4040008A00000033301010100")
GET_DATA = bytes.fromhex("80CA9F7900")
READ_RECORD = bytes.fromhex("00B2011C00")
REF_MK_AC = bytes.fromhex("11223344006677881122334455007788")


def _fresh(image: CardImage) -> EmulatedCard:
    card = EmulatedCard(CardImage.from_json(image.to_json()))
    card.transmit(SELECT)
    return card


def _apdu_rows(image: CardImage, seconds: float) -> list[Row]:
    card = _fresh(image)
    return [
        Row(
            "GET DATA 9F79 (in-process)",
            ops_per_second(lambda: card.transmit(GET_DATA), seconds=seconds),
        ),
        Row(
            "READ RECORD 3.1 (in-process)",
            ops_per_second(lambda: card.transmit(READ_RECORD), seconds=seconds),
        ),
        Row(
            "SELECT AID (in-process)",
            ops_per_second(lambda: card.transmit(SELECT), seconds=seconds),
        ),
    ]


def _transaction_rows(image: CardImage, seconds: float, folder: Path) -> tuple[list[Row], int]:
    memory = EmulatedCard(CardImage.from_json(image.to_json()))

    def in_memory() -> None:
        trace = contact_transaction(memory.transmit, amount=100, pin="1234", mk_ac=REF_MK_AC)
        assert trace.cid2 == 0x40

    path = folder / "card.json"
    image.save(path)
    on_file = EmulatedCard.load(path)

    def with_file() -> None:
        trace = contact_transaction(on_file.transmit, amount=100, pin="1234", mk_ac=REF_MK_AC)
        assert trace.cid2 == 0x40

    count = len(contact_transaction(memory.transmit, amount=100, pin="1234", mk_ac=REF_MK_AC).steps)
    rows = [
        Row(
            f"contact transaction, {count} APDUs (memory)",
            ops_per_second(in_memory, seconds=seconds),
        ),
        Row(
            f"contact transaction, {count} APDUs (card file)",
            ops_per_second(with_file, seconds=seconds),
        ),
    ]
    return rows, count


def run(seconds: float = 0.3) -> None:
    """Print the card table (``make bench``)."""
    image = issue_card("pboc-reference", None, None)
    rows = _apdu_rows(image, seconds)
    with tempfile.TemporaryDirectory() as folder:
        tx_rows, count = _transaction_rows(image, seconds, Path(folder))
    rows += tx_rows
    print_table("Emulated PBOC card", rows)
    for row in tx_rows:
        per = 1000.0 / row.zhifu if row.zhifu else float("nan")
        print(f"- {row.operation}: {per:.2f} ms per transaction ({count} APDUs)")
    started = time.perf_counter()
    _fresh(image)
    print(f"- card object from a card image: {(time.perf_counter() - started) * 1000:.2f} ms")


if __name__ == "__main__":
    run()
