"""``zhifu serve``: start the zhifu stack — the web app and the acquirer host.

The acquirer (ISO 8583 over TCP, default port 5800) runs on its own event loop in a
background thread; the web app (HTTP, default port 8000) owns the main thread. Data (the
acquirer database, the key store and, for a local run, its LMK file) lives in ``var/`` or
``$ZHIFU_HOME``.

Both ports are checked before anything starts: the web port is bound first and handed to the
web server, the acquirer port must be free; a port in use is refused naming ``--port`` or
``--acquirer-port`` and the address.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

from zhifu.cli.checks import (
    bind_error,
    check_folder,
    check_free,
    home_argument,
    host,
    listening_socket,
    port,
)
from zhifu.cli.common import Outcome, SubParsers
from zhifu.cli.settings import load_settings
from zhifu.codec.home import HOME_ENV
from zhifu.core.errors import UsageError


def register(sub: SubParsers) -> None:
    """Add ``serve`` to the command tree."""
    text = (
        "start the zhifu stack: the web app (health, OpenAPI, APIs) on HOST:PORT and the "
        "acquirer host (ISO 8583 over TCP) on HOST:ACQUIRER_PORT"
    )
    parser = sub.add_parser("serve", help=text, description=text)
    parser.add_argument("--host", type=host, help="address to bind (web.host; 127.0.0.1)")
    parser.add_argument("--port", type=port, help="web port (web.port; default 8000)")
    parser.add_argument(
        "--acquirer-port", type=port, help="acquirer TCP port (acquirer.port; default 5800)"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="zhifu.toml (default: $ZHIFU_CONFIG, ./zhifu.toml)"
    )
    parser.add_argument(
        "--no-acquirer", action="store_true", help="start without the acquirer host"
    )
    parser.add_argument("--no-clearing", action="store_true", help="start without the BEPS centres")
    parser.add_argument("--no-demo-world", action="store_true",
                        help="do not seed the demo world (demo.world; docs/demo.md)")  # fmt: skip
    parser.add_argument("--tls", metavar="DIR", help="TLS 1.3 on the web and acquirer ports, "
                        "with the certificates of zhifu pki init")  # fmt: skip
    text = "with --tls: require client certificates of that CA on both ports"
    parser.add_argument("--tls-client-auth", action="store_true", help=text)
    parser.set_defaults(handler=_serve, leaf_parser=parser)


def _settle_args(args: argparse.Namespace) -> dict[str, Any]:
    """The command line over ``zhifu.toml`` and the environment (:mod:`zhifu.cli.settings`);
    the acquirer's other settings."""
    found = load_settings(args.config)
    args.host = args.host or found.value("web.host")
    args.port = args.port if args.port is not None else found.value("web.port")
    if args.acquirer_port is None:
        args.acquirer_port = found.value("acquirer.port")
    args.no_acquirer = args.no_acquirer or not found.value("acquirer.enabled")
    args.no_clearing = args.no_clearing or not found.value("clearing.enabled")
    args.no_demo_world = args.no_demo_world or not found.value("demo.world")
    for key, env in (("data.home", HOME_ENV), ("data.ledger_url", "ZHIFU_LEDGER_URL")):
        if found.source(key).startswith("file") and found.value(key):
            os.environ[env] = str(found.value(key))
    return {
        "max_connections_per_address": found.value("acquirer.max_connections_per_address"),
        "merchant_fee_bp": found.value("acquirer.merchant_fee_bp"),
        "issuer_address": found.value("acquirer.issuer_address"),
        "risk": found.value("acquirer.risk"),
        "risk_webhook": found.value("acquirer.risk_webhook"),
    }


def _serve(args: argparse.Namespace) -> Outcome:
    # imported late: the calculator commands must start fast
    from zhifu.acquirer.config import AcquirerConfig  # noqa: PLC0415

    extra = _settle_args(args)
    if args.tls:
        extra |= {"tls_folder": args.tls, "tls_client_auth": args.tls_client_auth}
    config = AcquirerConfig.local(host=args.host, port=args.acquirer_port, **extra)
    if config.home is not None:
        check_folder(config.home, home_argument())
    if not args.no_acquirer and args.acquirer_port == args.port != 0:
        raise UsageError(
            f"{args.port} is the web port (--port) already: give each its own",
            argument="--acquirer-port",
        )
    web = listening_socket(args.host, args.port, "--port")
    try:
        if not args.no_acquirer:
            check_free(args.host, args.acquirer_port, "--acquirer-port")
        if not args.no_demo_world and config.home is not None:
            _seed_demo_world(Path(config.home))
        _run(args, config, web)
    finally:
        web.close()
    return Outcome({"stopped": True}, "zhifu stopped")


def _run(args: argparse.Namespace, config: Any, web: socket.socket) -> None:
    """Start the acquirer and the BEPS centres, then serve the web app on ``web``."""
    import uvicorn  # noqa: PLC0415

    from zhifu.acquirer.site import open_site_at  # noqa: PLC0415
    from zhifu.web.fastpath import create_asgi  # noqa: PLC0415
    from zhifu.web.server import make_config  # noqa: PLC0415

    acquirer = clearing = site = None
    services: dict[str, Any] = {"home": Path(config.home), "acquirer": None}
    try:
        acquirer = None if args.no_acquirer else _supervised_acquirer(config, services)
        clearing = None if args.no_clearing else _start_clearing(config)
        services["clearing"] = clearing
        centre = None if clearing is None else clearing.centre
        address = None if acquirer is None else (args.host, acquirer.current.port)
        site = open_site_at(config.home)  # users, audit trail, risk alerts, licences
        _first_administrator(site, args, web.getsockname()[1])
        app = create_asgi(clearing=centre, acquirer=address, site=site, services=services)
        web_config = make_config(args.host, args.port, app=app, tls_folder=args.tls or "",
                                 tls_client_auth=args.tls_client_auth)  # fmt: skip
        uvicorn.Server(web_config).run(sockets=[web])
    finally:
        if site is not None:
            site.close()
        if clearing is not None:
            clearing.stop()
        if acquirer is not None:
            acquirer.stop()


def _seed_demo_world(home: Path) -> None:
    """The demo world (:mod:`zhifu.cli.demo.world`), the first time: before the acquirer and
    the BEPS centres start, which read what it writes."""
    from zhifu.cli.demo.world import seed_world  # noqa: PLC0415

    seed_world(home)


def _first_administrator(site: Any, args: argparse.Namespace, port: int) -> None:
    """On a data directory with no user yet: make ``admin`` and print its sign-in, once."""
    import base64  # noqa: PLC0415
    import secrets  # noqa: PLC0415

    if site.access.users():
        return
    password = secrets.token_urlsafe(12)
    secret = site.access.add_user("admin", "admin", password, actor="zhifu serve")
    scheme = "https" if args.tls else "http"
    lines = [
        "zhifu console: the first administrator (shown once; add others with zhifu user add)",
        f"  sign in at {scheme}://{args.host}:{port}/console/sign-in",
        f"  user admin, password {password}",
        f"  TOTP secret {base64.b32encode(secret).decode()} (add it to an authenticator app)",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _supervised_acquirer(config: Any, services: dict[str, Any]) -> Any:
    """The acquirer in its thread, started again on the same port should the thread end on
    its own (:class:`zhifu.core.supervise.Supervised`); ``services["acquirer"]`` follows."""
    import dataclasses  # noqa: PLC0415

    from zhifu.core.supervise import Supervised  # noqa: PLC0415

    first = _start_acquirer(config)
    again = dataclasses.replace(config, port=first.port)  # the port the terminals know
    starts = iter([first])

    def start() -> Any:
        return next(starts, None) or _start_acquirer(again)

    def started(acquirer: Any) -> None:
        services["acquirer"] = acquirer.host

    return Supervised("the acquirer host", start, alive=lambda a: a.running,
                      stop=lambda a: a.stop(), on_start=started)  # fmt: skip


def _start_acquirer(config: Any) -> Any:
    """The acquirer in its thread; a port taken since the check is still named."""
    from zhifu.acquirer.background import start_in_background  # noqa: PLC0415

    try:
        acquirer = start_in_background(config)
    except OSError as exc:
        raise bind_error(exc, config.host, config.port, "--acquirer-port") from None
    print(
        f"zhifu acquirer listening on {config.host}:{acquirer.port} (data in {config.home})",
        file=sys.stderr,
    )
    return acquirer


def _start_clearing(config: Any) -> Any:
    """The BEPS centres with their round scheduler, keys and ledger in the data directory."""
    from zhifu.acquirer.config import ensure_local_lmk  # noqa: PLC0415
    from zhifu.clearing.service import ClearingService  # noqa: PLC0415
    from zhifu.cli.demo.world import centre_clock  # noqa: PLC0415
    from zhifu.core.files import private_folder  # noqa: PLC0415
    from zhifu.security.hsm.soft import SoftHsm  # noqa: PLC0415
    from zhifu.security.store import KeyStore  # noqa: PLC0415

    home = private_folder(Path(config.home) / "clearing")
    store = KeyStore.open(home / "keys.db", environ=ensure_local_lmk(config.home))
    clock = centre_clock(Path(config.home))
    service = ClearingService.create(SoftHsm(store), home=home, clock=clock).start()
    print(f"zhifu BEPS centres: round scheduler running (data in {home})", file=sys.stderr)
    return service
