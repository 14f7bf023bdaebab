"""``zhifu barcode demo``: seed a small demonstration set in the platform folder, idempotently.

It makes (or finds, when run again) a merchant ``M100001`` at zhifu with an SM2 key whose
private key is the file ``<home>/M100001-k1.pem``; two wallets, at zhifu and at huanyu, each
topped up with 1000.00 yuan once (the top-up references make a second run move nothing); and a
phone enrolled for the zhifu wallet, provisioned in ``<home>/device-A100001.json``. It prints
what it created or found and the commands to try next. Secrets stay in the two files.

>>> [w.account for w in WALLETS]
['A100001', 'A200001']
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from zhifu.cli.barcode.device import provision, read_device
from zhifu.cli.barcode.support import (
    barcode_leaf,
    created_lines,
    default_home,
    home_of,
    new_platform,
    platform,
    write_new,
    yuan,
)
from zhifu.cli.common import Outcome, SubParsers
from zhifu.core.errors import UsageError

MERCHANT: Final = "M100001"
MERCHANT_NAME: Final = "Demo Noodles 面馆"
KEY_ID: Final = "M100001-k1"
TOP_UP: Final = 100_000  # 1000.00 yuan


@dataclass(frozen=True)
class DemoWallet:
    institution: str
    customer: str
    account: str


WALLETS: Final = (
    DemoWallet("zhifu", "C100001", "A100001"),
    DemoWallet("huanyu", "C200001", "A200001"),
)


def register(cmds: SubParsers) -> None:
    """Add ``demo``."""
    barcode_leaf(
        cmds,
        "demo",
        _demo,
        "seed a demo merchant, key, two wallets and a phone (idempotent); print what to try",
    )


def _demo(args: argparse.Namespace) -> Outcome:
    home = home_of(args).absolute()
    created = new_platform(args)
    with platform(args, create=True) as system:
        items = [_merchant(system), _key(system, home)]
        items += [_wallet(system, wallet) for wallet in WALLETS]
        items.append(_device(system, home))
    commands = _next_commands(home)
    lines = [f"demo set in {home}:", *created_lines(created)]
    lines += [f"  {item['text']}: {item['status']}" for item in items]
    lines.append("next:")
    lines += [f"  {command}" for command in commands]
    data = {
        "home": str(home),
        "platform_created": created is not None,
        "items": [{k: v for k, v in item.items() if k != "text"} for item in items],
        "next": commands,
    }
    return Outcome(data, lines)


def _merchant(system: Any) -> dict[str, Any]:
    found = system.directory.merchant(MERCHANT)
    if found is None:
        found = system.add_merchant(MERCHANT, "zhifu", MERCHANT_NAME)
        status = "created"
    else:
        status = "exists"
    text = f"merchant {MERCHANT} at {found.institution} ({found.name})"
    return {"kind": "merchant", "id": MERCHANT, "status": status, "text": text}


def _key(system: Any, home: Path) -> dict[str, Any]:
    from zhifu.barcode.api.signing import load_private_key  # noqa: PLC0415 - late: fast start
    from zhifu.core.errors import DecodeError  # noqa: PLC0415
    from zhifu.crypto import sm2  # noqa: PLC0415

    path = home / f"{KEY_ID}.pem"
    principal = f"merchant:{MERCHANT}"
    registered = system.directory.key(KEY_ID)
    if path.exists():
        try:
            public = load_private_key(path.read_bytes())[1].public_key
        except DecodeError:
            raise UsageError(f"{path} is not a private key; delete it and rerun") from None
        same = registered is not None and registered.public_key == public
        status = "exists" if same and registered.principal == principal else "registered"
    else:
        private = sm2.generate_keypair()[0]
        write_new(path, sm2.private_key_to_pem(private).encode("ascii"), "--home")
        public, status = private.public_key, "created"
    if status != "exists":
        system.add_key(principal, KEY_ID, public)
    text = f"key {KEY_ID} for {principal}, private key in {path}"
    return {"kind": "key", "id": KEY_ID, "file": str(path), "status": status, "text": text}


def _wallet(system: Any, wallet: DemoWallet) -> dict[str, Any]:
    from zhifu.barcode.platform.postings import customer_account  # noqa: PLC0415

    found = system.directory.account(wallet.institution, wallet.account)
    if found is not None and found.customer_id != wallet.customer:
        raise UsageError(
            f"account {wallet.account} at {wallet.institution} belongs to {found.customer_id}, "
            "not to the demo's customer: use another --home"
        )
    if found is None:
        system.open_wallet(wallet.institution, wallet.customer, wallet.account)
    result = system.node(wallet.institution).top_up(
        wallet.account, TOP_UP, f"DEMO-TOPUP-{wallet.account}"
    )
    if result.name not in ("OK", "EXISTS"):
        raise UsageError(f"the demo top-up was refused ({result.name}): use another --home")
    node = system.node(wallet.institution)
    balance = node.balance(customer_account(wallet.institution, wallet.account))
    text = (
        f"wallet {wallet.account} of {wallet.customer} at {wallet.institution}, "
        f"balance {yuan(balance)} yuan"
    )
    return {
        "kind": "wallet",
        "id": wallet.account,
        "institution": wallet.institution,
        "customer_id": wallet.customer,
        "balance": balance,
        "status": "exists" if found is not None else "created",
        "text": text,
    }


def _device(system: Any, home: Path) -> dict[str, Any]:
    wallet = WALLETS[0]
    path = home / f"device-{wallet.account}.json"
    if path.exists():
        try:
            device = read_device(path.read_bytes().decode("utf-8", "replace"))
        except UsageError as exc:
            raise UsageError(f"{path}: {exc.message}; delete it and rerun") from None
        if system.directory.device(device["institution"], device["handle"]) is None:
            raise UsageError(f"{path} names a device this platform does not know: delete it")
        handle, status = device["handle"], "exists"
    else:
        handle = provision(system, path, wallet.institution, wallet.customer, wallet.account, "C")
        status = "created"
    text = (
        f"phone {handle} for {wallet.customer}/{wallet.account} at {wallet.institution}, "
        f"provisioned in {path}"
    )
    return {"kind": "device", "id": handle, "file": str(path), "status": status, "text": text}


def _next_commands(home: Path) -> list[str]:
    h = shlex.quote(str(home))
    key = shlex.quote(str(home / f"{KEY_ID}.pem"))
    device = shlex.quote(str(home / f"device-{WALLETS[0].account}.json"))
    if home == default_home().absolute():
        serve = "make run    # the web server opens this folder"
    elif home.name == "barcode":
        serve = f"ZHIFU_HOME={shlex.quote(str(home.parent))} make run"
    else:
        serve = "make run    # serves $ZHIFU_HOME/barcode: use a --home ending in /barcode"
    return [
        serve,
        f"zhifu barcode code --device {device} --png code.png",
        f"zhifu box --url http://127.0.0.1:8000 --merchant-id {MERCHANT} --key-id {KEY_ID} "
        f"--key {key} --image code.png --amount 12.34",
        f"zhifu barcode --home {h} wallet balance --institution zhifu --account A100001",
        f"zhifu barcode --home {h} static-code {MERCHANT} --png static.png",
    ]
