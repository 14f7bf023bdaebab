"""Encrypted backup files: a tar stream sealed in authenticated chunks under a passphrase.

The file is ``ZBAK1`` and a JSON header line (the KDF's parameters and salt, the cipher, the
chunk size, a key check value), then the chunks. The key is scrypt(passphrase, salt, N=2^15,
r=8, p=1) -> 32 bytes for AES-256-GCM; each chunk (1 MiB of the tar stream) is sealed with the
nonce ``prefix ‖ counter`` and, as associated data, the header, the counter and whether it is
the last chunk — so a chunk changed, dropped, moved or a file cut short fails to open, and the
error says which chunk and at which offset of the file. Nothing is written in clear but the
header.

>>> import io
>>> sink = io.BytesIO()
>>> with BackupWriter(sink, "a passphrase long enough") as w:
...     _ = w.write(b"tar bytes" * 3)
>>> data = sink.getvalue()
>>> data[:6], b"tar bytes" in data
(b'ZBAK1\\n', False)
>>> BackupReader(io.BytesIO(data), "a passphrase long enough").read()
b'tar bytestar bytestar bytes'
>>> BackupReader(io.BytesIO(data), "another passphrase!!")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.security.backup.BackupError: wrong passphrase for this backup (key check at offset 6)...
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from types import TracebackType
from typing import Any, BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zhifu.core.errors import DecodeError, UsageError

__all__ = ["CHUNK", "MAGIC", "BackupError", "BackupReader", "BackupWriter"]

MAGIC: Final = b"ZBAK1\n"
CHUNK: Final = 1 << 20
_N, _R, _P = 2**15, 8, 1
_TAG: Final = 16
MIN_PASSPHRASE: Final = 12


class BackupError(DecodeError):
    """A backup file that does not open: wrong passphrase, changed, cut short or not a backup."""


def _derive(passphrase: str, salt: bytes, n: int = _N, r: int = _R, p: int = _P) -> bytes:
    return hashlib.scrypt(passphrase.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=2**27)


def _check_value(key: bytes) -> str:
    return hmac.new(key, b"zhifu backup key check", hashlib.sha256).hexdigest()[:16]


def _aad(header: bytes, counter: int, final: bool) -> bytes:
    return header + counter.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


class BackupWriter:
    """A write-only stream that seals what it is given into ``sink`` (close to finish)."""

    def __init__(self, sink: BinaryIO, passphrase: str) -> None:
        if len(passphrase) < MIN_PASSPHRASE:
            raise UsageError(f"at least {MIN_PASSPHRASE} characters", argument="passphrase")
        salt, self._prefix = secrets.token_bytes(16), secrets.token_bytes(4)
        key = _derive(passphrase, salt)
        fields = {"kdf": "scrypt", "n": _N, "r": _R, "p": _P, "salt": salt.hex(),
                  "cipher": "AES-256-GCM", "nonce_prefix": self._prefix.hex(), "chunk": CHUNK,
                  "check": _check_value(key)}  # fmt: skip
        self._header = MAGIC + json.dumps(fields, sort_keys=True).encode() + b"\n"
        self._sink, self._aead, self._buffer, self._counter = sink, AESGCM(key), bytearray(), 0
        sink.write(self._header)

    def write(self, data: bytes) -> int:
        """Take bytes of the stream; full chunks are sealed and written at once."""
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), final=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, clear: bytes, *, final: bool) -> None:
        nonce = self._prefix + self._counter.to_bytes(8, "big")
        sealed = self._aead.encrypt(nonce, clear, _aad(self._header, self._counter, final))
        self._sink.write(len(sealed).to_bytes(4, "big") + sealed)
        self._counter += 1

    def close(self) -> None:
        """Seal the last chunk (marked last, possibly empty)."""
        if self._aead is not None:
            self._seal(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._sink.flush()

    def __enter__(self) -> BackupWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()


class BackupReader:
    """A read-only stream of the clear bytes of a backup file (each chunk checked first)."""

    def __init__(self, source: BinaryIO, passphrase: str) -> None:
        self._source, self._offset = source, 0
        magic = source.read(len(MAGIC))
        if magic != MAGIC:
            raise BackupError("not a zhifu backup (no ZBAK1 header at offset 0)")
        line = source.readline(4096)
        self._header = magic + line
        self._offset = len(self._header)
        fields = self._fields(line)
        key = _derive(passphrase, bytes.fromhex(fields["salt"]), fields["n"], fields["r"],
                      fields["p"])  # fmt: skip
        if not hmac.compare_digest(_check_value(key), str(fields["check"])):
            raise BackupError(f"wrong passphrase for this backup (key check at offset "
                              f"{len(MAGIC)}); use the passphrase it was made with")  # fmt: skip
        self._prefix = bytes.fromhex(fields["nonce_prefix"])
        self._aead, self._counter, self._pending, self._done = AESGCM(key), 0, b"", False

    def _fields(self, line: bytes) -> dict[str, Any]:
        """The header's fields, checked (a hostile header cannot ask for a huge scrypt)."""
        try:
            fields = json.loads(line)
            ok = isinstance(fields, dict) and fields.get("cipher") == "AES-256-GCM"
            ok = ok and fields["n"] in {2**k for k in range(10, 21)} and 1 <= fields["r"] <= 16
            ok = ok and 1 <= fields["p"] <= 4 and len(bytes.fromhex(fields["salt"])) >= 16
            ok = ok and len(bytes.fromhex(fields["nonce_prefix"])) == 4
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise BackupError(f"the backup header at offset {len(MAGIC)} is not readable")
        return fields  # type: ignore[no-any-return]

    def _next_chunk(self) -> bytes:
        at = self._offset
        size = self._source.read(4)
        if len(size) < 4:
            raise BackupError(f"the backup is cut short: no chunk {self._counter} at offset {at}")
        length = int.from_bytes(size, "big")
        sealed = self._source.read(length) if _TAG <= length <= CHUNK + _TAG else b""
        if len(sealed) != length or not sealed:
            raise BackupError(f"chunk {self._counter} at offset {at} is cut short or malformed")
        self._offset += 4 + length
        nonce = self._prefix + self._counter.to_bytes(8, "big")
        for final in (False, True):
            try:
                clear = self._aead.decrypt(nonce, sealed, _aad(self._header, self._counter, final))
            except InvalidTag:
                continue
            self._counter, self._done = self._counter + 1, final
            return clear
        raise BackupError(f"chunk {self._counter} at offset {at} does not authenticate: the "
                          "file was changed, or chunks moved")  # fmt: skip

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` clear bytes (all with -1); b"" only after the last chunk."""
        while (size < 0 or len(self._pending) < size) and not self._done:
            self._pending += self._next_chunk()
        if self._done and self._source.read(1):
            raise BackupError(f"bytes after the last chunk at offset {self._offset}")
        if size < 0:
            size = len(self._pending)
        out, self._pending = self._pending[:size], self._pending[size:]
        return out
