"""``zhifu serve``: start the zhifu stack — the web app and the acquirer host.

The acquirer (ISO 8583 over TCP, default port 5800) runs on its own event loop in a
background thread; the web app (HTTP, default port 8000) owns the main thread. Data (the
acquirer database, the key store and, for a local run, its LMK file) lives in ``var/`` or
``$ZHIFU_HOME``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from zhifu.cli.common import Outcome, SubParsers


def register(sub: SubParsers) -> None:
    """Add ``serve`` to the command tree."""
    text = (
        "start the zhifu stack: the web app (health, OpenAPI, APIs) on HOST:PORT and the "
        "acquirer host (ISO 8583 over TCP) on HOST:ACQUIRER_PORT"
    )
    parser = sub.add_parser("serve", help=text, description=text)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
    parser.add_argument(
        "--acquirer-port", type=int, default=5800, help="acquirer TCP port (default 5800)"
    )
    parser.add_argument(
        "--no-acquirer", action="store_true", help="start without the acquirer host"
    )
    parser.add_argument("--no-clearing", action="store_true", help="start without the BEPS centres")
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> Outcome:
    # imported late: the calculator commands must start fast
    from zhifu.acquirer.background import start_in_background  # noqa: PLC0415
    from zhifu.acquirer.config import AcquirerConfig  # noqa: PLC0415
    from zhifu.web.fastpath import create_asgi  # noqa: PLC0415
    from zhifu.web.server import serve  # noqa: PLC0415

    config = AcquirerConfig.local(host=args.host, port=args.acquirer_port)
    acquirer = None if args.no_acquirer else start_in_background(config)
    if acquirer is not None:
        print(
            f"zhifu acquirer listening on {args.host}:{acquirer.port} (data in {config.home})",
            file=sys.stderr,
        )
    clearing = None if args.no_clearing else _start_clearing(config)
    try:
        centre = None if clearing is None else clearing.centre
        address = None if acquirer is None else (args.host, acquirer.port)
        serve(host=args.host, port=args.port, app=create_asgi(clearing=centre, acquirer=address))
    finally:
        if clearing is not None:
            clearing.stop()
        if acquirer is not None:
            acquirer.stop()
    return Outcome({"stopped": True}, "zhifu stopped")


def _start_clearing(config: Any) -> Any:
    """The BEPS centres with their round scheduler, keys and ledger in the data directory."""
    from zhifu.acquirer.config import ensure_local_lmk  # noqa: PLC0415
    from zhifu.clearing.service import ClearingService  # noqa: PLC0415
    from zhifu.security.hsm.soft import SoftHsm  # noqa: PLC0415
    from zhifu.security.store import KeyStore  # noqa: PLC0415

    home = Path(config.home) / "clearing"
    home.mkdir(parents=True, exist_ok=True)
    store = KeyStore.open(home / "keys.db", environ=ensure_local_lmk(config.home))
    service = ClearingService.create(SoftHsm(store), home=home).start()
    print(f"zhifu BEPS centres: round scheduler running (data in {home})", file=sys.stderr)
    return service
