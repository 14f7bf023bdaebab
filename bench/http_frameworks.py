"""Measure one "signed JSON POST" endpoint in FastAPI, Litestar and plain Starlette.

``POST /v1/echo`` takes a JSON order (merchant_id, amount, currency, order_id) and headers
X-Timestamp, X-Nonce, X-Signature = hex HMAC-SHA256 (stdlib) over
``method\\npath\\ntimestamp\\nnonce\\nbody`` under a fixed test key. Each handler checks the
timestamp (300 s window), the nonce (replay), the HMAC, validates the body (FastAPI: pydantic;
Litestar: msgspec Struct; Starlette: json.loads + hand checks) and answers {"ok", "order_id"}.

Servers run under uvicorn (1 worker, uvloop + httptools, log level warning, no access log) as
subprocesses on free 127.0.0.1 ports. Load comes from ``wrk`` when on PATH (a Lua script sends
one precomputed signature with a FIXED nonce, so the servers run with the replay check
DISABLED; timestamp, HMAC and validation stay on), else from the asyncio HTTP/1.1 keep-alive
generator below (it shares the CPU with the server: less precise, compare ratios only).
On a shared machine use ``--rounds N``: rounds interleave the frameworks, each run records the
cores that other processes took (/proc), and the table keeps the quiet rounds and adds
requests per server CPU-second (docs/web-framework.md explains the method).

Usage::

    python bench/http_frameworks.py            # 2 s warm-up + 10 s per framework
    python bench/http_frameworks.py --quick    # 1 s warm-up + 2 s per framework (make bench)
    python bench/http_frameworks.py --rounds 12 --duration 8   # docs/web-framework.md
    python bench/http_frameworks.py --loadgen python --frameworks litestar,starlette
"""

# ruff: noqa: PLC0415  (framework imports are local so that a missing framework is skipped)
# No ``from __future__ import annotations`` here: FastAPI and Litestar resolve the handlers'
# annotations at run time, and the request models are local to the builder functions.

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import importlib.metadata
import json
import math
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

FRAMEWORKS = ("fastapi", "litestar", "starlette")
TEST_KEY = b"zhifu-bench-hmac-key-not-a-secret"
PATH = "/v1/echo"
TIMESTAMP_TOLERANCE_S = 300
BODY = {"merchant_id": "M0000001", "amount": 1234, "currency": "CNY", "order_id": "O2026112501"}
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
AMOUNT_MAX = 10**12


def sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over ``method\\npath\\ntimestamp\\nnonce\\nbody`` with the test key."""
    message = f"{method}\n{path}\n{timestamp}\n{nonce}\n".encode() + body
    return hmac.new(TEST_KEY, message, hashlib.sha256).hexdigest()


class SignatureCheck:
    """Timestamp window + nonce replay cache + constant-time HMAC comparison."""

    def __init__(self, *, replay_check: bool, max_nonces: int = 100_000) -> None:
        self.replay_check = replay_check
        self.max_nonces = max_nonces
        self._seen: OrderedDict[str, None] = OrderedDict()

    def refuse(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str | None:
        """Return why the request is refused, or None when it is acceptable."""
        timestamp = headers.get("x-timestamp", "")
        nonce = headers.get("x-nonce", "")
        signature = headers.get("x-signature", "")
        if not (timestamp.isdigit() and nonce and signature):
            return "missing or malformed signature headers"
        if abs(time.time() - int(timestamp)) > TIMESTAMP_TOLERANCE_S:
            return "timestamp outside the tolerance window"
        if not hmac.compare_digest(sign(method, path, timestamp, nonce, body), signature):
            return "bad signature"
        if self.replay_check:
            if nonce in self._seen:
                return "nonce already used"
            self._seen[nonce] = None
            if len(self._seen) > self.max_nonces:
                self._seen.popitem(last=False)
        return None


def build_fastapi(check: SignatureCheck) -> Any:
    from fastapi import Depends, FastAPI, HTTPException, Request
    from pydantic import BaseModel, Field

    class EchoIn(BaseModel):
        merchant_id: str = Field(min_length=1, max_length=32)
        amount: int = Field(gt=0, le=AMOUNT_MAX)
        currency: str = Field(pattern=CURRENCY_RE.pattern)
        order_id: str = Field(min_length=1, max_length=64)

    class EchoOut(BaseModel):
        ok: bool
        order_id: str

    async def verified(request: Request) -> None:
        body = await request.body()
        if why := check.refuse(request.method, request.url.path, request.headers, body):
            raise HTTPException(status_code=401, detail=why)

    app = FastAPI(title="bench")

    @app.post(PATH, response_model=EchoOut, dependencies=[Depends(verified)])
    async def echo(data: EchoIn) -> EchoOut:
        return EchoOut(ok=True, order_id=data.order_id)

    return app


def build_litestar(check: SignatureCheck) -> Any:
    from typing import Annotated

    import msgspec
    from litestar import Litestar, Request, post
    from litestar.exceptions import NotAuthorizedException
    from litestar.params import JSONBody

    class EchoIn(msgspec.Struct):
        merchant_id: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
        amount: Annotated[int, msgspec.Meta(gt=0, le=AMOUNT_MAX)]
        currency: Annotated[str, msgspec.Meta(pattern=CURRENCY_RE.pattern)]
        order_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

    class EchoOut(msgspec.Struct):
        ok: bool
        order_id: str

    @post(PATH, status_code=200)
    async def echo(request: Request[Any, Any, Any], data: JSONBody[EchoIn]) -> EchoOut:
        body = await request.body()
        if why := check.refuse(request.method, request.url.path, request.headers, body):
            raise NotAuthorizedException(detail=why)
        return EchoOut(ok=True, order_id=data.order_id)

    return Litestar(route_handlers=[echo])


def _starlette_failure(data: object) -> str | None:
    if not isinstance(data, dict) or not BODY.keys() <= data.keys():
        return "body must be an object with merchant_id, amount, currency and order_id"
    merchant_id, amount = data["merchant_id"], data["amount"]
    currency, order_id = data["currency"], data["order_id"]
    if not (isinstance(merchant_id, str) and 1 <= len(merchant_id) <= 32):
        return "merchant_id: 1 to 32 characters"
    if type(amount) is not int or not 0 < amount <= AMOUNT_MAX:
        return "amount: integer minor units, 1 to 10**12"
    if not (isinstance(currency, str) and CURRENCY_RE.match(currency)):
        return "currency: three upper-case letters"
    if not (isinstance(order_id, str) and 1 <= len(order_id) <= 64):
        return "order_id: 1 to 64 characters"
    return None


def build_starlette(check: SignatureCheck) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        if why := check.refuse(request.method, request.url.path, request.headers, body):
            return JSONResponse({"detail": why}, status_code=401)
        try:
            data = json.loads(body)
        except ValueError:
            return JSONResponse({"detail": "body is not JSON"}, status_code=400)
        if why := _starlette_failure(data):
            return JSONResponse({"detail": why}, status_code=400)
        return JSONResponse({"ok": True, "order_id": data["order_id"]})

    return Starlette(routes=[Route(PATH, echo, methods=["POST"])])


BUILDERS = {"fastapi": build_fastapi, "litestar": build_litestar, "starlette": build_starlette}
UVICORN = {"workers": 1, "loop": "uvloop", "http": "httptools", "log_level": "warning"}


def run_server(framework: str, port: int, replay_check: bool) -> None:
    import uvicorn

    app = BUILDERS[framework](SignatureCheck(replay_check=replay_check))
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, **UVICORN)


def signed_request(nonce: str = "bench-fixed-nonce-0001") -> tuple[bytes, dict[str, str]]:
    """The body and headers of one valid request (fixed nonce, current timestamp)."""
    body = json.dumps(BODY, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": sign("POST", PATH, timestamp, nonce, body),
    }
    return body, headers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{port}{PATH}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, None


@contextlib.contextmanager
def server(framework: str, replay_check: bool = False) -> Iterator[tuple[int, int]]:
    """Start one framework under uvicorn; yield (port, pid) once it answers a signed POST."""
    port = free_port()
    argv = [sys.executable, __file__, "--serve", framework, "--port", str(port)]
    if not replay_check:
        argv.append("--no-replay-check")
    proc = subprocess.Popen(argv)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{framework} server exited with {proc.returncode}")
            with contextlib.suppress(OSError):
                if post(port, *signed_request())[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{framework} server did not answer within 30 s")
            time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sanity_check(framework: str, port: int) -> None:
    """Same behaviour everywhere: 200 + echo, 401 on a bad signature, 4xx on a bad body."""
    body, headers = signed_request()
    status, answer = post(port, body, headers)
    assert status == 200 and answer == {"ok": True, "order_id": BODY["order_id"]}, framework
    bad_sig = dict(headers, **{"X-Signature": "0" * 64})
    assert post(port, body, bad_sig)[0] == 401, framework
    bad_body = json.dumps(dict(BODY, amount="12.34")).encode()
    timestamp, nonce = headers["X-Timestamp"], "sanity-bad-body"
    headers = dict(headers, **{"X-Nonce": nonce})
    headers["X-Signature"] = sign("POST", PATH, timestamp, nonce, bad_body)
    assert post(port, bad_body, headers)[0] in (400, 422), framework


def check_replay_guard() -> None:
    """The replay check that the load run switches off does refuse a repeated nonce."""
    check, (body, headers) = SignatureCheck(replay_check=True), signed_request()
    lower = {k.lower(): v for k, v in headers.items()}
    assert check.refuse("POST", PATH, lower, body) is None
    assert check.refuse("POST", PATH, lower, body) == "nonce already used"


class Stats(NamedTuple):
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    others: float = math.nan  # CPU cores taken meanwhile by processes outside the bench
    server_cores: float = math.nan  # CPU cores the server process used

    @property
    def per_cpu_s(self) -> float:
        """Requests per CPU-second of the server: steadier than requests/s on a shared box."""
        return self.rps / self.server_cores


def _cpu_seconds(server_pid: int) -> tuple[float, float, float]:
    """(busy CPU seconds of the machine incl. steal, of the server, of this bench + wrk)."""
    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    with open(f"/proc/{server_pid}/stat") as f:
        server = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    own = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    mine = sum(r.ru_utime + r.ru_stime for r in own)
    return (sum(ticks[0:3]) + sum(ticks[5:8])) / hz, server / hz, mine


@contextlib.contextmanager
def cpu_watch(server_pid: int) -> Iterator[dict[str, float]]:
    """Cores used by the server and by other processes (other jobs, the hypervisor) meanwhile."""
    found: dict[str, float] = {}
    with contextlib.suppress(OSError):
        started, before = time.monotonic(), _cpu_seconds(server_pid)
    yield found
    with contextlib.suppress(OSError, NameError):
        after, elapsed = _cpu_seconds(server_pid), time.monotonic() - started
        total, server, mine = (a - b for a, b in zip(after, before, strict=True))
        found["others"] = max(0.0, total - server - mine) / elapsed
        found["server_cores"] = server / elapsed


WRK_LUA = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "ZHIFU_BENCH {{\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %.1f, " ..
    "\\"p99_us\\": %.1f, \\"errors\\": %d}}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def load_wrk(port: int, warmup_s: float, duration_s: float, connections: int) -> Stats:
    body, headers = signed_request()
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_LUA.format(body=body.decode(), headers=lines))
    url = f"http://127.0.0.1:{port}{PATH}"
    try:
        outputs = []
        for seconds in (warmup_s, duration_s):
            argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s"]
            argv += ["-s", script.name, url]
            run = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
            outputs.append(run.stdout)
    finally:
        os.unlink(script.name)
    line = next(ln for ln in outputs[-1].splitlines() if ln.startswith("ZHIFU_BENCH "))
    got = json.loads(line.removeprefix("ZHIFU_BENCH "))
    rps = got["requests"] / (got["duration_us"] / 1e6)
    return Stats(rps, got["p50_us"] / 1000, got["p99_us"] / 1000, got["errors"])


async def _client(port: int, request: bytes, stop_at: float, latencies: list[int]) -> int:
    """One keep-alive connection sending ``request`` until ``stop_at``; returns its errors."""
    errors = 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter_ns()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if match is None:  # all three frameworks send Content-Length for JSON
                return errors + 1
            await reader.readexactly(int(match.group(1)))
            latencies.append(time.perf_counter_ns() - started)
            errors += head[9:10] != b"2"
    except (OSError, asyncio.IncompleteReadError):
        errors += 1
    finally:
        writer.close()
    return errors


async def _load_python(port: int, seconds: float, connections: int) -> tuple[list[int], int, float]:
    body, headers = signed_request()
    head = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    request = (head + "".join(f"{k}: {v}\r\n" for k, v in headers.items())).encode()
    latencies: list[int] = []
    started = time.perf_counter()
    request += b"\r\n" + body
    tasks = [_client(port, request, started + seconds, latencies) for _ in range(connections)]
    errors = sum(await asyncio.gather(*tasks))
    return latencies, errors, time.perf_counter() - started


def load_python(port: int, warmup_s: float, duration_s: float, connections: int) -> Stats:
    import uvloop  # a dependency of uvicorn[standard]

    uvloop.run(_load_python(port, warmup_s, connections))
    latencies, errors, elapsed = uvloop.run(_load_python(port, duration_s, connections))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] / 1e6 if latencies else 0

    return Stats(len(latencies) / elapsed, pct(0.50), pct(0.99), errors)


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def wrk_version() -> str:
    run = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (run.stdout + run.stderr).split(" [")[0].strip()


def markdown(runs: dict[str, list[Stats]], max_others: float) -> str:
    """One row per framework. requests/s, p50, p99: the median round among the quiet rounds
    (other processes took at most ``max_others`` cores; all rounds if none was quiet). Last
    column: requests per server CPU-second, median over all rounds, and the median of the
    per-round ratios to the Starlette run of the same round (robust to CPU stolen by others)."""
    quiet = {fw: [s for s in runs[fw] if not s.others > max_others] or runs[fw] for fw in runs}
    median = {fw: sorted(stats)[(len(stats) - 1) // 2] for fw, stats in quiet.items() if stats}
    base = runs.get("starlette")
    rows = [
        "| framework | requests/s | p50 | p99 | errors | vs Starlette | per server CPU-s (vs S.) |",
        "|---" * 7 + "|",
    ]
    for fw, m in median.items():
        ratio = f"{m.rps / median['starlette'].rps:.2f}x" if base else "n/a"
        paired = [s.per_cpu_s / b.per_cpu_s for s, b in zip(runs[fw], base or [], strict=False)]
        paired_ratio = f"{statistics.median(paired):.2f}x" if paired else "n/a"
        n_quiet = sum(not s.others > max_others for s in runs[fw])
        kept = f" ({n_quiet}/{len(runs[fw])} quiet)" if len(runs[fw]) > 1 else ""
        rows.append(
            f"| {fw} | {m.rps:,.0f}{kept} | {m.p50_ms:.2f} ms | {m.p99_ms:.2f} ms "
            f"| {sum(s.errors for s in runs[fw])} | {ratio} "
            f"| {statistics.median(s.per_cpu_s for s in runs[fw]):,.0f} ({paired_ratio}) |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s warm-up + 2 s per framework")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (median)")
    parser.add_argument("--max-others", type=float, default=0.15, help="quiet round: cores")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--serve", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-replay-check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        run_server(args.serve, args.port, replay_check=not args.no_replay_check)
        return 0
    warmup, duration = (1.0, 2.0) if args.quick else (args.warmup, args.duration)
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "python"
    load = load_wrk if loadgen == "wrk" else load_python
    gen = wrk_version() if loadgen == "wrk" else "python asyncio (less precise)"
    dists = ("fastapi", "pydantic", "litestar", "msgspec", "starlette", "uvicorn", "uvloop")
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, load: {gen}, 1 thread, "
        f"{args.connections} connections, warm-up {warmup:g} s, measured {duration:g} s"
    )
    print(", ".join(f"{d} {version(d)}" for d in (*dists, "httptools")) + "\n")
    check_replay_guard()
    frameworks = [fw for fw in args.frameworks.split(",") if version(fw) != "missing"]
    runs: dict[str, list[Stats]] = {fw: [] for fw in frameworks}
    for n in range(1, args.rounds + 1):  # rounds interleave the frameworks: drift hits all alike
        for fw in frameworks:
            with server(fw) as (port, pid):
                sanity_check(fw, port)
                with cpu_watch(pid) as cpu:
                    stats = load(port, warmup, duration, args.connections)
            runs[fw].append(stats := stats._replace(**cpu))
            print(f"round {n} {fw}: {stats.rps:,.0f}/s, p99 {stats.p99_ms:.2f} ms, server "
                  f"{stats.server_cores:.2f} cores ({stats.per_cpu_s:,.0f} per CPU-s), other "
                  f"processes {stats.others:.2f} cores", file=sys.stderr)  # fmt: skip
    print(markdown(runs, args.max_others))
    return 0


if __name__ == "__main__":
    sys.exit(main())
