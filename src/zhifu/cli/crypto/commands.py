"""``zhifu crypto``: the payment-crypto calculator (hash, cipher, KCV, MAC, PIN block).

SM2 and EMV live in :mod:`zhifu.cli.crypto.asym` and :mod:`zhifu.cli.crypto.emv`.

>>> from zhifu.cli.main import main
>>> main(["crypto", "hash", "--alg", "sm3", "616263"])
66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0
0
>>> main(["crypto", "kcv", "--alg", "3des", "--key", "0123456789ABCDEFFEDCBA9876543210"])
08D7B4
0
"""

from __future__ import annotations

import argparse

from zhifu.cli.common import Outcome, SubParsers, hexu, leaf, parse_hex
from zhifu.cli.crypto import asym as crypto_asym_cmd
from zhifu.cli.crypto import emv as crypto_emv_cmd
from zhifu.core.errors import UsageError
from zhifu.crypto import cipher as ciphers
from zhifu.crypto import hashes, kcv, mac, pinblock

CIPHERS = ("des", "3des", "aes", "sm4")
MAC_ALGORITHMS = ("x9.9", "x9.19", "iso9797-1-1", "iso9797-1-3", "cup-ecb", "pboc")


def register(sub: SubParsers) -> None:
    """Add ``crypto`` and its sub-commands to the command tree."""
    text = "payment-crypto calculator: hashes, ciphers, KCV, MACs, PIN blocks, SM2, EMV"
    group = sub.add_parser("crypto", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="crypto commands", metavar="COMMAND")
    _register_hash(cmds)
    _register_cipher(cmds)
    _register_kcv(cmds)
    _register_mac(cmds)
    _register_pinblock(cmds)
    crypto_asym_cmd.register(cmds)
    crypto_emv_cmd.register(cmds)


def _register_hash(cmds: SubParsers) -> None:
    p = leaf(cmds, "hash", _hash, "hash hex data with SM3, SHA-1 or SHA-256")
    p.add_argument("--alg", required=True, choices=("sm3", "sha1", "sha256"), help="hash")
    p.add_argument("data", metavar="HEX", help="the data, in hex")


def _hash(args: argparse.Namespace) -> Outcome:
    data = parse_hex("HEX", args.data)
    digest = hexu(hashes.digest(hashes.Hash.parse(args.alg), data))
    return Outcome({"alg": args.alg, "digest": digest}, digest)


def _register_cipher(cmds: SubParsers) -> None:
    for verb in ("encrypt", "decrypt"):
        p = leaf(cmds, verb, _cipher, f"{verb} hex data with DES, 3DES, AES or SM4 (no padding)")
        p.add_argument("--alg", required=True, choices=CIPHERS, help="block cipher")
        p.add_argument("--mode", default="ecb", choices=("ecb", "cbc"), help="mode (default ecb)")
        p.add_argument("--key", required=True, metavar="HEX", help="the key, in hex")
        p.add_argument("--iv", metavar="HEX", help="CBC initial vector (default zeros)")
        p.add_argument("data", metavar="HEX", help="data, a multiple of the block size")
        p.set_defaults(verb=verb)


def _cipher(args: argparse.Namespace) -> Outcome:
    alg = ciphers.Cipher.parse(args.alg)
    key = parse_hex("--key", args.key)
    data = parse_hex("HEX", args.data)
    iv = parse_hex("--iv", args.iv) if args.iv else None
    if iv is not None and args.mode == "ecb":
        raise UsageError("an IV is only used in CBC mode", argument="--iv")
    _check_block(alg, data)
    if args.mode == "ecb":
        fn = ciphers.encrypt_ecb if args.verb == "encrypt" else ciphers.decrypt_ecb
        out = fn(alg, key, data)
    else:
        fnc = ciphers.encrypt_cbc if args.verb == "encrypt" else ciphers.decrypt_cbc
        out = fnc(alg, key, data, iv)
    return Outcome({"alg": args.alg, "mode": args.mode, "result": hexu(out)}, hexu(out))


def _check_block(alg: ciphers.Cipher, data: bytes) -> None:
    if len(data) % alg.block_size:
        raise UsageError(
            f"{alg.value} data must be a multiple of {alg.block_size} bytes, not {len(data)}",
            argument="HEX",
        )


def _register_kcv(cmds: SubParsers) -> None:
    p = leaf(cmds, "kcv", _kcv, "key check value: the key encrypting a zero block, truncated")
    p.add_argument("--alg", required=True, choices=CIPHERS, help="block cipher")
    p.add_argument("--key", required=True, metavar="HEX", help="the key, in hex")
    p.add_argument("--length", type=int, default=3, help="KCV length in bytes (default 3)")


def _kcv(args: argparse.Namespace) -> Outcome:
    value = hexu(kcv.kcv(ciphers.Cipher.parse(args.alg), parse_hex("--key", args.key), args.length))
    return Outcome({"alg": args.alg, "kcv": value}, value)


def _register_mac(cmds: SubParsers) -> None:
    p = leaf(cmds, "mac", _mac, "MAC: ANSI X9.9/X9.19, ISO 9797-1 alg 1/3, UnionPay ECB, PBOC")
    p.add_argument("--alg", required=True, choices=MAC_ALGORITHMS, help="MAC algorithm")
    p.add_argument("--key", required=True, metavar="HEX", help="the MAC key, in hex")
    p.add_argument("--cipher", choices=("des", "3des", "sm4", "aes"), help="block cipher")
    p.add_argument(
        "--padding", type=int, choices=(1, 2), help="ISO 9797-1 padding method (default 1)"
    )
    p.add_argument("data", metavar="HEX", help="the data (MAB), in hex")


def _mac(args: argparse.Namespace) -> Outcome:
    key = parse_hex("--key", args.key)
    data = parse_hex("HEX", args.data)
    padding = mac.Padding.METHOD_2 if args.padding == 2 else mac.Padding.METHOD_1
    alg = args.alg
    if alg in ("x9.19", "iso9797-1-3"):
        if args.cipher not in (None, "3des"):
            raise UsageError(f"{alg} is defined over DES/3DES only", argument="--cipher")
        value = mac.mac_iso9797_1_alg_3(key, data, padding)
    elif alg == "x9.9":
        if args.cipher not in (None, "des"):
            raise UsageError("x9.9 is single-DES CBC-MAC", argument="--cipher")
        value = mac.mac_iso9797_1_alg_1(ciphers.Cipher.DES, key, data, mac.Padding.METHOD_1)
    elif alg == "iso9797-1-1":
        value = mac.mac_iso9797_1_alg_1(_cipher_for(args, key), key, data, padding)
    elif alg == "cup-ecb":
        value = mac.mac_cup_ecb(_cipher_for(args, key), key, data)
    else:
        value = mac.mac_pboc(_cipher_for(args, key), key, data)
    text = value.decode("ascii") if alg == "cup-ecb" else hexu(value)
    data_out = {"alg": alg, "mac": text}
    if alg == "cup-ecb":
        data_out["mac_hex"] = hexu(value)
    return Outcome(data_out, text)


def _cipher_for(args: argparse.Namespace, key: bytes) -> ciphers.Cipher:
    if args.cipher:
        return ciphers.Cipher.parse(args.cipher)
    return ciphers.Cipher.DES if len(key) == 8 else ciphers.Cipher.TDES


def _register_pinblock(cmds: SubParsers) -> None:
    text = "ISO 9564-1 PIN blocks: encode a PIN or decode a block (formats 0, 1, 3, 4)"
    group = cmds.add_parser("pinblock", help=text, description=text)
    group.set_defaults(help_parser=group)
    verbs = group.add_subparsers(title="pinblock commands", metavar="COMMAND")
    for verb in ("encode", "decode"):
        p = leaf(verbs, verb, _pinblock, f"{verb} an ISO 9564-1 PIN block")
        p.add_argument("--format", type=int, required=True, choices=(0, 1, 3, 4), help="format")
        p.add_argument("--pan", help="the PAN (formats 0, 3, 4)")
        p.add_argument("--key", metavar="HEX", help="AES key for format 4 (enciphered)")
        if verb == "encode":
            p.add_argument("--pin", required=True, help="the PIN, 4 to 12 digits")
        else:
            p.add_argument("--block", required=True, metavar="HEX", help="the PIN block")
        p.set_defaults(verb=verb)


def _pinblock(args: argparse.Namespace) -> Outcome:
    fmt = args.format
    if fmt in (0, 3, 4) and not args.pan:
        raise UsageError(f"format {fmt} needs the PAN", argument="--pan")
    if fmt == 4:
        if not args.key:
            raise UsageError("format 4 is an AES-enciphered block: give --key", argument="--key")
        key = parse_hex("--key", args.key)
        if args.verb == "encode":
            block = pinblock.encipher_pinblock_iso_4(key, args.pin, args.pan)
            return Outcome({"format": 4, "block": hexu(block)}, hexu(block))
        pin = pinblock.decipher_pinblock_iso_4(key, parse_hex("--block", args.block), args.pan)
        return Outcome({"format": 4, "pin": pin}, pin)
    if args.key:
        raise UsageError(f"format {fmt} is a clear block; --key is for format 4", argument="--key")
    if args.verb == "encode":
        block = pinblock.encode_pinblock(fmt, args.pin, args.pan)
        return Outcome({"format": fmt, "block": hexu(block)}, hexu(block))
    pin = pinblock.decode_pinblock(fmt, parse_hex("--block", args.block, length=8), args.pan)
    return Outcome({"format": fmt, "pin": pin}, pin)
