"""The SM2 signature-check helper: a child process that verifies batches of SM2 signatures
beside the server's event loop (gmalglib holds the interpreter lock, so a thread would gain
nothing), and that ends with its parent.

It is a plain ``subprocess`` (``python -m zhifu.barcode.api.sm2_helper``) talking over its
standard input and output, not a ``multiprocessing`` pool: no resource tracker process, and
nothing outlives the server. The parent holds the only write end of the helper's input; when
the parent ends, however it ends (``kill -9`` included), the kernel closes that end, the
helper reads end-of-file and exits.

Each message, both ways, is a 4-byte big-endian length and a MessagePack body: a list of
(public key point, message, signature) in, a list of booleans out, in order.
:class:`Sm2Helper` gathers the checks of one turn of the event loop into one message
(:class:`~zhifu.core.offload.TurnBatches`); its I/O thread sends what is waiting as one batch,
reads the answer, and wakes the loop once.

>>> import asyncio
>>> helper = Sm2Helper()
>>> async def main() -> list[bool]:
...     return await asyncio.gather(helper.call((b"\\x04" + bytes(64), b"m", b"")))
>>> asyncio.run(main())
[False]
>>> helper.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Final

import msgspec

from zhifu.core.offload import TurnBatches, resolve, resolve_from_thread
from zhifu.crypto.sm2_batch import verify_many

Check = tuple[bytes, bytes, bytes]
Waiting = tuple[asyncio.AbstractEventLoop, list[tuple[Check, "asyncio.Future[Any]"]]]
_LENGTH: Final = 4
_CHECKS: Final = msgspec.msgpack.Decoder(list[tuple[bytes, bytes, bytes]])
_RESULTS: Final = msgspec.msgpack.Decoder(list[bool])
_ENCODE: Final = msgspec.msgpack.Encoder()


class HelperGoneError(RuntimeError):
    """The helper process ended or could not be started; the checks it held are lost (the
    caller verifies them itself)."""


def _send(out: IO[bytes], data: bytes) -> None:
    out.write(len(data).to_bytes(_LENGTH, "big") + data)
    out.flush()


def _receive(source: IO[bytes]) -> bytes | None:
    """One message, or None at end-of-file."""
    head = source.read(_LENGTH)
    if len(head) < _LENGTH:
        return None
    size = int.from_bytes(head, "big")
    data = source.read(size)
    return data if len(data) == size else None


def serve(source: IO[bytes], out: IO[bytes]) -> None:
    """The helper's loop: verify each batch read, until end-of-file."""
    while (data := _receive(source)) is not None:
        _send(out, _ENCODE.encode(verify_many(_CHECKS.decode(data))))


class Sm2Helper:
    """The parent's side: ``await call((point, message, signature))`` (see the module
    docstring). The process starts at the first call and again after it died."""

    def __init__(self) -> None:
        self.batches = 0
        self.pid: int | None = None  # the helper process's, once started
        self._batches: TurnBatches[Check] = TurnBatches(self._dispatch)
        self._waiting: queue.SimpleQueue[Waiting | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def call(self, check: Check) -> bool:
        """Whether the signature verifies; :class:`HelperGoneError` if the helper is gone."""
        if self._closed:
            raise HelperGoneError("the SM2 helper was stopped")
        valid: bool = await self._batches.submit(check)
        return valid

    def close(self) -> None:
        """Answer the batches under way, then end the helper (it reads end-of-file)."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._waiting.put(None)
            thread.join()

    def _dispatch(
        self, loop: asyncio.AbstractEventLoop, batch: list[tuple[Check, asyncio.Future[Any]]]
    ) -> None:
        with self._lock:
            if self._closed:
                resolve((f, False, HelperGoneError("the SM2 helper was stopped")) for _, f in batch)
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="zhifu-sm2", daemon=True)
                self._thread.start()
        self._waiting.put((loop, batch))

    def _run(self) -> None:
        """The I/O thread: send what waits as one message, read the answer, wake the loops."""
        process: subprocess.Popen[bytes] | None = None
        try:
            while (first := self._waiting.get()) is not None:
                group = [first]
                stop = False
                while not self._waiting.empty():
                    more = self._waiting.get()
                    if more is None:
                        stop = True
                        break
                    group.append(more)
                process = self._exchange(process, group)
                if stop:
                    break
        finally:
            if process is not None:
                _end(process)

    def _exchange(
        self, process: subprocess.Popen[bytes] | None, group: list[Waiting]
    ) -> subprocess.Popen[bytes] | None:
        """One round trip for ``group``; the process to use next (None once it failed)."""
        checks = [check for _, batch in group for check, _ in batch]
        try:
            if process is None:
                process = _start()
                self.pid = process.pid
            assert process.stdin is not None and process.stdout is not None
            _send(process.stdin, _ENCODE.encode(checks))
            data = _receive(process.stdout)
            if data is None:
                raise HelperGoneError("the SM2 helper ended")
            results = _RESULTS.decode(data)
            if len(results) != len(checks):
                raise HelperGoneError("the SM2 helper answered another batch")
        except (OSError, ValueError, HelperGoneError, msgspec.DecodeError) as exc:
            gone = exc if isinstance(exc, HelperGoneError) else HelperGoneError(str(exc))
            for loop, batch in group:
                resolve_from_thread(loop, [(future, False, gone) for _, future in batch])
            if process is not None:
                _end(process)
            return None
        self.batches += 1
        answers = iter(results)
        for loop, batch in group:
            resolve_from_thread(loop, [(future, True, next(answers)) for _, future in batch])
        return process


def _start() -> subprocess.Popen[bytes]:
    """The helper process, with this tree of the package first on its path."""
    package_root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return subprocess.Popen(
        [sys.executable, "-m", "zhifu.barcode.api.sm2_helper"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        close_fds=True,
    )


def _end(process: subprocess.Popen[bytes]) -> None:
    """Close the helper's input (it exits at end-of-file) and reap it."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):  # the helper is gone already
                stream.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
