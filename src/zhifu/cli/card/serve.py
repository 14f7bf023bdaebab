"""``zhifu card serve-vpcd``: put an emulated card into a ``pcscd`` virtual reader.

The card connects to the vsmartcard ``vpcd`` driver of ``pcscd`` (``--port`` 35963 is the
first virtual reader, 35964 the second) and answers it until Ctrl-C (or SIGTERM); when
``pcscd`` restarts, the card is inserted again. The card file is updated as the card commits
its state, as with ``zhifu card apdu``. Progress (connections, never APDU data) goes to
standard error.

``--host`` is an address of this machine (where ``pcscd`` runs) and ``--port`` a TCP port, 1 to
65535; anything else is refused in one line naming the option, before the card file is read:

>>> parser = argparse.ArgumentParser(prog="zhifu card")
>>> register_serve(parser.add_subparsers())
>>> args = parser.parse_args(["serve-vpcd", "--card", "c.json", "--port", "35964"])
>>> args.card, args.host, args.port, args.interface
('c.json', '127.0.0.1', 35964, 'auto')
>>> vpcd_port("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: a TCP port is 1 to 65535, not '0'
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.readers.vpcd import DEFAULT_HOST, VPCD_PORT, VpcdCardServer
from zhifu.cli.card.files import read_card
from zhifu.cli.checks import check_free, host, port
from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError

__all__ = ["register_serve"]


def register_serve(cmds: SubParsers) -> None:
    """Add ``serve-vpcd`` to the ``card`` command group (its sub-parsers action)."""
    p = leaf(cmds, "serve-vpcd", _serve_vpcd, "serve a card to pcscd's vpcd virtual reader")
    p.add_argument("--card", required=True, metavar="CARD", help="the card file")
    p.add_argument(
        "--host",
        type=host,
        default=DEFAULT_HOST,
        help=f"vpcd's address, on this machine (default {DEFAULT_HOST})",
    )
    p.add_argument(
        "--port",
        type=vpcd_port,
        default=VPCD_PORT,
        help=f"vpcd's port: {VPCD_PORT} reader 0, {VPCD_PORT + 1} reader 1 (default {VPCD_PORT})",
    )
    p.add_argument(
        "--interface",
        choices=("auto", "contact", "contactless"),
        default="auto",
        help="auto (default): SELECT PSE/PPSE decides",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up when vpcd cannot be reached for this long (default: keep trying)",
    )


def vpcd_port(text: str) -> int:
    """A TCP port to connect to: :func:`~zhifu.cli.checks.port` without 0 (any free port)."""
    try:
        number = port(text)
    except argparse.ArgumentTypeError:
        number = 0
    if number == 0:
        raise argparse.ArgumentTypeError(f"a TCP port is 1 to 65535, not {text!r}")
    return number


class _TerminatedError(Exception):
    """SIGTERM arrived."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _TerminatedError


@contextmanager
def _progress_on_stderr() -> Iterator[None]:
    """Show the server's info lines (connections) on stderr while serving."""
    logger = logging.getLogger("zhifu.card.readers.vpcd")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("zhifu: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _serve_vpcd(args: argparse.Namespace) -> Outcome:
    check_free(args.host, 0, "--host")  # an address of this machine (any free port will do)
    if args.wait is not None and args.wait < 0:
        raise UsageError("must not be negative", argument="wait")
    card = EmulatedCard(read_card(args.card), args.card, interface=args.interface)
    server = VpcdCardServer(card, args.host, args.port, reconnect=True, connect_timeout=args.wait)
    print(
        f"zhifu: serving {args.card} to vpcd at {args.host}:{args.port} (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_stop) if main else None
    try:
        with _progress_on_stderr():
            server.serve_forever()
    except (KeyboardInterrupt, _TerminatedError):
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        server.stop()
    data = {"card": args.card, "host": args.host, "port": args.port, "apdus": server.apdus}
    return Outcome(data, f"stopped after {server.apdus} APDUs")
