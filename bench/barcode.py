"""Barcode micropays per second through the HTTP API, beside a bare Litestar endpoint.

``python -m bench.barcode [seconds] [--connections N]``

The zhifu row is the whole path of ``POST /v1/micropay`` as ``zhifu serve`` serves it (the
fast path of :mod:`zhifu.web.fastpath`): a signed request (RSA-SHA256; SM2-SM3 in the last
row), timestamp window and nonce check, ``Idempotency-Key`` lookup and stored answer, strict
body decoding, routing of the payment code, the issuer's HMAC-SM3 code check and single-use
claim, the daily limit, the order and payment rows, the ledger transfers (SQLite with
``synchronous=FULL`` and group commit) and the answer. Each request carries a fresh payment
code, nonce and key, prepared (and signed) before the clock starts. The baseline is a bare
Litestar ``POST`` answering a small JSON object, under the same uvicorn settings, loaded the
same way in the same run.

Both servers run as subprocesses (uvicorn, 1 worker, uvloop + httptools, no access log) on
127.0.0.1; the load comes from an asyncio (uvloop) HTTP/1.1 client in this process with N
keep-alive connections for a bounded time, for N = 32, 64 and 128: the server's event loop is
the bottleneck, and it does less work per request when more requests share each database
group commit and each wake-up, so throughput is read where it peaks. The client shares the
machine's CPUs with the server, so the ratio is the steadier figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import uvloop
from litestar import Litestar, Request, post

from bench.harness import fmt_rate
from zhifu.barcode.api.signing import SigningKey, load_private_key, sign_headers
from zhifu.barcode.codes.payment_code import LAYOUT_ZHIFU, CodePolicy, compute_code
from zhifu.barcode.platform.notify import new_nonce
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.crypto import rsa, sm2

DEVICES = 400
CODES_PER_DEVICE = 30  # 10 counters in each of 3 time steps (see _codes)
CUSTOMERS = 40
TARGET = 1_000.0
MERCHANT = "M100001"


@dataclass(frozen=True)
class Stats:
    rate: float
    p50_ms: float
    p99_ms: float
    ok: int
    errors: int
    seconds: float
    cpu_ms: float = 0.0  # server CPU (all its processes and threads) per answered request


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by a server process and its worker processes (/proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measured(pid: int, port: int, requests: list[bytes], seconds: float, n: int) -> Stats:
    """``load`` with the server's CPU per answered request."""
    before = server_cpu(pid)
    stats = load(port, requests, seconds, n)
    spent = server_cpu(pid) - before
    per = spent / max(1, stats.ok + stats.errors) * 1000
    return Stats(stats.rate, stats.p50_ms, stats.p99_ms, stats.ok, stats.errors, stats.seconds, per)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVE_ZHIFU = """
import os, sys, uvicorn
os.environ["ZHIFU_HOME"] = sys.argv[1]  # the app opens $ZHIFU_HOME/barcode
uvicorn.run("zhifu.web.fastpath:create_asgi", factory=True, host="127.0.0.1", port=int(sys.argv[2]),
            workers=int(sys.argv[3]), log_level="warning", access_log=False, loop="uvloop",
            http="httptools")
"""
SERVE_BARE = """
import sys, uvicorn
uvicorn.run("bench.barcode:bare_app", factory=True, host="127.0.0.1", port=int(sys.argv[2]),
            workers=int(sys.argv[3]), log_level="warning", access_log=False, loop="uvloop",
            http="httptools")
"""


class BareOut(msgspec.Struct):
    ok: bool


@post("/v1/bare", status_code=200)
async def bare(request: Request[Any, Any, Any]) -> BareOut:
    """The baseline endpoint: read the body, answer a small Struct."""
    await request.body()
    return BareOut(True)


def bare_app() -> Litestar:
    """The baseline app: one bare Litestar POST."""
    return Litestar([bare])


@contextlib.contextmanager
def serve(script: str, home: str, workers: int = 1) -> Iterator[tuple[int, int]]:
    """Run a server script in a subprocess; yield (port, pid) once it accepts connections."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", script, home, str(port), str(workers)])
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- preparing the requests ---------------------------------------------------------------------


def setup(home: str, algorithm: str) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    """Enrol a merchant (with a key of ``algorithm``), wallets and devices; (key PEM...)."""

    system = BarcodeSystem.open(os.path.join(home, "barcode"))
    try:
        system.add_merchant(MERCHANT, "zhifu", "Bench Noodles")
        if algorithm == "SM2-SM3":
            private, public = sm2.generate_keypair()
            pem = sm2.private_key_to_pem(private).encode()
        else:
            key = rsa.generate_rsa_key(2048)
            private, public = key, key.public_key  # type: ignore[assignment]
            pem = rsa.private_key_to_pem(key).encode()
        system.add_key(f"merchant:{MERCHANT}", "bench-k1", public)
        devices = []
        for c in range(CUSTOMERS):
            system.open_wallet("zhifu", f"C{c:05d}", f"A{c:05d}")
            system.top_up("zhifu", f"A{c:05d}", 100_000_000, f"bench-{c}")
        for d in range(DEVICES):
            c = d % CUSTOMERS
            devices.append(system.enroll_device("zhifu", f"C{c:05d}", f"A{c:05d}", grade="B"))
        return algorithm, pem, devices
    finally:
        system.close()


def _codes(devices: list[tuple[str, bytes]], count: int) -> list[str]:
    """Fresh payment codes: every device's counters of the previous, current and next time
    step (all inside the issuer's acceptance window for the next minute)."""
    step = CodePolicy().step_at(datetime.now(UTC))
    codes = []
    for s in (step - 1, step, step + 1):
        for counter in range(10):
            for handle, secret in devices:
                codes.append(compute_code(secret, LAYOUT_ZHIFU, handle, s, counter))
                if len(codes) == count:
                    return codes
    return codes


def _sign_batch(args: tuple[bytes, list[str], int, int]) -> list[bytes]:
    """Signed HTTP/1.1 requests for a batch of codes (runs in a worker process)."""

    pem, codes, start, port = args
    algorithm, private = load_private_key(pem)
    key = SigningKey("bench-k1", algorithm, private)
    now = int(time.time())
    out = []
    for i, code in enumerate(codes, start):
        body = json.dumps(
            {
                "merchant_id": MERCHANT,
                "out_trade_no": f"B{i:09d}",
                "auth_code": code,
                "amount": 1,
                "currency": "CNY",
            },
            separators=(",", ":"),
        ).encode()
        headers = sign_headers(key, "POST", "/v1/micropay", body, timestamp=now, nonce=new_nonce())
        headers["Idempotency-Key"] = f"B{i:09d}"
        out.append(_http("/v1/micropay", port, headers, body))
    return out


def _http(path: str, port: int, headers: dict[str, str], body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    return head.encode() + b"\r\n" + body


def prepare(pem: bytes, devices: list[tuple[str, bytes]], count: int, port: int) -> list[bytes]:
    codes = _codes(devices, count)
    size = (len(codes) + 3) // 4
    batches = [(pem, codes[i : i + size], i, port) for i in range(0, len(codes), size)]
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return [r for part in pool.map(_sign_batch, batches) for r in part]


# -- the load -------------------------------------------------------------------------------------


async def _client(port: int, queue: list[bytes], stop_at: float, lat: list[int]) -> tuple[int, int]:
    ok = errors = 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue and time.perf_counter() < stop_at:
            request = queue.pop()
            started = time.perf_counter_ns()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            lat.append(time.perf_counter_ns() - started)
            if head[9:12] == b"200":
                ok += 1
            else:
                errors += 1
    finally:
        writer.close()
    return ok, errors


async def _load(port: int, requests: list[bytes], seconds: float, connections: int) -> Stats:
    queue = list(reversed(requests))
    lat: list[int] = []
    started = time.perf_counter()
    tasks = [_client(port, queue, started + seconds, lat) for _ in range(connections)]
    results = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    ok, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(len(lat) * p))] / 1e6 if lat else 0.0

    return Stats(ok / elapsed, pct(0.5), pct(0.99), ok, errors, elapsed)


def load(port: int, requests: list[bytes], seconds: float, connections: int) -> Stats:

    return uvloop.run(_load(port, requests, seconds, connections))


def measure(
    seconds: float, connections: int, algorithm: str, workers: int, expected: float
) -> tuple[Stats, Stats]:
    """(zhifu micropay stats, bare endpoint stats) from one run."""
    with tempfile.TemporaryDirectory(prefix="zhifu-bench-barcode-") as home:
        _, pem, devices = setup(home, algorithm)
        count = min(DEVICES * CODES_PER_DEVICE - 300, int(expected * (seconds + 1)))
        with serve(SERVE_ZHIFU, home, workers) as (port, pid):
            requests = prepare(pem, devices, count + 300, port)
            load(port, requests[:300], 1.5, connections)  # warm-up (opens the platform)
            zhifu = measured(pid, port, requests[300:], seconds, connections)
        with serve(SERVE_BARE, home, workers) as (port, pid):
            bare_req = _http("/v1/bare", port, {}, b'{"ok":true}')
            load(port, [bare_req] * 2_000, 1.0, connections)
            bare = measured(pid, port, [bare_req] * int(30_000 * seconds), seconds, connections)
    return zhifu, bare


CONFIGURATIONS = (
    ("RSA-SHA256", 32, 1_500.0),
    ("RSA-SHA256", 64, 1_800.0),
    ("RSA-SHA256", 128, 1_800.0),
    ("SM2-SM3", 64, 1_000.0),
)
"""(merchant key algorithm, client connections, rate to prepare requests for)."""


def run(seconds: float = 5.0, connections: int | None = None) -> None:
    """Print the barcode HTTP table (``make bench``): each configuration, or only those with
    ``connections`` client connections."""
    print("\n### Barcode micropays over HTTP (signed, idempotent, ledger), same run\n")
    print(
        "| endpoint | connections | requests/s | p50 | p99 | ok | errors | server CPU/request"
        " | vs bare | target |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    best: tuple[float, int] = (0.0, 0)
    for algorithm, conns, expected in CONFIGURATIONS:
        if connections is not None and conns != connections:
            continue
        zhifu, bare = measure(seconds, conns, algorithm, 1, expected)
        if algorithm == "RSA-SHA256":
            best = max(best, (zhifu.rate, conns))
        met = "met" if zhifu.rate >= TARGET else "NOT met"
        print(
            f"| POST /v1/micropay ({algorithm}) | {conns} | {fmt_rate(zhifu.rate)}"
            f" | {zhifu.p50_ms:.1f} ms | {zhifu.p99_ms:.1f} ms | {zhifu.ok} | {zhifu.errors}"
            f" | {zhifu.cpu_ms:.2f} ms | {zhifu.rate / bare.rate:.2f}x"
            f" | >= {TARGET:,.0f}/s ({met}) |"
        )
        print(
            f"| bare Litestar POST | {conns} | {fmt_rate(bare.rate)} | {bare.p50_ms:.1f} ms"
            f" | {bare.p99_ms:.1f} ms | {bare.ok} | {bare.errors} | {bare.cpu_ms:.2f} ms"
            " | 1.00x | |"
        )
    print(
        f"\nOne uvicorn worker; keep-alive connections as listed, {seconds:g} s per row,"
        f" 1 fen per micropay; {os.cpu_count()} CPUs shared by the server and the load"
        " generator. Throughput (RSA-SHA256) peaks at"
        f" {fmt_rate(best[0])}/s with {best[1]} connections:"
        f" target {TARGET:,.0f}/s {'met' if best[0] >= TARGET else 'NOT met'}."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seconds", nargs="?", type=float, default=5.0)
    parser.add_argument("--connections", type=int, help="only the rows with this many")
    args = parser.parse_args(argv)
    run(args.seconds, args.connections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
