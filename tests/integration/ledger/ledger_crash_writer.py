"""The writer process of the crash test: writes under load and reports each acknowledgement.

``python ledger_crash_writer.py URL FIRST_ID`` runs four client threads that send linked pairs,
single transfers and two-phase transfers through one ``Ledger`` until it is killed. After each
``create_transfers`` returns, the ids it acknowledged (``OK``) are written to stdout as one line
``ack <id> <id> ...`` and flushed: the parent knows exactly what was acknowledged.
"""

from __future__ import annotations

import random
import sys
import threading

from zhifu.ledger import CreateTransferResult, Ledger, Transfer
from zhifu.ledger import TransferFlags as F

ACCOUNTS = (1, 2, 3, 4)
_print_lock = threading.Lock()


def _report(ids: list[int]) -> None:
    with _print_lock:
        sys.stdout.write("ack " + " ".join(map(str, ids)) + "\n")
        sys.stdout.flush()


def _client(ledger: Ledger, first_id: int, seed: int) -> None:
    rng = random.Random(seed)
    next_id = first_id
    holds: list[int] = []
    while True:
        batch: list[Transfer] = []
        for _ in range(rng.randint(1, 20)):
            a, b, c = rng.sample(ACCOUNTS, 3)
            next_id += 3
            roll = rng.random()
            if roll < 0.4:  # a linked pair: both or neither
                batch.append(Transfer(next_id, a, b, rng.randint(1, 50), 156, 1, F.LINKED))
                batch.append(Transfer(next_id + 1, b, c, rng.randint(1, 50), 156, 1))
            elif roll < 0.6:
                batch.append(Transfer(next_id, a, b, rng.randint(1, 50), 156, 1, F.PENDING))
            elif roll < 0.8 and holds:
                pending_id = holds.pop()
                batch.append(Transfer(next_id, 0, 0, 0, 0, 0, F.VOID_PENDING_TRANSFER, pending_id))
            else:
                batch.append(Transfer(next_id, a, b, rng.randint(1, 50), 156, 1))
        results = ledger.create_transfers(batch)
        ok = [t.id for t, r in zip(batch, results, strict=True) if r == CreateTransferResult.OK]
        holds += [t.id for t in batch if t.flags == F.PENDING and t.id in ok]
        _report(ok)


def main() -> None:
    url, first_id = sys.argv[1], int(sys.argv[2])
    ledger = Ledger.open(url)
    for n in range(4):
        start = first_id + n * 10_000_000
        threading.Thread(target=_client, args=(ledger, start, n), daemon=True).start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main()
