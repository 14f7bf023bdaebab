"""``zhifu device``: the terminal ↔ phone link (``docs/device-protocol.md``).

``zhifu device demo --transport usb|audio [--snr DB] [--amount YUAN] [--json]`` runs a purchase
the way an app would: an acquirer, an issuer and a terminal in this process (SQLite files in a
temporary folder), the terminal served over the chosen transport (a socket pair stands in for
the USB pipes or the audio cable), the SDK sending the commands and relaying the terminal's host
messages; it prints the events and the result. ``zhifu device wav encode --hex HEX --out F.wav``
and ``zhifu device wav decode F.wav`` put link bytes into sound and back (``soxi`` reads the
files).

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> parser.parse_args(["device", "demo", "--transport", "audio"]).snr
20.0
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

from zhifu.cli.barcode.support import parse_yuan
from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError

__all__ = ["register"]

MID, TID, PIN = "898100012345678", "10000066", "1234"


def register(sub: SubParsers) -> None:
    """Add ``device`` and its commands."""
    text = "the terminal-phone link: a purchase from the SDK, the modem's WAV files"
    group = sub.add_parser("device", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="device commands", metavar="COMMAND")
    p = leaf(cmds, "demo", _demo, "a purchase from the phone SDK through the terminal to the host")
    p.add_argument("--transport", choices=("usb", "audio"), default="usb", help="the link")
    p.add_argument("--snr", type=float, default=20.0, help="audio: the noise (dB SNR)")
    p.add_argument("--amount", type=lambda t: parse_yuan(t, "--amount"), default=1234,
                   metavar="YUAN", help="the purchase (default 12.34)")  # fmt: skip
    wav = cmds.add_parser("wav", help="link bytes to sound and back")
    wav.set_defaults(help_parser=wav)
    wavs = wav.add_subparsers(title="wav commands", metavar="COMMAND")
    p = leaf(wavs, "encode", _encode, "modulate bytes (hex) into a 16-bit mono WAV file")
    p.add_argument("--hex", required=True, help="the bytes, e.g. a frame from the protocol page")
    p.add_argument("--out", required=True, help="the WAV file to write")
    p = leaf(wavs, "decode", _decode, "demodulate a WAV file: the bytes and the frames in them")
    p.add_argument("file", help="the WAV file")


def _encode(args: argparse.Namespace) -> Outcome:
    from zhifu.device.audio.modem import ModemConfig, modulate  # noqa: PLC0415
    from zhifu.device.audio.wav import write_wav  # noqa: PLC0415

    try:
        data = bytes.fromhex(args.hex)
    except ValueError:
        raise UsageError("hexadecimal digits, in pairs", argument="--hex") from None
    config = ModemConfig()
    path = write_wav(args.out, modulate(data, config), config.sample_rate)
    seconds = config.samples_for(len(data)) / config.sample_rate
    return Outcome({"file": str(path), "bytes": len(data), "seconds": round(seconds, 4)},
                   f"{len(data)} bytes in {seconds:.3f} s of sound: {path}")  # fmt: skip


def _decode(args: argparse.Namespace) -> Outcome:
    from zhifu.device.audio.modem import ModemConfig, demodulate  # noqa: PLC0415
    from zhifu.device.audio.wav import read_wav  # noqa: PLC0415
    from zhifu.device.frame import find_frames  # noqa: PLC0415

    samples, rate = read_wav(args.file)
    if rate != ModemConfig().sample_rate:
        raise UsageError(f"the modem runs at 48000 Hz, not {rate}", argument="file")
    data = demodulate(samples)
    frames, errors, _ = find_frames(data)
    found = [{"seq": f.seq, "cmd": f"{f.cmd:02X}", "payload": f.payload.hex().upper()}
             for f in frames]  # fmt: skip
    text = [f"{len(data)} bytes: {data.hex(' ').upper()}"] + [repr(f) for f in frames]
    return Outcome({"hex": data.hex().upper(), "frames": found,
                    "errors": [str(e) for e in errors]}, text)  # fmt: skip


def _demo(args: argparse.Namespace) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        return _run_demo(Path(tmp), args)


def _run_demo(folder: Path, args: argparse.Namespace) -> Outcome:
    from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background  # noqa: PLC0415
    from zhifu.device.endpoint import Endpoint  # noqa: PLC0415
    from zhifu.issuer import Issuer  # noqa: PLC0415
    from zhifu.sdk import PhoneSdk  # noqa: PLC0415
    from zhifu.terminal import Terminal  # noqa: PLC0415
    from zhifu.terminal.phone import PhoneServer  # noqa: PLC0415

    lmk = os.environ.setdefault("ZHIFU_LMK", "6D" * 32)
    background = start_in_background(AcquirerConfig.local(folder / "var", port=0),
                                     environ={"ZHIFU_LMK": lmk})  # fmt: skip
    try:
        services = background.host.services
        reg = register_terminal(services.registry, services.hsm, MID, TID)
        parts = [c.material.reveal().hex() for c in reg.components]
        term = Terminal.init(folder / "term", MID, TID, parts)
        issuer = services.issuer
        assert isinstance(issuer, Issuer)
        issuer.issue_card("debit", 100_000, PIN, folder / "card.json")
        phone_end, term_end = _transports(args)
        server = PhoneServer(term, Endpoint([term_end]), card=folder / "card.json", pin=PIN)
        stop = threading.Event()
        thread = threading.Thread(target=server.serve, args=(stop.is_set,), daemon=True)
        thread.start()
        sdk = PhoneSdk(Endpoint([phone_end]), ("127.0.0.1", background.port))
        try:
            info, signed = sdk.connect(), sdk.sign_on()
            result = sdk.purchase(args.amount)
        finally:
            stop.set()
            thread.join(10)
            sdk.close()
            term.close()
    finally:
        background.stop()
    return _outcome(args.transport, info, signed, result, sdk.events)


def _transports(args: argparse.Namespace) -> tuple[Any, Any]:
    from zhifu.device.transport import AudioTransport, UsbTransport  # noqa: PLC0415

    phone, term = socket.socketpair()
    if args.transport == "usb":
        return UsbTransport(phone, host=True), UsbTransport(term, host=False)
    return AudioTransport(phone, snr_db=args.snr, seed=1), AudioTransport(term, snr_db=args.snr,
                                                                           seed=2)  # fmt: skip


def _outcome(
    transport: str, info: dict[str, Any], signed: dict[str, Any], result: dict[str, Any],
    events: list[tuple[str, Any]],
) -> Outcome:  # fmt: skip
    data = {"transport": transport, "device": info, "sign_on": signed, "result": result,
            "events": [[name, value] for name, value in events]}  # fmt: skip
    lines = [f"over {transport}: {info.get('model')} terminal {info.get('terminal_id')}",
             f"sign-on: {signed.get('response_code')}"]  # fmt: skip
    lines += [f"  event {name}: {value}" for name, value in events]
    word = "approved" if result.get("approved") else "not approved"
    lines.append(f"purchase {result.get('amount')} {word}: {result.get('response_code')} "
                 f"card {result.get('masked_pan')} stan {result.get('stan')}")  # fmt: skip
    return Outcome(data, lines, 0 if result.get("approved") else 1)
