"""``zhifu barcode``: the barcode platform's back office from the command line.

It enrols, in the folder the web server opens (``--home``, default ``$ZHIFU_HOME/barcode``):

- ``merchant add ID --institution I --name NAME`` and ``merchant list``;
- ``key generate|add|list|platform``: merchants' and institutions' request-signing keys, and
  the platform's notification keys (:mod:`zhifu.cli.barcode.keys`);
- ``wallet open|top-up|balance``: customers' payment accounts;
- ``device enroll`` and ``code``: a phone's provisioning file and the payment codes it shows
  (:mod:`zhifu.cli.barcode.device`);
- ``static-code MERCHANT_ID``: a new static collection code;
- ``demo``: a small demonstration set, idempotent (:mod:`zhifu.cli.barcode.demo`).

Private keys and device secrets go only into files created with mode 0600; they are never
printed. Every command opens the platform without starting it (no recovery, no notifier) and
closes it; a running web server may have the same files open.

>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["barcode", "--home", "h", "merchant", "add", "M1",
...     "--institution", "zhifu", "--name", "Noodles"])
>>> args.home, args.merchant_id, args.kind, args.fee_bp
('h', 'M1', 'merchant', '38')
>>> parser.parse_args(["barcode", "merchant", "list", "--home", "h2"]).home
'h2'
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from zhifu.cli.barcode import demo as barcode_demo
from zhifu.cli.barcode import device as barcode_device
from zhifu.cli.barcode import keys as barcode_keys
from zhifu.cli.barcode.support import (
    barcode_leaf,
    check_ident,
    check_institution,
    created_lines,
    new_platform,
    parse_yuan,
    platform,
    table,
    yuan,
)
from zhifu.cli.common import Outcome, SubParsers
from zhifu.core.errors import UsageError


def register(sub: SubParsers) -> None:
    """Add ``barcode`` and its sub-commands to the command tree."""
    text = (
        "barcode platform back office: enrol merchants, keys, wallets and phones in the "
        "folder the web server uses"
    )
    group = sub.add_parser("barcode", help=text, description=text)
    group.add_argument(
        "--home",
        metavar="DIR",
        help="the platform folder (default: $ZHIFU_HOME/barcode, i.e. var/barcode, "
        "where `zhifu serve` keeps it)",
    )
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="barcode commands", metavar="COMMAND")
    _register_merchant(cmds)
    barcode_keys.register(cmds)
    _register_wallet(cmds)
    barcode_device.register(cmds)
    p = barcode_leaf(cmds, "static-code", _static_code, "issue a new static collection code")
    p.add_argument("merchant_id", metavar="MERCHANT_ID", help="the merchant or personal payee")
    p.add_argument("--png", metavar="OUT", help="also draw the code as a QR image (PNG) here")
    barcode_demo.register(cmds)


def _group(cmds: SubParsers, name: str, text: str) -> SubParsers:
    group = cmds.add_parser(name, help=text, description=text)
    group.set_defaults(help_parser=group)
    return group.add_subparsers(title=f"{name} commands", metavar="COMMAND")


def _register_merchant(cmds: SubParsers) -> None:
    sub = _group(cmds, "merchant", "merchants and personal payees (收款人)")
    p = barcode_leaf(sub, "add", _merchant_add, "sign a merchant up at its acquirer")
    p.add_argument("merchant_id", metavar="ID", help="merchant id (1-32 of A-Z a-z 0-9 _ -)")
    p.add_argument("--institution", required=True, help="acquirer: zhifu, huanyu or qingniao")
    p.add_argument("--name", required=True, help="the merchant's name (shown to payers)")
    p.add_argument(
        "--kind",
        choices=("merchant", "personal"),
        default="merchant",
        help="a merchant (特约商户) or a personal payee (default merchant)",
    )
    p.add_argument("--mcc", default="5812", help="merchant category code, 4 digits (5812)")
    p.add_argument("--fee-bp", default="38", help="fee in basis points, 0-10000 (38 = 0.38%%)")
    p.add_argument("--notify-url", metavar="URL", help="where payment notifications go")
    barcode_leaf(sub, "list", _merchant_list, "list the merchants")


def _register_wallet(cmds: SubParsers) -> None:
    sub = _group(cmds, "wallet", "customers' payment accounts (wallets)")
    p = barcode_leaf(sub, "open", _wallet_open, "open a customer's payment account")
    _wallet_args(p, customer=True)
    p.add_argument(
        "--agreed-limit",
        metavar="YUAN",
        default="20000.00",
        help="daily limit agreed for grade A payments, in yuan (default 20000.00)",
    )
    p = barcode_leaf(sub, "top-up", _wallet_top_up, "credit a wallet (idempotent by reference)")
    _wallet_args(p, customer=False)
    p.add_argument("--amount", required=True, help="amount in yuan, e.g. 100.00")
    p.add_argument("--reference", required=True, help="unique reference of this top-up")
    p = barcode_leaf(sub, "balance", _wallet_balance, "a wallet's balance")
    _wallet_args(p, customer=False)


def _wallet_args(p: argparse.ArgumentParser, *, customer: bool) -> None:
    p.add_argument("--institution", required=True, help="issuer: zhifu, huanyu or qingniao")
    if customer:
        p.add_argument("--customer", required=True, help="customer id")
    p.add_argument("--account", required=True, help="payment account id")


# -- merchants -----------------------------------------------------------------------------------


def _merchant_fields(args: argparse.Namespace) -> dict[str, Any]:
    name = args.name.strip()
    if not name or len(name) > 128:
        raise UsageError("1-128 characters", argument="--name")
    if not re.fullmatch(r"\d{4}", args.mcc):
        raise UsageError("a merchant category code is 4 digits", argument="--mcc")
    if not re.fullmatch(r"\d{1,5}", args.fee_bp) or int(args.fee_bp) > 10_000:
        raise UsageError("0-10000 basis points (38 = 0.38%)", argument="--fee-bp")
    url = args.notify_url
    if url is not None and not re.fullmatch(r"https?://[^\s]{1,500}", url):
        raise UsageError("an http:// or https:// URL", argument="--notify-url")
    return {"name": name, "mcc": args.mcc, "fee_bp": int(args.fee_bp), "notify_url": url}


def _merchant_add(args: argparse.Namespace) -> Outcome:
    merchant_id = check_ident(args.merchant_id, "ID")
    institution = check_institution(args.institution)
    fields = _merchant_fields(args)
    created = new_platform(args)
    with platform(args, create=True) as system:
        if system.directory.merchant(merchant_id) is not None:
            raise UsageError(
                f"merchant {merchant_id} already exists (see `zhifu barcode merchant list`)",
                argument="ID",
            )
        merchant = system.add_merchant(
            merchant_id,
            institution,
            fields["name"],
            kind=args.kind,
            fee_bp=fields["fee_bp"],
            notify_url=fields["notify_url"],
            mcc=fields["mcc"],
        )
    data = {**_merchant_dict(merchant), "platform_created": created is not None}
    lines = [
        f"merchant {merchant_id} added at {institution}: {merchant.name} ({merchant.kind.value}, "
        f"MCC {merchant.mcc}, fee {merchant.fee_bp} bp)",
        *created_lines(created),
        f"next: zhifu barcode key generate --principal merchant:{merchant_id} "
        f"--key-id {merchant_id}-k1 --out {merchant_id}-k1.pem",
    ]
    return Outcome(data, lines)


def _merchant_dict(merchant: Any) -> dict[str, Any]:
    return {
        "merchant_id": merchant.merchant_id,
        "institution": merchant.institution,
        "name": merchant.name,
        "kind": str(merchant.kind),
        "mcc": merchant.mcc,
        "fee_bp": merchant.fee_bp,
        "notify_url": merchant.notify_url,
    }


def _merchant_list(args: argparse.Namespace) -> Outcome:
    columns = ["merchant_id", "institution", "name", "kind", "mcc", "fee_bp", "notify_url"]
    with platform(args) as system:
        rows = system.db.all(
            f"SELECT {', '.join(columns)} FROM merchants ORDER BY merchant_id"  # noqa: S608
        )
    merchants = [dict(zip(columns, row, strict=True)) for row in rows]
    if not merchants:
        return Outcome({"merchants": []}, "no merchants yet (add one with `merchant add`)")
    return Outcome({"merchants": merchants}, table(merchants, columns))


# -- wallets ---------------------------------------------------------------------------------------


def _wallet_open(args: argparse.Namespace) -> Outcome:
    institution = check_institution(args.institution)
    customer = check_ident(args.customer, "--customer")
    account = check_ident(args.account, "--account")
    limit = parse_yuan(args.agreed_limit, "--agreed-limit")
    created = new_platform(args)
    with platform(args, create=True) as system:
        found = system.directory.account(institution, account)
        if found is not None:
            raise UsageError(
                f"account {account} is already open at {institution} "
                f"(customer {found.customer_id})",
                argument="--account",
            )
        ledger_id = system.open_wallet(institution, customer, account, agreed_limit=limit)
    data = {
        "institution": institution,
        "customer_id": customer,
        "account_id": account,
        "agreed_limit": limit,
        "ledger_account": str(ledger_id),
        "platform_created": created is not None,
    }
    lines = [
        f"wallet {account} of customer {customer} opened at {institution} "
        f"(grade A limit {yuan(limit)} yuan a day)",
        *created_lines(created),
        f"next: zhifu barcode wallet top-up --institution {institution} --account {account} "
        "--amount 100.00 --reference TOPUP-1",
    ]
    return Outcome(data, lines)


def _known_account(system: Any, institution: str, account: str) -> Any:
    found = system.directory.account(institution, account)
    if found is None:
        raise UsageError(
            f"no account {account} at {institution} (open it with `wallet open`)",
            argument="--account",
        )
    return found


def _wallet_top_up(args: argparse.Namespace) -> Outcome:
    institution = check_institution(args.institution)
    account = check_ident(args.account, "--account")
    amount = parse_yuan(args.amount, "--amount")
    reference = args.reference
    if not re.fullmatch(r"[A-Za-z0-9_.:\-]{1,64}", reference):
        raise UsageError("1-64 of A-Z a-z 0-9 _ . : -", argument="--reference")
    with platform(args) as system:
        _known_account(system, institution, account)
        result = system.node(institution).top_up(account, amount, reference)
        balance = _balance(system, institution, account)
    if result.name.startswith("EXISTS_WITH_DIFFERENT"):
        raise UsageError(
            f"reference {reference} was used by another top-up; choose a new one",
            argument="--reference",
        )
    if result.name not in ("OK", "EXISTS"):
        raise UsageError(f"the ledger refused the top-up ({result.name})", argument="--amount")
    done = result.name == "OK"
    data = {
        "institution": institution,
        "account_id": account,
        "amount": amount,
        "reference": reference,
        "created": done,
        "balance": balance,
    }
    head = (
        f"topped up {yuan(amount)} yuan"
        if done
        else f"top-up {reference} was already recorded: nothing moved"
    )
    return Outcome(data, f"{head}; balance of {account} at {institution}: {yuan(balance)} yuan")


def _balance(system: Any, institution: str, account: str) -> int:
    from zhifu.barcode.platform.postings import customer_account  # noqa: PLC0415

    balance = system.node(institution).balance(customer_account(institution, account))
    assert isinstance(balance, int)
    return balance


def _wallet_balance(args: argparse.Namespace) -> Outcome:
    institution = check_institution(args.institution)
    account = check_ident(args.account, "--account")
    with platform(args) as system:
        found = _known_account(system, institution, account)
        balance = _balance(system, institution, account)
    data = {
        "institution": institution,
        "account_id": account,
        "customer_id": found.customer_id,
        "balance": balance,
        "agreed_limit": found.agreed_limit,
    }
    return Outcome(data, f"{account} at {institution} ({found.customer_id}): {yuan(balance)} yuan")


# -- static collection codes ---------------------------------------------------------------------


def _static_code(args: argparse.Namespace) -> Outcome:
    merchant_id = check_ident(args.merchant_id, "MERCHANT_ID")
    with platform(args) as system:
        if system.directory.merchant(merchant_id) is None:
            raise UsageError(
                f"unknown merchant {merchant_id} (see `zhifu barcode merchant list`)",
                argument="MERCHANT_ID",
            )
        url = system.issue_static_code(merchant_id)
    lines = [url]
    if args.png:
        barcode_device.save_png(url, Path(args.png))
        lines.append(f"QR image written to {args.png}")
    return Outcome({"merchant_id": merchant_id, "url": url, "png": args.png}, lines)
