"""Fuzz the ISO 8583 decoders with random and mutated frames.

Seeds are the public frames of tests/vectors/iso8583/; each case mutates one (bit flips, byte
changes, insertions, deletions, truncations, splices, length tweaks) or makes bytes from
nothing. Every case must either decode -- and then re-encode to the very same bytes -- or raise
:class:`~zhifu.core.errors.DecodeError`; any other exception is a bug.

``make test`` runs 10,000 cases; the fuzz job runs more::

    ZHIFU_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest -q tests/fuzz/test_iso8583_fuzz.py

``ZHIFU_FUZZ_SEED`` picks another deterministic sequence (default 8583).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from zhifu.core.errors import DecodeError
from zhifu.iso8583.codec import decode, encode
from zhifu.iso8583.describe import describe_frame
from zhifu.iso8583.framing import unframe

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "iso8583"
EXAMPLES = int(os.environ.get("ZHIFU_FUZZ_EXAMPLES", "10000"))
SEED = int(os.environ.get("ZHIFU_FUZZ_SEED", "8583"))
PREFIX = bytes.fromhex("6006010000613100311108")  # TPDU + header


def _seeds() -> list[bytes]:
    """The message part (MTI on) of every vector."""
    seeds = []
    for path in sorted(VECTORS.glob("*.hex")):
        text = path.read_text(encoding="utf-8")
        head = text.splitlines()[0]
        data = bytes.fromhex("".join(x for x in text.splitlines() if not x.startswith("#")))
        if "(frame)" in head:
            data = data[13:]
        elif "(no-length)" in head:
            data = data[11:]
        seeds.append(data)
    return seeds


def _mutate(rng: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        op = rng.randrange(9)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:  # flip a bit
            buf[pos % len(buf)] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # replace a byte
            buf[pos % len(buf)] = rng.randrange(256)
        elif op == 2:  # insert bytes
            buf[pos:pos] = rng.randbytes(rng.randrange(1, 6))
        elif op == 3:  # delete a slice
            del buf[pos : pos + rng.randrange(1, 9)]
        elif op == 4:  # truncate
            del buf[pos:]
        elif op == 5:  # splice another seed's tail
            other = rng.choice(seeds)
            buf[pos:] = other[rng.randrange(len(other) + 1) :]
        elif op == 6 and len(buf) > 10:  # toggle a bitmap bit
            bit = rng.randrange(1, 64)
            buf[2 + bit // 8] ^= 0x80 >> (bit % 8)
        elif op == 7 and buf:  # a plausible BCD length byte
            buf[pos % len(buf)] = int(str(rng.randrange(100)), 16)
        elif op == 8 and buf:  # a nibble set to a pad/separator value
            buf[pos % len(buf)] = (buf[pos % len(buf)] & 0xF0) | rng.choice((0x0, 0xD, 0xF))
    return bytes(buf)


def _case(rng: random.Random, seeds: list[bytes]) -> bytes:
    roll = rng.random()
    if roll < 0.05:
        return rng.randbytes(rng.randrange(40))
    if roll < 0.10:
        return bytes.fromhex("0200") + rng.randbytes(8) + rng.randbytes(rng.randrange(120))
    return _mutate(rng, rng.choice(seeds), seeds)


def _check_message(data: bytes) -> bool:
    try:
        message = decode(data)
    except DecodeError:
        return False
    assert encode(message) == data, data.hex()
    return True


def _check_frame(data: bytes) -> None:
    raw = (len(PREFIX) + len(data)).to_bytes(2, "big") + PREFIX + data
    try:
        described = describe_frame(raw, reveal=True)
    except DecodeError:
        return
    assert described["mti"] == data[:2].hex()
    assert unframe(raw).message == data


def _run() -> tuple[int, int]:
    rng = random.Random(SEED)
    seeds = _seeds()
    decoded = 0
    for index in range(EXAMPLES):
        data = _case(rng, seeds)
        try:
            if _check_message(data):
                decoded += 1
            if index % 4 == 0:
                _check_frame(data)
        except AssertionError:
            raise
        except Exception as exc:  # anything but DecodeError is a bug: show the input
            raise AssertionError(f"case {index} ({data.hex()}): {exc!r}") from exc
    return decoded, EXAMPLES


def test_mutated_frames_raise_only_decode_error() -> None:
    decoded, total = _run()
    assert total == EXAMPLES
    assert 0 < decoded < total  # the mutations reach both outcomes
