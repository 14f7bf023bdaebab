"""``zhifu pki init``: a local CA, a server certificate and client certificates for TLS 1.3 on
one machine's ports (``zhifu acquirer run --tls DIR``, ``zhifu terminal ... --tls DIR``)."""

from __future__ import annotations

import argparse

from zhifu.cli.common import Outcome, SubParsers, leaf


def register(sub: SubParsers) -> None:
    """Add ``pki init``."""
    text = "a local PKI for TLS 1.3 on this machine's ports"
    group = sub.add_parser("pki", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="pki commands", metavar="COMMAND")
    p = leaf(cmds, "init", _init, "make the CA, the server certificate and client certificates")
    p.add_argument("--folder", default="var/pki", help="where (default var/pki; must be new)")
    p.add_argument("--key-type", default="ec", choices=("ec", "rsa"),
                   help="ECDSA P-256 (default) or RSA-2048 keys")  # fmt: skip
    p.add_argument("--client", action="append", default=[], metavar="NAME",
                   help="a client certificate (repeat), for mutual TLS")  # fmt: skip


def _init(args: argparse.Namespace) -> Outcome:
    from zhifu.security.pki import init_local_pki  # noqa: PLC0415 - fast start

    written = init_local_pki(args.folder, clients=args.client, key_type=args.key_type)
    names = [str(p) for p in written]
    return Outcome({"files": names}, [f"wrote {n}" for n in names])
