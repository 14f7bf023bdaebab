"""``zhifu box``: the merchant's hands-free scanning box (意锐小盒, D5), emulated.

``zhifu box --url URL --merchant-id M --key-id K --key FILE --image FRAME --amount 12.34``
reads the camera frame (an image of the customer's phone screen), decodes the payment code,
sends a signed micropay for the amount the cashier entered, and announces the result
("收款成功 12.34元"): spoken into ``--wav FILE`` by ``espeak-ng`` when it is installed,
printed in any case. Exit status 0 when paid, 1 when refused (the reason code and what it
means are printed too), 2 for a mistake: a file that is not a private key or not an image, a
server that does not answer at ``--url``. When the request may have reached the server but no
answer came back, the order number to ask again with is printed: the same ``--out-trade-no``
never pays twice.

>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["box", "--url", "http://127.0.0.1:8000", "--merchant-id", "M1",
...     "--key-id", "k1", "--key", "k.pem", "--image", "f.png", "--amount", "12.34"])
>>> args.amount, args.terminal_id, args.timeout
('12.34', 'BOX00001', 10.0)
>>> reason_text("key_unknown")
'key_unknown: the key id of the request is not registered'
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

from zhifu.cli.barcode.support import parse_yuan
from zhifu.cli.checks import seconds
from zhifu.cli.common import Outcome, SubParsers, leaf, name_arguments
from zhifu.core.errors import DecodeError, UsageError

if TYPE_CHECKING:
    from zhifu.barcode.api.signing import SigningKey

KEY_FILE_MAX = 1_000_000  # bytes: a PEM key is a few kilobytes


def register(sub: SubParsers) -> None:
    """Add ``box`` to the command tree."""
    p = leaf(
        sub,
        "box",
        _box,
        "scanning box: read a payment code from an image, charge it, announce the result",
    )
    p.add_argument("--url", required=True, help="the zhifu server (http://127.0.0.1:8000)")
    p.add_argument("--merchant-id", required=True, help="the merchant the box belongs to")
    p.add_argument("--key-id", required=True, help="the merchant's registered key id")
    p.add_argument(
        "--key", required=True, metavar="FILE", help="the merchant's private key (SM2 or RSA PEM)"
    )
    p.add_argument("--image", required=True, metavar="FILE", help="camera frame of the phone")
    p.add_argument("--amount", required=True, help="amount the cashier entered, in yuan (12.34)")
    p.add_argument("--terminal-id", default="BOX00001", help="the box's terminal id")
    p.add_argument("--out-trade-no", help="order number (default: terminal id + time)")
    p.add_argument("--wav", metavar="FILE", help="speak the result into this WAV (espeak-ng)")
    p.add_argument(
        "--timeout", type=seconds, default=10.0, help="seconds to wait for the answer (10)"
    )
    name_arguments(p, base_url="--url", source="--image", image="--image", key="--key")


def _box(args: argparse.Namespace) -> Outcome:
    from zhifu.barcode.api.client import ApiClient  # noqa: PLC0415
    from zhifu.barcode.box import collect  # noqa: PLC0415 - late: the CLI starts fast

    amount = parse_yuan(args.amount, "--amount")
    key = _signing_key(args.key_id, args.key)
    wav = _wav(args.wav)
    trade_no = args.out_trade_no or f"{args.terminal_id}-{time.time_ns() // 1_000_000}"
    client = ApiClient(args.url, key, timeout=args.timeout)
    try:
        result = collect(
            client,
            args.merchant_id,
            args.image,
            amount,
            terminal_id=args.terminal_id,
            out_trade_no=trade_no,
            wav=wav,
        )
    except DecodeError as exc:  # the frame: not an image, or no payment code in it
        raise UsageError(exc.reason, argument="--image") from None
    except (OSError, http.client.HTTPException, json.JSONDecodeError) as exc:
        raise _no_answer(exc, args.url, trade_no, args.timeout) from None
    finally:
        client.close()
    data = {
        "ok": result.ok,
        "announcement": result.text,
        "amount": result.amount,
        "error_code": result.error_code,
        "error_message": None if result.ok else reason_meaning(result.error_code),
        "order": result.order,
        "out_trade_no": trade_no,
        "wav": None if result.wav is None else str(result.wav),
    }
    lines = [result.text]
    if not result.ok:
        lines.append(f"reason: {reason_text(result.error_code)}")
    if args.wav and result.wav is None:
        lines.append("(espeak-ng is not installed: the announcement is text only)")
    return Outcome(data, lines, status=0 if result.ok else 1)


def reason_text(code: str | None) -> str:
    """A refusal's code and what it means (``docs/errors.md`` has a paragraph per code)."""
    return f"{code}: {reason_meaning(code)}"


def reason_meaning(code: str | None) -> str:
    """What a refusal's code means."""
    from zhifu.barcode.api.errors import ERRORS  # noqa: PLC0415

    if code in ERRORS:
        return ERRORS[code][1]
    if code and code.startswith("http_"):
        return f"the server answered HTTP {code[5:]} without a zhifu error code"
    return "not a code this zhifu knows"


def _signing_key(key_id: str, path: str) -> SigningKey:
    """The merchant's private key from ``--key``; a file of any other kind is refused."""
    from zhifu.barcode.api.signing import SigningKey, load_private_key  # noqa: PLC0415

    try:
        with Path(path).open("rb") as file:
            pem = file.read(KEY_FILE_MAX)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", argument="--key") from None
    if b"PRIVATE KEY-----" not in pem:
        what = "a public key" if b"PUBLIC KEY-----" in pem else "no PEM private key"
        raise UsageError(
            f"{path} holds {what}: give the merchant's SM2 or RSA private key (PEM)",
            argument="--key",
        )
    try:
        algorithm, private = load_private_key(pem)
    except DecodeError:
        raise UsageError(
            f"{path} holds no SM2 or RSA private key (PEM)", argument="--key"
        ) from None
    return SigningKey(key_id, algorithm, private)


def _wav(text: str | None) -> Path | None:
    """``--wav``, checked before anything is charged."""
    if text is None:
        return None
    path = Path(text)
    if path.is_dir() or not path.parent.is_dir():
        raise UsageError(f"cannot write a WAV file at {text}", argument="--wav")
    return path


def _no_answer(exc: Exception, url: str, trade_no: str, timeout: float) -> UsageError:
    """The error for a server that did not answer; says whether the payment may have been made."""
    if isinstance(exc, ConnectionRefusedError | socket.gaierror):
        why = "connection refused" if isinstance(exc, ConnectionRefusedError) else "unknown host"
        return UsageError(
            f"the server at {url} does not answer ({why}); nothing was charged. "
            "Is it running (make run)?",
            argument="--url",
        )
    if isinstance(exc, TimeoutError):
        why = f"no answer within {timeout:g} s (--timeout)"
    elif isinstance(exc, json.JSONDecodeError):
        why = "the answer is not a zhifu server's (not JSON)"
    else:
        why = f"the exchange broke off ({type(exc).__name__})"
    return UsageError(
        f"the server at {url}: {why}. The payment's outcome is unknown: ask again with the "
        f"same --image and --out-trade-no {trade_no} (an order number never pays twice)",
        argument="--url",
    )
