"""``zhifu barcode key``: the keys that sign requests to the platform, and the platform's own.

- ``generate --principal merchant:M --key-id K --out FILE [--algorithm SM2-SM3|RSA-SHA256]``
  makes a key pair, writes the private key (PEM, mode 0600, never over an existing file) and
  registers the public key; the private key is never printed;
- ``add --principal P --key-id K --public-key FILE.pem`` registers an existing public key;
- ``list`` shows key id, principal, algorithm and the SHA-256 fingerprint of each public key;
- ``platform`` prints the public keys that sign notifications (PEM), for merchants to verify.

A principal is ``merchant:<id>`` (an enrolled merchant) or ``institution:<id>`` (zhifu,
huanyu, qingniao: a wallet's institution calling the wallet API). A key of an institution may be
the first thing a platform holds (the platform is then created, and the output says so); a
merchant's key needs the platform the merchant was added to.

>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["key", "generate", "--principal", "merchant:M1",
...     "--key-id", "M1-k1", "--out", "m1.pem"])
>>> args.algorithm
'SM2-SM3'
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from zhifu.cli.barcode.support import (
    barcode_leaf,
    check_ident,
    check_institution,
    created_lines,
    fingerprint,
    new_platform,
    platform,
    refuse_existing,
    table,
    write_new,
)
from zhifu.cli.common import Outcome, SubParsers
from zhifu.core.errors import UsageError

if TYPE_CHECKING:
    from zhifu.barcode.api.signing import PublicKey
    from zhifu.barcode.platform.system import BarcodeSystem

_KEY_ID: Final = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")  # as zhifu.barcode.api.signing
MIN_RSA_BITS: Final = 2048


def register(cmds: SubParsers) -> None:
    """Add ``key`` and its sub-commands."""
    text = "request-signing keys of merchants and institutions; the platform's keys"
    group = cmds.add_parser("key", help=text, description=text)
    group.set_defaults(help_parser=group)
    sub = group.add_subparsers(title="key commands", metavar="COMMAND")
    p = barcode_leaf(sub, "generate", _generate, "make a key pair: private key to a file")
    _key_args(p)
    p.add_argument("--out", required=True, metavar="FILE", help="new file for the private key")
    p.add_argument(
        "--algorithm",
        choices=("SM2-SM3", "RSA-SHA256"),
        default="SM2-SM3",
        help="SM2-SM3 (default) or RSA-SHA256 (RSA 2048)",
    )
    p = barcode_leaf(sub, "add", _add, "register an existing public key (PEM)")
    _key_args(p)
    p.add_argument(
        "--public-key", required=True, metavar="FILE.pem", help="SM2 or RSA public key (PEM)"
    )
    p = barcode_leaf(sub, "list", _list, "list the registered keys (ids and fingerprints)")
    p.add_argument("--principal", help="only this principal's keys")
    barcode_leaf(sub, "platform", _platform, "the public keys that sign notifications (PEM)")


def _key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--principal",
        required=True,
        help="who the key speaks for: merchant:<id> or institution:<id>",
    )
    p.add_argument("--key-id", required=True, help="the key id (1-64 of A-Z a-z 0-9 _ . : -)")


def _check_key_id(value: str) -> str:
    if not _KEY_ID.fullmatch(value):
        raise UsageError("1-64 of A-Z a-z 0-9 _ . : -", argument="--key-id")
    return value


def _principal_form(value: str) -> str:
    """``merchant:<id>`` or ``institution:<id>``, checked before anything is opened."""
    kind, _, who = value.partition(":")
    if kind == "merchant":
        check_ident(who, "--principal")
    elif kind == "institution":
        check_institution(who, "--principal")
    else:
        raise UsageError("merchant:<id> or institution:<id>", argument="--principal")
    return value


def _principal(system: BarcodeSystem, value: str) -> str:
    kind, _, who = _principal_form(value).partition(":")
    if kind == "merchant" and system.directory.merchant(who) is None:
        raise UsageError(
            f"unknown merchant {who} (add it with `merchant add`)", argument="--principal"
        )
    return value


def _refuse_taken(system: BarcodeSystem, key_id: str) -> None:
    found = system.directory.key(key_id)
    if found is not None:
        raise UsageError(
            f"key id {key_id} is already registered (for {found.principal}); choose another",
            argument="--key-id",
        )


def _key_dict(key_id: str, principal: str, algorithm: str, public: PublicKey) -> dict[str, Any]:
    return {
        "key_id": key_id,
        "principal": principal,
        "algorithm": algorithm,
        "fingerprint": fingerprint(public),
    }


def _generate(args: argparse.Namespace) -> Outcome:
    from zhifu.crypto import rsa, sm2  # noqa: PLC0415 - late: the CLI starts fast

    key_id = _check_key_id(args.key_id)
    out = Path(args.out)
    refuse_existing(out, "--out")
    created = _new_platform(args)
    with platform(args, create=created is not None) as system:
        principal = _principal(system, args.principal)
        _refuse_taken(system, key_id)
        public: PublicKey
        if args.algorithm == "SM2-SM3":
            private_sm2 = sm2.generate_keypair()[0]
            pem, public = sm2.private_key_to_pem(private_sm2), private_sm2.public_key
        else:
            private_rsa = rsa.generate_rsa_key(MIN_RSA_BITS)
            pem, public = rsa.private_key_to_pem(private_rsa), private_rsa.public_key
        write_new(out, pem.encode("ascii"), "--out")
        try:
            key = system.add_key(principal, key_id, public)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    data = {
        **_key_dict(key_id, principal, key.algorithm, public),
        "private_key_file": str(out),
        "platform_created": created is not None,
    }
    lines = [
        f"key {key_id} ({key.algorithm}) registered for {principal}",
        f"private key written to {out} (mode 0600; keep it secret, it is not stored here)",
        f"fingerprint SHA256:{data['fingerprint']}",
        *created_lines(created),
    ]
    return Outcome(data, lines)


def _new_platform(args: argparse.Namespace) -> str | None:
    """Where a key command creates the platform: only for an institution's key (a merchant's
    key needs the platform the merchant is on)."""
    institution = _principal_form(args.principal).startswith("institution:")
    return new_platform(args) if institution else None


def _read_public(path: str) -> PublicKey:
    from zhifu.barcode.api.signing import load_public_key  # noqa: PLC0415
    from zhifu.core.errors import DecodeError  # noqa: PLC0415
    from zhifu.crypto import rsa  # noqa: PLC0415

    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", argument="--public-key") from None
    if b"PRIVATE KEY" in pem:
        raise UsageError(
            "this file holds a private key: give the public key only "
            "(openssl pkey -in key.pem -pubout)",
            argument="--public-key",
        )
    try:
        _, public = load_public_key(pem)
    except DecodeError:
        raise UsageError("not an SM2 or RSA public key in PEM", argument="--public-key") from None
    if isinstance(public, rsa.RsaPublicKey) and public.size * 8 < MIN_RSA_BITS:
        raise UsageError(f"RSA keys have at least {MIN_RSA_BITS} bits", argument="--public-key")
    return public


def _add(args: argparse.Namespace) -> Outcome:
    key_id = _check_key_id(args.key_id)
    public = _read_public(args.public_key)
    created = _new_platform(args)
    with platform(args, create=created is not None) as system:
        principal = _principal(system, args.principal)
        _refuse_taken(system, key_id)
        key = system.add_key(principal, key_id, public)
    data = {
        **_key_dict(key_id, principal, key.algorithm, public),
        "platform_created": created is not None,
    }
    lines = [
        f"key {key_id} ({key.algorithm}) registered for {principal}",
        f"fingerprint SHA256:{data['fingerprint']}",
        *created_lines(created),
    ]
    return Outcome(data, lines)


def _list(args: argparse.Namespace) -> Outcome:
    from zhifu.barcode.api.signing import load_public_key  # noqa: PLC0415

    with platform(args) as system:
        rows = system.db.all(
            "SELECT key_id, principal, algorithm, public_key FROM api_keys "
            "ORDER BY principal, key_id"
        )
    keys = [
        _key_dict(key_id, principal, algorithm, load_public_key(pem)[1])
        for key_id, principal, algorithm, pem in rows
        if args.principal is None or principal == args.principal
    ]
    if not keys:
        return Outcome({"keys": []}, "no keys registered (see `key generate` and `key add`)")
    shown = [{**k, "fingerprint": "SHA256:" + k["fingerprint"][:16]} for k in keys]
    return Outcome(
        {"keys": keys}, table(shown, ["key_id", "principal", "algorithm", "fingerprint"])
    )


def _platform(args: argparse.Namespace) -> Outcome:
    from zhifu.barcode.api.signing import public_key_pem  # noqa: PLC0415

    with platform(args) as system:
        found = system.platform_keys()
    keys = [
        {
            **_key_dict(k.key_id, k.principal, k.algorithm, k.public_key),
            "public_key_pem": public_key_pem(k.public_key),
        }
        for k in found
    ]
    lines: list[str] = []
    for k in keys:
        lines.append(f"# {k['key_id']}  {k['principal']}  {k['algorithm']}")
        lines.append(k["public_key_pem"].rstrip())
    return Outcome({"keys": keys}, lines)
