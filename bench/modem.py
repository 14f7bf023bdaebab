"""The phone link: the audio modem's frame error rate and net bit rate against the
signal-to-noise ratio, and frames per second and round-trip time over the USB stand-in.

``python -m bench modem`` (``--frames N`` for the 20 dB row, default 10,000; the other rows use
a tenth, at least 50). Each frame carries 64 random bytes through the modem and a 16-bit WAV
file, with a random gain (0.2–1.5), DC offset (±0.3) and clock difference (±0.5 %) and white
noise at the SNR; a frame counts as lost when the link layer does not get it whole, as
*undetected* when it gets a frame that is not the one sent (the CRC's failure: must be 0). The
curve is saved as ``var/bench/modem-fer.png``.

The USB stand-in is a socket pair carrying CCID messages, measured twice: the protocol alone
(``LinkState`` at both ends in one thread, in lock step: frame, ACK) and the way the SDK and the
terminal use it (``Endpoint.send``, which returns once the ACK is in, to an ``Endpoint`` receiving
in another thread), with the round trip's p50 and p99.
"""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

from bench.harness import Latency, latency_of
from zhifu.device.audio.channel import impair
from zhifu.device.audio.modem import ModemConfig, demodulate, modulate
from zhifu.device.audio.wav import read_wav, write_wav
from zhifu.device.ccid import data_block, parse_messages, xfr_block
from zhifu.device.endpoint import Endpoint
from zhifu.device.frame import Frame, find_frames
from zhifu.device.link import LinkState
from zhifu.device.transport import UsbTransport

SNRS = (30.0, 25.0, 20.0, 15.0, 12.0, 10.0, 8.0, 6.0, 4.0, 2.0)
PAYLOAD = 64
FRAMES = 10_000


def modem_row(snr: float, frames: int, rng: np.random.Generator) -> dict[str, float]:
    """Frames through the modem at ``snr``: lost, undetected, net payload bit rate."""
    config = ModemConfig()
    lost = undetected = 0
    airtime = 0.0
    for n in range(frames):
        frame = Frame(n % 256, 0x10, rng.bytes(PAYLOAD))
        signal = modulate(frame.encode(), config)
        airtime += len(signal) / config.sample_rate
        sound = io.BytesIO()  # through a 16-bit WAV file, as the tests and the CLI write them
        write_wav(sound, signal, config.sample_rate)
        sound.seek(0)
        heard = impair(
            read_wav(sound)[0], rng, snr_db=snr, gain=float(rng.uniform(0.2, 1.5)),
            dc=float(rng.uniform(-0.3, 0.3)), clock_ratio=float(rng.uniform(0.995, 1.005)),
        )  # fmt: skip
        got, _, _ = find_frames(demodulate(heard, config))
        if got != [frame]:
            lost += 1
            undetected += bool(got)
    delivered = frames - lost
    return {"snr": snr, "frames": frames, "fer": lost / frames, "undetected": undetected,
            "bitrate": delivered * PAYLOAD * 8 / airtime}  # fmt: skip


def usb_row(seconds: float = 2.0) -> tuple[float, float]:
    """Frames per second and mean round-trip ms, frame → ACK over CCID on a socket pair."""
    host_sock, term_sock = socket.socketpair()
    host, terminal = LinkState(), LinkState()
    count, start = 0, time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            now = time.perf_counter()
            host_sock.sendall(xfr_block(count, host.send(0x10, bytes(PAYLOAD), now=now)))
            ((message, _),) = parse_messages(term_sock.recv(65536))
            _, ack = terminal.feed(message.data, now=now)
            term_sock.sendall(data_block(count, ack))
            ((reply, _),) = parse_messages(host_sock.recv(65536))
            host.feed(reply.data, now=now)
            assert not host.busy
            count += 1
    finally:
        host_sock.close()
        term_sock.close()
    elapsed = time.perf_counter() - start
    return count / elapsed, 1000 * elapsed / count


def endpoint_row(seconds: float = 2.0) -> tuple[float, Latency]:
    """Frames per second and the round trip's p50/p99: ``Endpoint.send`` (returns on the ACK)
    over CCID on a socket pair to an ``Endpoint`` receiving in another thread."""
    host_sock, term_sock = socket.socketpair()
    host = Endpoint([UsbTransport(host_sock, host=True)])
    terminal = Endpoint([UsbTransport(term_sock, host=False)])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            terminal.receive(0.05)
            terminal.inbox.clear()

    peer = threading.Thread(target=serve, daemon=True)
    peer.start()
    times: list[float] = []
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            sent = time.perf_counter()
            host.send(0x10, bytes(PAYLOAD))
            times.append(time.perf_counter() - sent)
    finally:
        stop.set()
        peer.join(5)
        host.close()
        terminal.close()
    latency = latency_of(times)
    assert latency is not None
    return len(times) / (time.perf_counter() - start), latency


def _plot(rows: list[dict[str, float]], out: Path) -> None:
    from PIL import Image, ImageDraw  # noqa: PLC0415

    width, height, margin = 640, 360, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    low, high = min(r["snr"] for r in rows), max(r["snr"] for r in rows)
    points = []
    for row in rows:
        x = margin + (row["snr"] - low) / (high - low or 1) * (width - 2 * margin)
        y = height - margin - row["fer"] * (height - 2 * margin)
        points.append((x, y))
        draw.text((x - 8, height - margin + 6), f"{row['snr']:g}", fill="black")
    draw.line(sorted(points), fill="#e45756", width=3)
    draw.text((margin, 15), "frame error rate (0 to 1) against SNR (dB), 64-byte frames",
              fill="black")  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG")


def run(frames: int = FRAMES) -> None:
    """Measure and print both tables; save the curve."""
    rng = np.random.default_rng(2026)
    rows = [modem_row(s, frames if s == 20.0 else max(frames // 10, 50), rng) for s in SNRS]
    print("\n### Audio modem: frame error rate and net bit rate against SNR (64-byte frames)\n")
    print("| SNR dB | frames | frame error rate | undetected errors | net bit/s | target |")
    print("|---:|---:|---:|---:|---:|---|")
    for row in rows:
        target = ""
        if row["snr"] == 20.0:
            met = row["bitrate"] >= 2400 and row["undetected"] == 0
            target = "≥ 2,400 bit/s, 0 undetected: " + ("met" if met else "NOT met")
        print(f"| {row['snr']:g} | {row['frames']:,.0f} | {row['fer']:.4f} | "
              f"{row['undetected']:.0f} | {row['bitrate']:,.0f} | {target} |")  # fmt: skip
    out = Path("var/bench/modem-fer.png")
    _plot(rows, out)
    print(f"\nThe curve: {out}")
    rate, rtt = usb_row()
    sent, latency = endpoint_row()
    print("\n### Phone link over the USB stand-in (CCID on a socket pair, frame and ACK)\n")
    print("| operation | frames/s | round trip ms (mean or p50) | p99 ms |")
    print("|---|---:|---:|---:|")
    print(f"| 64-byte frame, ACKed: LinkState both ends, one thread | {rate:,.0f} | "
          f"{rtt:.3f} | - |")  # fmt: skip
    print(f"| 64-byte frame, ACKed: Endpoint.send to an Endpoint in a thread | {sent:,.0f} | "
          f"{latency.p50_ms:.3f} | {latency.p99_ms:.3f} |")  # fmt: skip


if __name__ == "__main__":
    count = int(sys.argv[sys.argv.index("--frames") + 1]) if "--frames" in sys.argv else FRAMES
    run(count)
