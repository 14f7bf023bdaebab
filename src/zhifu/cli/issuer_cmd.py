"""``zhifu issuer``: issue cards, look at balances, change a card's status, list the keys, and
serve the issuer to acquirers over TCP (``zhifu issuer run``).

The issuer shares the data directory with the acquirer (``ZHIFU_HOME``, default ``var/``): the
key store (its keys carry ``issuer/`` labels), the ledger (``ZHIFU_LEDGER_URL`` or
``var/ledger.db``) and ``var/issuer/issuer.db``.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["issuer", "card", "issue", "--product", "debit",
...                           "--balance", "1000.00", "--pin", "1234", "--out", "c.json"])
>>> args.balance
100000
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from zhifu.acquirer.config import AcquirerConfig, open_key_store
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.cli.audit_cmd import open_trail
from zhifu.cli.barcode.support import parse_yuan, yuan
from zhifu.cli.checks import host, port
from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import DecodeError, UsageError
from zhifu.issuer import Issuer
from zhifu.issuer.home import ledger_url
from zhifu.issuer.products import PRODUCTS
from zhifu.ledger import Ledger
from zhifu.security.hsm.soft import SoftHsm

__all__ = ["register"]


STATUS_COMMANDS = {"block": "blocked", "lost": "lost", "stolen": "stolen", "unblock": "active"}


def _balance(text: str) -> int:
    return parse_yuan(text, "--balance", minimum=0)


def register(sub: SubParsers) -> None:
    """Add ``issuer`` and its sub-commands."""
    text = "the card issuer: issue cards, balances, card status, keys"
    group = sub.add_parser("issuer", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="issuer commands", metavar="COMMAND")

    card = cmds.add_parser(
        "card",
        help="issue a card or change its status",
        description="issue a card or change its status",
    )
    card.set_defaults(help_parser=card)
    card_cmds = card.add_subparsers(title="card commands", metavar="COMMAND")
    p = leaf(card_cmds, "issue", _issue, "issue a card: a chip file, its account, its PIN's PVV")
    p.add_argument("--product", required=True, choices=sorted(PRODUCTS), help="card product")
    p.add_argument(
        "--balance",
        type=_balance,
        required=True,
        metavar="YUAN",
        help="opening deposit (debit) or credit limit (credit), e.g. 1000.00",
    )
    p.add_argument("--pin", required=True, metavar="PIN", help="the cardholder's PIN (4-12 digits)")
    p.add_argument("--out", required=True, metavar="CARD", help="the card file to write")
    p.add_argument("--profile", metavar="P", help="card profile (default: the product's)")
    for command, status in STATUS_COMMANDS.items():
        p = leaf(card_cmds, command, _status, f"mark the card {status}")
        p.add_argument("--card", required=True, metavar="CARD", help="the card file")
        p.set_defaults(status=status)

    p = leaf(cmds, "balance", _show_balance, "a card's available and ledger balances")
    p.add_argument("--card", required=True, metavar="CARD", help="the card file")
    leaf(cmds, "keys", _keys, "the issuer's keys: labels and check values (never a key)")
    leaf(cmds, "rotate-data-keys", _rotate, "new data keys; every card's sealed PAN and expiry "
         "moved under them")  # fmt: skip
    p = leaf(cmds, "run", _serve, "serve the issuer to acquirers over TCP (POS dialect)")
    p.add_argument("--host", type=host, default="127.0.0.1", help="address (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=5900, help="port (default 5900)")
    text = ("TLS 1.3 with zhifu pki init's certificates; acquirers must present a client "
            "certificate of that CA (mutual TLS)")  # fmt: skip
    p.add_argument("--tls", metavar="DIR", help=text)


@contextmanager
def _issuer() -> Iterator[Issuer]:
    config = AcquirerConfig.local()
    store = open_key_store(config)
    ledger = Ledger.open(ledger_url(config.home))
    issuer = Issuer.open(SoftHsm(store), ledger, config.home)
    try:
        yield issuer
    finally:
        issuer.close()
        ledger.close()
        store.close()


def _pan_of(card: str) -> str:
    try:
        image = EmulatedCard.load(card).image
    except OSError as exc:
        raise UsageError(f"cannot read the card file ({exc.strerror})", argument="--card") from None
    except DecodeError:
        raise UsageError("not a card file", argument="--card") from None
    pan = image.applications[0].internal(0x5A)
    if pan is None:
        raise UsageError("the card file has no PAN", argument="--card")
    return pan.hex().upper().rstrip("F")


def _issue(args: argparse.Namespace) -> Outcome:
    out = Path(args.out)
    if out.exists():
        raise UsageError(f"{out} exists: choose another file", argument="--out")
    if not args.pin.isdigit() or not 4 <= len(args.pin) <= 12:
        raise UsageError("a PIN is 4 to 12 digits", argument="--pin")
    with _issuer() as issuer:
        card = issuer.issue_card(args.product, args.balance, args.pin, out, profile=args.profile)
    with open_trail() as trail:
        trail.append("cli", "card.issue", card.masked_pan, "ok", origin="cli",
                     detail=f"{card.product}, opening balance {yuan(args.balance)}")  # fmt: skip
    data = {
        "card": str(card.path),
        "masked_pan": card.masked_pan,
        "product": card.product,
        "account": f"{card.account:032x}",
        "balance": yuan(args.balance),
    }
    return Outcome(data, f"issued {card.product} card {card.masked_pan} to {card.path}")


def _status(args: argparse.Namespace) -> Outcome:
    pan = _pan_of(args.card)
    with _issuer() as issuer:
        issuer.set_status(pan, args.status)
        card = issuer.card(pan)
        masked = card.masked if card is not None else ""
    with open_trail() as trail:
        trail.append("cli", f"card.{args.status}", masked, "ok", origin="cli")
    return Outcome({"masked_pan": masked, "status": args.status}, f"card {masked}: {args.status}")


def _show_balance(args: argparse.Namespace) -> Outcome:
    pan = _pan_of(args.card)
    with _issuer() as issuer:
        card = issuer.card(pan)
        if card is None:
            raise UsageError("this issuer has no such card", argument="--card")
        balances = issuer.balances_of(card)
    data = {
        "available": yuan(balances.available),
        "ledger": yuan(balances.ledger),
        "ecash_pool": yuan(balances.ecash_pool),
        "masked_pan": card.masked,
        "product": card.product,
        "status": card.status,
    }
    return Outcome(
        data, f"card {card.masked}: available {data['available']}, ledger {data['ledger']}"
    )


def _keys(args: argparse.Namespace) -> Outcome:
    with _issuer() as issuer:
        values = issuer.keys.check_values()
    lines = [f"{label:28} {kcv}" for label, kcv in values.items()]
    return Outcome({"keys": values}, lines)


def _rotate(args: argparse.Namespace) -> Outcome:
    with _issuer() as issuer:
        count = issuer.rotate_data_keys()
        version = issuer.protector.version
    with open_trail() as trail:
        trail.append("cli", "issuer.rotate-data-keys", f"data key v{version}", "ok", origin="cli",
                     detail=f"{count} cards resealed")  # fmt: skip
    return Outcome({"cards": count, "data_key_version": version},
                   f"{count} cards resealed under data key v{version}")  # fmt: skip


def _serve(args: argparse.Namespace) -> Outcome:
    import asyncio  # noqa: PLC0415 - only this command runs an event loop

    from zhifu.issuer.remote import serve_issuer  # noqa: PLC0415
    from zhifu.security.pki import server_context  # noqa: PLC0415

    async def main() -> None:
        with _issuer() as issuer:
            tls = server_context(args.tls, client_auth=True) if args.tls else None
            server = await serve_issuer(issuer, args.host, args.port, tls=tls)
            bound = server.sockets[0].getsockname()
            print(f"zhifu issuer listening on {bound[0]}:{bound[1]} (Ctrl-C stops it)",
                  file=sys.stderr, flush=True)  # fmt: skip
            async with server:
                await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return Outcome({"stopped": True}, "issuer stopped")
