"""``zhifu crypto emv ...``: EMV/PBOC card keys, session keys, ARQC and ARPC (3DES and SM4).

>>> from zhifu.cli.main import main
>>> main(["crypto", "emv", "derive-mk", "--imk", "0123456789ABCDEFFEDCBA9876543210",
...       "--pan", "12345678901234567", "--psn", "01"])      # T36
73AD54688CEF2934B0979857E3C719F1 (KCV C64DC2)
0
"""

from __future__ import annotations

import argparse

from zhifu.cli.common import Outcome, SubParsers, hexu, leaf, parse_hex
from zhifu.core.errors import UsageError
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.kcv import kcv


def register(cmds: SubParsers) -> None:
    """Add ``emv`` and its sub-commands."""
    text = "EMV/PBOC: derive-mk, session-key, arqc, arpc (3DES or SM4)"
    group = cmds.add_parser("emv", help=text, description=text)
    group.set_defaults(help_parser=group)
    verbs = group.add_subparsers(title="emv commands", metavar="COMMAND")

    p = leaf(verbs, "derive-mk", _derive_mk, "ICC master key (UDK) from the IMK, option A")
    p.add_argument("--imk", required=True, metavar="HEX", help="issuer master key, 16 bytes")
    p.add_argument("--pan", required=True, help="the PAN")
    p.add_argument("--psn", default="00", help="PAN sequence number, 2 digits (default 00)")
    _cipher(p)

    p = leaf(verbs, "session-key", _session_key, "session key from a card key and the ATC")
    p.add_argument("--mk", required=True, metavar="HEX", help="card key (MK-AC/SMI/SMC)")
    p.add_argument("--atc", metavar="HEX", help="application transaction counter, 2 bytes")
    p.add_argument(
        "--scheme",
        choices=("pboc", "emv-csk"),
        default="pboc",
        help="pboc (ATC-based, default) or emv-csk (EMV common session key)",
    )
    p.add_argument("--r", metavar="HEX", help="emv-csk: the 8-byte R (default ATC||00*6)")
    _cipher(p)

    p = leaf(verbs, "arqc", _arqc, "application cryptogram (ARQC/TC/AAC) over assembled data")
    p.add_argument("--sk", required=True, metavar="HEX", help="the AC session key")
    p.add_argument("--verify", metavar="HEX", help="compare with this cryptogram (exit 1 if not)")
    p.add_argument("data", metavar="HEX", help="the cryptogram input data (CDOL values)")
    _cipher(p)

    p = leaf(verbs, "arpc", _arpc, "ARPC: method 1 (ARQC xor ARC) or method 2 (CSU)")
    p.add_argument("--sk", required=True, metavar="HEX", help="the AC session key")
    p.add_argument("--arqc", required=True, metavar="HEX", help="the ARQC, 8 bytes")
    p.add_argument("--method", type=int, choices=(1, 2), default=1, help="ARPC method")
    p.add_argument("--arc", default="3030", metavar="HEX", help="method 1: ARC (default 3030)")
    p.add_argument("--csu", metavar="HEX", help="method 2: card status update, 4 bytes")
    p.add_argument("--pad", default="", metavar="HEX", help="method 2: proprietary auth data")
    _cipher(p)


def _cipher(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cipher", choices=("3des", "sm4"), default="3des", help="3des or sm4")


def _alg(args: argparse.Namespace) -> Cipher:
    return Cipher.parse(args.cipher)


def _key_out(name: str, key: bytes, cipher: Cipher) -> Outcome:
    check = hexu(kcv(cipher, key, 3))
    return Outcome({name: hexu(key), "kcv": check}, f"{hexu(key)} (KCV {check})")


def _derive_mk(args: argparse.Namespace) -> Outcome:
    cipher = _alg(args)
    mk = emv.derive_icc_mk_a(cipher, parse_hex("--imk", args.imk), args.pan, args.psn)
    return _key_out("mk", mk, cipher)


def _session_key(args: argparse.Namespace) -> Outcome:
    cipher = _alg(args)
    mk = parse_hex("--mk", args.mk)
    atc = parse_hex("--atc", args.atc, length=2) if args.atc else None
    if args.scheme == "pboc":
        if atc is None:
            raise UsageError("the pboc scheme needs the ATC", argument="--atc")
        return _key_out("sk", emv.derive_pboc_session_key(cipher, mk, atc), cipher)
    if cipher is not Cipher.TDES:
        raise UsageError("the EMV common session key is defined for 3DES", argument="--cipher")
    if args.r:
        r = parse_hex("--r", args.r, length=8)
    elif atc is not None:
        r = atc + bytes(6)
    else:
        raise UsageError("emv-csk needs --r or --atc", argument="--r")
    return _key_out("sk", emv.derive_common_session_key(mk, r), cipher)


def _arqc(args: argparse.Namespace) -> Outcome:
    cipher = _alg(args)
    ac = emv.generate_ac(cipher, parse_hex("--sk", args.sk), parse_hex("HEX", args.data))
    if args.verify is None:
        return Outcome({"ac": hexu(ac)}, hexu(ac))
    ok = ac == parse_hex("--verify", args.verify, length=8)
    return Outcome({"ac": hexu(ac), "valid": ok}, "valid" if ok else "invalid", 0 if ok else 1)


def _arpc(args: argparse.Namespace) -> Outcome:
    cipher = _alg(args)
    sk = parse_hex("--sk", args.sk)
    arqc = parse_hex("--arqc", args.arqc, length=8)
    if args.method == 1:
        arpc = emv.generate_arpc_method_1(cipher, sk, arqc, parse_hex("--arc", args.arc, length=2))
    else:
        if not args.csu:
            raise UsageError("method 2 needs the card status update", argument="--csu")
        csu = parse_hex("--csu", args.csu, length=4)
        arpc = emv.generate_arpc_method_2(cipher, sk, arqc, csu, parse_hex("--pad", args.pad))
    return Outcome({"arpc": hexu(arpc), "method": args.method}, hexu(arpc))
