"""The backup file format: chunks sealed with their position and finality; every kind of damage
refused with the chunk and the offset named."""

from __future__ import annotations

import io

import pytest

from zhifu.core.errors import UsageError
from zhifu.security.backup import CHUNK, MAGIC, BackupError, BackupReader, BackupWriter

PASS = "a passphrase long enough"


def _sealed(clear: bytes) -> bytes:
    sink = io.BytesIO()
    with BackupWriter(sink, PASS) as writer:
        writer.write(clear)
    return sink.getvalue()


def _open(data: bytes, passphrase: str = PASS) -> bytes:
    return BackupReader(io.BytesIO(data), passphrase).read()


def _chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each chunk record."""
    at = data.index(b"\n", len(MAGIC)) + 1
    found = []
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        found.append((at, 4 + length))
        at += 4 + length
    return found


CLEAR = bytes(range(256)) * (CHUNK // 256 * 2 + 17)  # three chunks, the last one short


def test_round_trip_and_chunking() -> None:
    data = _sealed(CLEAR)
    assert _open(data) == CLEAR
    assert len(_chunks(data)) == 3
    assert _open(_sealed(b"")) == b""
    reader = BackupReader(io.BytesIO(data), PASS)
    assert reader.read(10) + reader.read(CHUNK) + reader.read() == CLEAR


def test_each_damage_is_refused_naming_the_place() -> None:
    data = _sealed(CLEAR)
    (a, la), (b, lb), (c, lc) = _chunks(data)
    damaged = {
        "a byte changed": (data[: b + 100] + bytes([data[b + 100] ^ 0x80]) + data[b + 101 :],
                           f"chunk 1 at offset {b}"),
        "two chunks swapped": (data[:a] + data[b : b + lb] + data[a : a + la] + data[c:],
                               f"chunk 0 at offset {a}"),
        "a chunk dropped": (data[:b] + data[c:], f"chunk 1 at offset {b}"),
        "the last chunk cut": (data[:c], f"no chunk 2 at offset {c}"),
        "cut inside a chunk": (data[: c + 10], f"chunk 2 at offset {c}"),
        "bytes appended": (data + b"x", f"offset {c + lc}"),
    }  # fmt: skip
    for name, (bad, place) in damaged.items():
        with pytest.raises(BackupError) as err:
            _open(bad)
        assert place in str(err.value), (name, str(err.value))


def test_wrong_passphrase_header_and_short_passphrase() -> None:
    data = _sealed(b"x" * 10)
    with pytest.raises(BackupError, match="wrong passphrase"):
        _open(data, "another passphrase")
    with pytest.raises(BackupError, match="not a zhifu backup"):
        _open(b"PK\x03\x04" + data)
    hostile = data.replace(b'"n": 32768', b'"n": 1073741824')
    with pytest.raises(BackupError, match="header at offset 6"):
        _open(hostile)
    with pytest.raises(UsageError, match="12"):
        BackupWriter(io.BytesIO(), "short")


def test_the_file_holds_nothing_in_clear() -> None:
    secret = b"6228480000000000017" * 1000
    data = _sealed(secret)
    assert b"6228480000000000017" not in data
    assert data.count(b"\n") >= 1 and data.startswith(MAGIC)
