"""``zhifu serve``: start the zhifu stack (for now the web app)."""

from __future__ import annotations

import argparse

from zhifu.cli.common import Outcome, SubParsers


def register(sub: SubParsers) -> None:
    """Add ``serve`` to the command tree."""
    text = "start the zhifu stack: the web app (health, OpenAPI) on HOST:PORT"
    parser = sub.add_parser("serve", help=text, description=text)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> Outcome:
    from zhifu.web.server import serve  # noqa: PLC0415 - late: the calculator starts fast

    serve(host=args.host, port=args.port)
    return Outcome({"stopped": True}, "zhifu stopped")
