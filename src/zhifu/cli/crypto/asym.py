"""``zhifu crypto sm2 ...``: SM2 (GB/T 32918) key generation, signatures and encryption.

>>> from zhifu.cli.main import main
>>> pub = ("0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
...        "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
>>> sig = ("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
...        "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
>>> main(["crypto", "sm2", "verify", "--public-key", pub, "--signature", sig,
...       b"message digest".hex()])                       # GB/T 32918.5 / T11
valid
0
"""

from __future__ import annotations

import argparse

from zhifu.cli.common import Outcome, SubParsers, hexu, leaf, name_arguments, parse_hex
from zhifu.core.errors import DecodeError, UsageError
from zhifu.crypto import sm2

ORDERS = {"c1c3c2": "C1C3C2", "c1c2c3": "C1C2C3"}


def register(cmds: SubParsers) -> None:
    """Add ``sm2`` and its sub-commands."""
    text = "SM2 (GB/T 32918): keygen, sign, verify, encrypt, decrypt"
    group = cmds.add_parser("sm2", help=text, description=text)
    group.set_defaults(help_parser=group)
    verbs = group.add_subparsers(title="sm2 commands", metavar="COMMAND")
    leaf(verbs, "keygen", _keygen, "generate an SM2 key pair (private d, public 04||x||y)")
    p = leaf(verbs, "sign", _sign, "sign a message (ZA with the user id), print r||s in hex")
    p.add_argument("--private-key", required=True, metavar="HEX", help="d, 32 bytes in hex")
    _id_and_message(p)
    p = leaf(verbs, "verify", _verify, "verify a signature: prints valid (exit 0) or invalid (1)")
    p.add_argument("--public-key", required=True, metavar="HEX", help="04||x||y in hex")
    p.add_argument("--signature", required=True, metavar="HEX", help="r||s or DER, in hex")
    _id_and_message(p)
    for verb, key_arg in (("encrypt", "--public-key"), ("decrypt", "--private-key")):
        p = leaf(verbs, verb, _crypt, f"SM2 {verb}ion (C1 with its 04 prefix)")
        p.add_argument(key_arg, required=True, metavar="HEX", help="the key, in hex")
        p.add_argument("--order", choices=sorted(ORDERS), default="c1c3c2", help="ciphertext order")
        p.add_argument("data", metavar="HEX", help="the plaintext or ciphertext, in hex")
        p.set_defaults(verb=verb)
        name_arguments(p, plaintext="HEX", ciphertext="HEX")


def _id_and_message(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--id", default=sm2.DEFAULT_UID.decode(), help="user id for ZA (default 1234567812345678)"
    )
    p.add_argument("message", metavar="MESSAGEHEX", help="the message, in hex")


def _uid(args: argparse.Namespace) -> bytes:
    uid: bytes = args.id.encode("utf-8")
    if len(uid) > sm2.UID_MAX:
        raise UsageError("the user id is at most 8191 bytes", argument="--id")
    return uid


def _private(args: argparse.Namespace) -> sm2.Sm2PrivateKey:
    try:
        return sm2.Sm2PrivateKey(parse_hex("--private-key", args.private_key))
    except (UsageError, DecodeError) as exc:
        raise UsageError(_reason(exc), argument="--private-key") from None


def _public(args: argparse.Namespace) -> sm2.Sm2PublicKey:
    try:
        return sm2.Sm2PublicKey.from_bytes(parse_hex("--public-key", args.public_key))
    except (UsageError, DecodeError) as exc:
        raise UsageError(_reason(exc), argument="--public-key") from None


def _reason(exc: UsageError | DecodeError) -> str:
    return exc.message if isinstance(exc, UsageError) else exc.reason


def _keygen(args: argparse.Namespace) -> Outcome:
    private_key, public_key = sm2.generate_keypair()
    d, p = hexu(private_key.to_bytes()), hexu(public_key.to_bytes())
    return Outcome({"private_key": d, "public_key": p}, [f"private {d}", f"public  {p}"])


def _sign(args: argparse.Namespace) -> Outcome:
    signature = sm2.sign(_private(args), parse_hex("MESSAGEHEX", args.message), _uid(args))
    return Outcome({"signature": hexu(signature)}, hexu(signature))


def _verify(args: argparse.Namespace) -> Outcome:
    signature = parse_hex("--signature", args.signature)
    ok = sm2.verify(_public(args), parse_hex("MESSAGEHEX", args.message), signature, _uid(args))
    return Outcome({"valid": ok}, "valid" if ok else "invalid", 0 if ok else 1)


def _crypt(args: argparse.Namespace) -> Outcome:
    data = parse_hex("HEX", args.data)
    order = ORDERS[args.order]
    if args.verb == "encrypt":
        out = sm2.encrypt(_public(args), data, order)  # type: ignore[arg-type]
    else:
        try:
            out = sm2.decrypt(_private(args), data, order)  # type: ignore[arg-type]
        except DecodeError as exc:  # too short or malformed; a wrong key exits 1
            raise UsageError(exc.reason, argument="HEX") from None
    return Outcome({"result": hexu(out), "order": order}, hexu(out))
