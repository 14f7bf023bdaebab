"""ISO 8583 benchmark: encode + decode of a typical 0200 with field 55, zhifu beside plain
pyiso8583 on the same spec in the same run (overhead target <= 25%, i.e. ratio >= 0.8).

The message is a real contactless sale (WH in docs/standards/iso8583-cup.md, tests/vectors/iso8583/
t12_wh_0200_sale.hex): 20 fields, a 145-byte field 55. zhifu adds what the dialect needs on top
of pyiso8583 (dictionary check, digit checks, odd-length fields 22/23, kept pad nibbles) and
never mutates its input; the baseline works on pyiso8583's own strings ("0710" for field 22).

``python -m bench.iso8583`` prints the table alone.
"""

from __future__ import annotations

from collections.abc import Callable

import iso8583

from bench.harness import Row, ops_per_second, print_table
from zhifu.iso8583 import codec
from zhifu.iso8583.profiles import CUP

SALE_0200 = bytes.fromhex(
    "0200703C06C020C09A11196217857600008050804000000000000000000100010516124302092308071000010012"
    "376217857600008050804D230822010000823000393233333637383738343731303030353339393030303231353"
    "67D6A7408DFE2E9E5260000000000000001459F26089C0A057796D091E39F2701809F1013070F0103A00000010A"
    "010000005959BAF31C349F37042AE9F9B49F36020FCD950500000000009A031802099C01009F020600000000000"
    "15F2A02015682027C009F1A0201569F03060000000000009F330390C8C09F34030000009F3501229F1E08313233"
    "34353637388408A0000003330101019F090200209F41040000000200122200000100064433374345464536"
)


def _rows(seconds: float) -> list[Row]:
    spec = CUP.pyiso_spec()
    message = codec.decode(SALE_0200)
    assert codec.encode(message) == SALE_0200, "zhifu round trip"
    plain, _ = iso8583.decode(SALE_0200, spec)
    assert bytes(iso8583.encode(dict(plain), spec)[0]) == SALE_0200, "pyiso8583 round trip"

    def ours() -> None:
        codec.decode(codec.encode(message))

    def baseline() -> None:
        iso8583.decode(bytes(iso8583.encode(dict(plain), spec)[0]), spec)

    def ours_decode() -> None:
        codec.decode(SALE_0200)

    def baseline_decode() -> None:
        iso8583.decode(SALE_0200, spec)

    def ours_encode() -> None:
        codec.encode(message)

    def baseline_encode() -> None:
        iso8583.encode(dict(plain), spec)

    name = f"pyiso8583 {iso8583.__version__}"
    pairs = (
        ("0200 + F55: encode + decode", ours, baseline, 0.8),
        ("0200 + F55: decode", ours_decode, baseline_decode, None),
        ("0200 + F55: encode", ours_encode, baseline_encode, None),
    )
    rows = []
    for label, mine, theirs, target in pairs:
        zhifu, base = _paired(mine, theirs, seconds)
        rows.append(Row(label, zhifu, name, base, target=target))
    return rows


def _paired(
    mine: Callable[[], object], theirs: Callable[[], object], seconds: float, rounds: int = 3
) -> tuple[float, float]:
    """Best ops/s of each, measured alternately so that a load swing hits both alike."""
    best_mine = best_theirs = 0.0
    for _ in range(rounds):
        best_mine = max(best_mine, ops_per_second(mine, seconds=seconds / rounds))
        best_theirs = max(best_theirs, ops_per_second(theirs, seconds=seconds / rounds))
    return best_mine, best_theirs


def run(seconds: float = 0.3) -> None:
    """Measure and print the ISO 8583 table."""
    print_table(
        "ISO 8583 (UnionPay POS): zhifu vs plain pyiso8583 (ops/s, same run)", _rows(seconds)
    )


if __name__ == "__main__":
    run()
