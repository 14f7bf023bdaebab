"""``zhifu user`` and ``zhifu apikey``: the people and machines that may use the console and
the API (``access.db`` in the data directory; every change is an audit record).

``user add NAME --role ROLE`` reads the password from the terminal (twice) or, with
``--password-stdin``, from the first line of standard input; a privileged role's answer shows the
TOTP secret and its ``otpauth://`` URI once, to enrol an authenticator app. ``apikey create``
shows the key's token once; ``apikey revoke`` stops it at once.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING
from urllib.parse import quote

from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError

if TYPE_CHECKING:
    from zhifu.acquirer.site import Site

ACTOR = "cli"


def register(sub: SubParsers) -> None:
    """Add ``user add|list|unlock`` and ``apikey create|list|revoke``."""
    from zhifu.security.access.permissions import PERMISSIONS, ROLES  # noqa: PLC0415

    text = "console and API users: add, list, unlock"
    group = sub.add_parser("user", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="user commands", metavar="COMMAND")
    p = leaf(cmds, "add", _add, "add a user with a role (privileged roles get a TOTP secret)")
    p.add_argument("name", help="the user's sign-in name")
    p.add_argument("--role", required=True, choices=sorted(ROLES), help="the user's role")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    leaf(cmds, "list", _list, "every user, its role, whether it is locked")
    p = leaf(cmds, "unlock", _unlock, "lift a lockout after 10 failed sign-ins")
    p.add_argument("name", help="the user's sign-in name")

    text = "API keys for machines: create, list, revoke"
    group = sub.add_parser("apikey", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="apikey commands", metavar="COMMAND")
    p = leaf(cmds, "create", _create_key, "a new key with scopes; its token is shown once")
    p.add_argument("--owner", required=True, help="the machine or team the key is for")
    p.add_argument("--scope", action="append", required=True, choices=sorted(PERMISSIONS),
                   help="a permission the key holds (repeat for several)")  # fmt: skip
    leaf(cmds, "list", _list_keys, "every key (never its token)")
    p = leaf(cmds, "revoke", _revoke_key, "revoke a key at once")
    p.add_argument("key_id", help="the key's id (from apikey list)")


def _site() -> AbstractContextManager[Site]:
    from zhifu.acquirer.site import open_site  # noqa: PLC0415
    from zhifu.codec.home import data_home  # noqa: PLC0415

    return open_site(data_home())


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password (12 characters or more): ")
    if getpass.getpass("again: ") != first:
        raise UsageError("the two passwords differ", argument="password")
    return first


def _add(args: argparse.Namespace) -> Outcome:
    password = _password(args)
    with _site() as site:
        secret = site.access.add_user(args.name, args.role, password, actor=ACTOR)
    data: dict[str, object] = {"name": args.name, "role": args.role}
    lines = [f"user {args.name} added with role {args.role}"]
    if secret is not None:
        text = base64.b32encode(secret).decode()
        uri = f"otpauth://totp/{quote('zhifu:' + args.name)}?secret={text}&issuer=zhifu"
        data |= {"totp_secret": text, "totp_uri": uri}
        lines += ["TOTP secret (enrol it now; it is not shown again):", f"  {text}", f"  {uri}"]
    return Outcome(data, lines)


def _list(args: argparse.Namespace) -> Outcome:
    with _site() as site:
        users = site.access.users()
    lines = [f"{u['name']:<20} {u['role']:<11} {'LOCKED' if u['locked'] else ''}" for u in users]
    return Outcome({"users": users}, lines or "no users (zhifu user add NAME --role ROLE)")


def _unlock(args: argparse.Namespace) -> Outcome:
    with _site() as site:
        site.access.unlock(args.name, actor=ACTOR)
    return Outcome({"name": args.name, "unlocked": True}, f"user {args.name} unlocked")


def _create_key(args: argparse.Namespace) -> Outcome:
    with _site() as site:
        key, token = site.access.create_api_key(args.owner, args.scope, actor=ACTOR)
    data = {"key_id": key.key_id, "owner": key.owner, "scopes": list(key.scopes), "token": token}
    lines = [
        f"API key {key.key_id} for {key.owner}: {', '.join(key.scopes)}",
        "token (send as Authorization: Bearer ...; it is not shown again):",
        f"  {token}",
    ]
    return Outcome(data, lines)


def _list_keys(args: argparse.Namespace) -> Outcome:
    with _site() as site:
        keys = site.access.api_keys()
    rows = [{"key_id": k.key_id, "owner": k.owner, "scopes": list(k.scopes), "revoked": k.revoked}
            for k in keys]  # fmt: skip
    lines = [f"{k.key_id} {k.owner:<16} {','.join(k.scopes)}{' REVOKED' if k.revoked else ''}"
             for k in keys]  # fmt: skip
    return Outcome({"api_keys": rows}, lines or "no API keys")


def _revoke_key(args: argparse.Namespace) -> Outcome:
    with _site() as site:
        site.access.revoke_api_key(args.key_id, actor=ACTOR)
    return Outcome({"key_id": args.key_id, "revoked": True}, f"API key {args.key_id} revoked")


def register_keys(sub: SubParsers) -> None:
    """Add ``key ceremony``."""
    text = "keys under dual control"
    group = sub.add_parser("key", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="key commands", metavar="COMMAND")
    text = ("form a key in the data directory's security module from components entered by "
            "different custodians (keys.ceremony permission)")  # fmt: skip
    p = leaf(cmds, "ceremony", _ceremony, text)
    p.add_argument("--label", required=True, help="the new key's label")
    p.add_argument("--usage", default="kek", help="the key's usage (default kek)")
    p.add_argument("--algorithm", default="sm4", help="sm4, aes, 3des (default sm4)")
    p.add_argument("--parts", type=int, default=2, choices=(2, 3), help="components (default 2)")
    p.add_argument("--stdin", action="store_true",
                   help="read one JSON object per custodian from stdin: user, password, totp, "
                   "component, kcv (else asked on the terminal, nothing echoed)")  # fmt: skip


def _entries(args: argparse.Namespace) -> list[dict[str, str]]:
    if args.stdin:
        return [json.loads(line) for line in sys.stdin.read().splitlines()[: args.parts]]
    entries = []
    for n in range(1, args.parts + 1):
        print(f"custodian {n} of {args.parts}", file=sys.stderr)
        entries.append({"user": input("user: "), "password": getpass.getpass("password: "),
                        "totp": getpass.getpass("authenticator code: "),
                        "component": getpass.getpass("component (hex): "),
                        "kcv": input("component check value: ")})  # fmt: skip
    return entries


def _ceremony(args: argparse.Namespace) -> Outcome:
    from zhifu.security.access.ceremony import KeyCeremony  # noqa: PLC0415
    from zhifu.security.hsm.soft import SoftHsm  # noqa: PLC0415
    from zhifu.security.keys import KeyAlgorithm, KeyUsage  # noqa: PLC0415

    try:
        usage, algorithm = KeyUsage(args.usage), KeyAlgorithm(args.algorithm)
    except ValueError:
        raise UsageError("a key usage and a block-cipher algorithm", argument="--usage") from None
    entries = _entries(args)
    with _site() as site:
        ceremony = KeyCeremony(SoftHsm(site.store), site.access, usage=usage,
                               algorithm=algorithm, label=args.label, parts=args.parts)  # fmt: skip
        for entry in entries:
            ceremony.enter(user=entry["user"], password=entry["password"],
                           totp=entry.get("totp", ""), component=entry["component"],
                           kcv=entry["kcv"])  # fmt: skip
        handle = ceremony.form()
        kcv = ceremony.hsm.key_info(handle).kcv
    data = {"label": args.label, "handle": handle.id, "kcv": kcv, "custodians": ceremony.custodians}
    return Outcome(data, f"key {args.label} formed ({handle.id}, kcv {kcv}) by "
                         f"{' and '.join(ceremony.custodians)}")  # fmt: skip
