"""A real ``zhifu serve`` killed with SIGKILL in the middle of a burst of signed SM2
micropays, then started again: the scanning box (``zhifu box``, a subprocess) retrying the
orders left without an answer, with their ``--out-trade-no``, is told the payment's outcome
(收款成功 and the amount), never 请重试; nothing of the killed server keeps running (its SM2
helper process, any resource tracker); every ledger balances (``zhifu ledger check``).

Everything is real: subprocesses on free 127.0.0.1 ports, a temporary ``ZHIFU_HOME``, SQLite
files. Processes are looked up by PID and parent PID in ``/proc``, never by name patterns.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from zhifu.barcode.api.client import ApiClient
from zhifu.barcode.api.signing import SigningKey
from zhifu.barcode.codes.payment_code import PaymentCodeGenerator
from zhifu.barcode.codes.render import render_png
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.crypto import sm2

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

SRC = Path(__file__).resolve().parents[3] / "src"
AMOUNT = 1_234  # fen: 12.34 yuan
PHONES = 20  # each shows at most 10 codes per 10-second step
KILL_AFTER = 40  # answered micropays before the kill
CASHIERS = 6  # concurrent cashiers: several payments in flight at the kill
ROUNDS = 5  # kills at most, until one lands in the middle of a payment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> dict[int, str]:
    """PID -> command line of each process whose parent is ``pid``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # ended meanwhile
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Shop:
    home: Path  # ZHIFU_HOME
    key_file: Path
    signer: SigningKey
    phones: list[PaymentCodeGenerator]
    env: dict[str, str] = field(default_factory=dict)
    turn: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def code(self) -> str:
        with self.lock:
            self.turn += 1
            return self.phones[self.turn % len(self.phones)].next_code()


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    system = BarcodeSystem.open(tmp_path / "barcode")
    try:
        system.add_merchant("M1", "zhifu", "Noodles")
        private, public = sm2.generate_keypair()
        system.add_key("merchant:M1", "M1-k1", public)
        phones = []
        for n in range(PHONES):
            system.open_wallet("zhifu", f"C{n}", f"A{n}")
            system.top_up("zhifu", f"A{n}", 5_000_000, f"topup-A{n}")
            handle, secret = system.enroll_device("zhifu", f"C{n}", f"A{n}")
            phones.append(system.phone("zhifu", handle, secret))
    finally:
        system.close()
    key_file = tmp_path / "M1-k1.pem"
    key_file.write_text(sm2.private_key_to_pem(private))
    env = {**os.environ, "ZHIFU_HOME": str(tmp_path), "PYTHONPATH": str(SRC)}
    for name in ("ZHIFU_LMK", "ZHIFU_LMK_FILE"):
        env.pop(name, None)
    return Shop(tmp_path, key_file, SigningKey("M1-k1", "SM2-SM3", private), phones, env)


@contextlib.contextmanager
def served(shop: Shop) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``zhifu serve`` (web only) on a free port, until the block ends (SIGTERM if alive)."""
    port = free_port()
    command = [sys.executable, "-m", "zhifu.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--no-acquirer", "--no-clearing"],
        env=shop.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "zhifu serve stopped while starting"
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            assert time.monotonic() < deadline, "zhifu serve did not start"
            time.sleep(0.2)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def payload(trade_no: str, code: str) -> dict[str, Any]:
    """The body ``zhifu box`` sends (the same bytes, so the retry is the same request)."""
    return {
        "merchant_id": "M1",
        "out_trade_no": trade_no,
        "auth_code": code,
        "amount": AMOUNT,
        "currency": "CNY",
        "terminal_id": "BOX00001",
        "description": "scanning box",
    }


class Burst(threading.Thread):
    """One cashier: micropays one after the other until the server is gone; the order left
    without an answer then."""

    def __init__(self, shop: Shop, url: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.shop, self.url, self.prefix = shop, url, prefix
        self.answered = 0
        self.unanswered: dict[str, str] = {}  # trade no -> payment code
        self.statuses: set[int] = set()

    def run(self) -> None:
        client = ApiClient(self.url, self.shop.signer, timeout=30)  # slow under a loaded CI
        try:
            for n in itertools.count(1):
                trade_no, code = f"{self.prefix}-{n:05d}", self.shop.code()
                try:
                    reply = client.post(
                        "/v1/micropay", payload(trade_no, code), idempotency_key=trade_no
                    )
                except OSError:  # the server is gone: this one's outcome is unknown
                    self.unanswered[trade_no] = code
                    return
                self.statuses.add(reply.status)
                self.answered += 1
        finally:
            client.close()


def kill_mid_burst(shop: Shop, round_: int) -> tuple[list[Burst], dict[int, str]]:
    """Serve, start the cashiers, SIGKILL the server once they are well under way; the
    cashiers and the server's child processes (PID -> command line) at the kill."""
    with served(shop) as (proc, url):
        bursts = [Burst(shop, url, f"R{round_}T{n}") for n in range(CASHIERS)]
        for burst in bursts:
            burst.start()
        deadline = time.monotonic() + 60
        while sum(b.answered for b in bursts) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.01)
        children = children_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        for burst in bursts:
            burst.join(timeout=30)
    assert sum(b.answered for b in bursts) >= KILL_AFTER, "the burst did not get going"
    return bursts, children


def held(shop: Shop, trade_nos: dict[str, str]) -> list[str]:
    """The orders among ``trade_nos`` whose Idempotency-Key the killed server left held."""
    with contextlib.closing(sqlite3.connect(shop.home / "barcode" / "barcode.db")) as db:
        rows = db.execute(
            "SELECT key FROM idempotency WHERE scope = 'merchant:M1' AND status IS NULL"
        ).fetchall()
    return sorted(key for (key,) in rows if key in trade_nos)


def box(shop: Shop, url: str, trade_no: str, code: str) -> subprocess.CompletedProcess[str]:
    image = shop.home / f"{trade_no}.png"
    image.write_bytes(render_png(code))
    command = [sys.executable, "-m", "zhifu.cli", "box", "--url", url, "--merchant-id", "M1"]
    command += ["--key-id", "M1-k1", "--key", str(shop.key_file), "--image", str(image)]
    command += ["--amount", "12.34", "--out-trade-no", trade_no]
    return subprocess.run(
        command, env=shop.env, capture_output=True, text=True, timeout=120, check=False
    )


def test_after_a_kill_the_box_is_told_the_outcome_and_nothing_is_left(shop: Shop) -> None:
    unanswered: dict[str, str] = {}
    cut_off: list[str] = []
    for round_ in range(ROUNDS):  # until a kill lands in the middle of a payment
        bursts, children = kill_mid_burst(shop, round_)
        assert set().union(*(b.statuses for b in bursts)) == {200}
        assert any("zhifu.barcode.api.sm2_helper" in line for line in children.values())
        assert not any("resource_tracker" in line for line in children.values()), children
        deadline = time.monotonic() + 10
        while any(running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in children if running(pid)] == []  # no orphan of the killed server
        for burst in bursts:
            unanswered.update(burst.unanswered)
        cut_off = held(shop, unanswered)
        if cut_off:
            break
    assert cut_off, "no kill landed in the middle of a payment"

    with served(shop) as (_, url):  # at once: well within the 30-second lease
        for trade_no, code in sorted(unanswered.items()):
            done = box(shop, url, trade_no, code)
            assert "请重试" not in done.stdout, (trade_no, done.stdout, done.stderr)
            assert "收款成功 12.34元" in done.stdout, (trade_no, done.stdout, done.stderr)
            assert done.returncode == 0

    platform = shop.home / "barcode"  # seeded in clear here, sealed by the server since
    assert sorted(p.name for p in platform.glob("*-master.key*")) == [
        f"{inst}-master.key.sealed" for inst in ("huanyu", "qingniao", "zhifu")
    ]
    for institution in ("zhifu", "huanyu", "qingniao"):
        database = f"sqlite:///{shop.home / 'barcode' / f'ledger-{institution}.db'}"
        checked = subprocess.run(
            [sys.executable, "-m", "zhifu.cli", "ledger", "check", "--database", database],
            env=shop.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert (checked.returncode, checked.stdout.strip()) == (0, "balanced"), checked.stderr
