"""The notification outbox (bounded back-off, one delivery per claim) and the scanning box's
pieces (finding the code, the announcement, speech with or without espeak-ng)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from zhifu.barcode import box
from zhifu.barcode.api.client import ApiClient
from zhifu.barcode.api.signing import SigningKey
from zhifu.barcode.codes.render import render_png
from zhifu.barcode.platform.notify import Notifier
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.core.errors import DecodeError, UsageError
from zhifu.crypto import sm2


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: refused


@pytest.fixture
def system() -> Iterator[BarcodeSystem]:
    found = BarcodeSystem.open(clock=FixedClock(datetime(2026, 11, 25, 9, tzinfo=SHANGHAI)))
    yield found
    found.close()


def test_a_merchant_that_never_answers_gets_a_bounded_number_of_attempts(
    system: BarcodeSystem,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/notify"
    merchant = system.add_merchant("M1", "zhifu", "Shop", notify_url=url)
    system.open_wallet("zhifu", "C1", "A1")
    system.top_up("zhifu", "A1", 10_000, "t1")
    phone = system.phone("zhifu", *system.enroll_device("zhifu", "C1", "A1"))
    order = system.flows.micropay(merchant.merchant_id, "T1", phone.next_code(), 100)
    event_id = f"EV-{order.payment_id}"
    now = [datetime(2026, 11, 25, 9, tzinfo=SHANGHAI).timestamp()]
    keys = {inst: node.signing_key for inst, node in system.nodes.items()}
    notifier = Notifier(system.db, system.directory, keys, backoff=(1, 2, 4), now=lambda: now[0])
    attempts = []
    for _ in range(10):
        notifier.deliver_due()
        attempts.append(notifier.status(event_id))
        now[0] += 10
    assert attempts[:4] == [("pending", 1), ("pending", 2), ("pending", 3), ("failed", 4)]
    assert attempts[-1] == ("failed", 4)
    row = system.db.one("SELECT last_error FROM events WHERE event_id = ?", (event_id,))
    assert row is not None and "Refused" in row[0]


def test_an_event_due_later_is_not_sent_early(system: BarcodeSystem) -> None:
    keys = {inst: node.signing_key for inst, node in system.nodes.items()}
    notifier = Notifier(system.db, system.directory, keys, now=lambda: 0.0)
    assert notifier.deliver_due() == 0


def test_find_the_payment_code_among_the_symbols() -> None:
    assert box.find_payment_code(["hello", " 910000123401234567\r\n"]) == "910000123401234567"
    assert box.find_payment_code(["12345", "https://pay.zhifu.test/qr/m/ABCDEFGH"]) is None


@pytest.mark.parametrize(
    ("ok", "amount", "code", "text"),
    [
        (True, 1234, None, "收款成功 12.34元"),
        (True, 5, None, "收款成功 0.05元"),
        (True, 100_000, None, "收款成功 1000.00元"),
        (False, 1, "auth_code_expired", "收款失败 付款码已过期，请刷新"),
        (False, 1, "insufficient_funds", "收款失败 余额不足"),
        (False, 1, "limit_exceeded", "收款失败 超出支付限额"),
        (False, 1, "http_502", "收款失败 请重试"),
    ],
)
def test_announcements(ok: bool, amount: int, code: str | None, text: str) -> None:
    assert box.announcement(ok, amount, code) == text


def test_speak_without_espeak_ng_is_text_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert box.speak("收款成功 12.34元", tmp_path / "x.wav") is None
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_speak_with_espeak_ng_writes_a_wav(tmp_path: Path) -> None:
    wav = box.speak("收款成功 12.34元", tmp_path / "x.wav")
    assert wav is not None and wav.read_bytes()[:4] == b"RIFF"


def test_the_box_refuses_an_image_without_a_payment_code(tmp_path: Path) -> None:
    client = ApiClient("http://127.0.0.1:9", SigningKey("k1", "SM2-SM3", sm2.generate_keypair()[0]))
    frame = tmp_path / "frame.png"
    frame.write_bytes(render_png("https://pay.zhifu.test/qr/m/ABCDEFGH"))
    with pytest.raises(DecodeError, match="no payment code"):
        box.collect(client, "M1", str(frame), 100)
    with pytest.raises(UsageError):
        box.collect(client, "M1", str(frame), 0)


def test_a_slow_merchant_does_not_hold_back_the_others(system: BarcodeSystem) -> None:
    import http.server  # noqa: PLC0415
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    received: list[str] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append(self.headers["Zhifu-Event-Id"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    healthy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=healthy.serve_forever, daemon=True).start()
    silent = socket.socket()  # accepts connections (backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        slow = system.add_merchant("MS", "zhifu", "Slow", notify_url=_url(silent))
        fast = system.add_merchant(
            "MF", "zhifu", "Fast", notify_url=f"http://127.0.0.1:{healthy.server_port}/n"
        )
        system.open_wallet("zhifu", "C1", "A1")
        system.top_up("zhifu", "A1", 10_000, "t1")
        phone = system.phone("zhifu", *system.enroll_device("zhifu", "C1", "A1"))
        for i in range(3):  # delivered one after the other, these would take 3 x the timeout
            system.flows.micropay(slow.merchant_id, f"S{i}", phone.next_code(), 10)
        paid = system.flows.micropay(fast.merchant_id, "F1", phone.next_code(), 10)
        system.notifier.timeout = 2.0
        system.notifier.start()
        system.notifier.wake()
        deadline = time.monotonic() + 1.5  # less than one timeout of the slow merchant
        while not received and time.monotonic() < deadline:
            time.sleep(0.02)
        assert received == [f"EV-{paid.payment_id}"]
        while time.monotonic() < deadline + 0.3:  # recorded just after; still under the timeout
            if system.notifier.status(f"EV-{paid.payment_id}")[0] == "delivered":
                break
            time.sleep(0.02)
        assert system.notifier.status(f"EV-{paid.payment_id}") == ("delivered", 1)
    finally:
        system.notifier.stop()
        healthy.shutdown()
        silent.close()


def _url(server: socket.socket) -> str:
    return f"http://127.0.0.1:{server.getsockname()[1]}/notify"


def test_the_running_server_finishes_an_interrupted_payment(
    system: BarcodeSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time  # noqa: PLC0415

    from zhifu.barcode.platform.postings import customer_account  # noqa: PLC0415

    system.sweep_seconds, system.stale_seconds = 0.05, 0
    system.start()  # nothing to recover yet: the sweeper is what finishes it
    merchant = system.add_merchant("M1", "zhifu", "Shop")
    system.open_wallet("zhifu", "C1", "A1")
    system.top_up("zhifu", "A1", 10_000, "t1")
    phone = system.phone("zhifu", *system.enroll_device("zhifu", "C1", "A1"))
    original = system.switch.post

    def dropped(legs: object) -> object:
        monkeypatch.setattr(system.switch, "post", original)  # only this once
        raise ConnectionError("the ledger connection dropped")

    monkeypatch.setattr(system.switch, "post", dropped)
    with pytest.raises(ConnectionError):
        system.flows.micropay(merchant.merchant_id, "T1", phone.next_code(), 700)
    order = system.book.order_by_trade_no("M1", "T1")
    assert order is not None and order.status == "PAYING"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        order = system.book.order_by_trade_no("M1", "T1")
        if order is not None and order.status == "PAID":
            break
        time.sleep(0.02)
    assert order is not None and order.status == "PAID"
    assert system.node("zhifu").balance(customer_account("zhifu", "A1")) == 9_300
