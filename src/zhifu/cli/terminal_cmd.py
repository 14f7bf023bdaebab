"""``zhifu terminal``: a software POS terminal over a state folder (``docs/terminal.md``).

Every transaction command exits 0 when the host answered (approved or not), 1 when the
transaction could not complete (the output says whether a reversal is pending), 2 on bad
arguments. ``--json`` output keeps the keys ``response_code``, ``approved``, ``stan``, ``batch``,
``rrn``, ``auth_code``, ``amount``, ``masked_pan``, ``reversed``.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["terminal", "purchase", "--state", "T", "--card", "C",
...                           "--pin", "1234", "--amount", "12.34"])
>>> args.amount
1234
"""

from __future__ import annotations

import argparse
from typing import Any

from zhifu.cli import terminal_download, terminal_shell
from zhifu.cli.barcode.support import parse_yuan
from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError
from zhifu.terminal import Terminal, TransactionResult
from zhifu.terminal.chip import Candidate, Chooser
from zhifu.terminal.link import NoAnswerError
from zhifu.terminal.state import TerminalState

__all__ = ["register"]

CARD_COMMANDS = {
    "purchase": ("purchase", "a purchase (chip + online PIN; --swipe: magstripe)", True),
    "balance": ("balance", "a balance inquiry", False),
    "preauth": ("preauth", "a pre-authorisation (a hold on the card's funds)", True),
    "ecash-load": ("ecash-load", "an e-cash load from the card's account (designated)", True),
    "void": ("void", "void a purchase of this batch (--original STAN)", False),
    "refund": ("refund", "refund (part of) a purchase (--original STAN --amount A)", False),
    "complete": ("complete", "complete a pre-authorisation (--original STAN [--amount A])", False),
    "preauth-void": ("preauth-void", "void a pre-authorisation (--original STAN)", False),
    "complete-void": ("complete-void", "void a completion (--original STAN)", False),
}


def _amount(text: str) -> int:
    return parse_yuan(text, "--amount")


def _state(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", required=True, metavar="TERM", help="the terminal's state folder")
    p.add_argument("--tls", metavar="DIR", help="TLS 1.3 to the host (zhifu pki init's folder)")
    p.add_argument("--tls-client", metavar="NAME", help="with --tls: present client-NAME's cert")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the host's answer (default 10)",
    )


def register(sub: SubParsers) -> None:
    """Add ``terminal`` and its sub-commands."""
    text = "a software POS terminal: sign on, card transactions, reversal, settlement"
    group = sub.add_parser("terminal", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="terminal commands", metavar="COMMAND")

    p = leaf(cmds, "init", _init, "create a terminal's state folder and form its TMK")
    _state(p)
    p.add_argument("--merchant", required=True, metavar="MID", help="merchant id (15 chars)")
    p.add_argument("--terminal", required=True, metavar="TID", help="terminal id (8 chars)")
    p.add_argument(
        "--tmk-component",
        action="append",
        required=True,
        metavar="HEX",
        help="a TMK component as printed by register-terminal (give each)",
    )
    p.add_argument(
        "--tmk-kcv",
        action="append",
        default=[],
        metavar="KCV",
        help="each component's printed check value, in the same order (checked before use)",
    )
    p.add_argument("--tmk-check", metavar="KCV", help="the whole TMK's printed check value")
    p.add_argument("--algorithm", default="3des", choices=("3des", "sm4"), help="TMK algorithm")
    p.add_argument("--host", default="", metavar="HOST:PORT", help="the acquirer host")

    for name, handler, help_text in (
        ("signon", _signon, "sign on: new working keys and batch from the host"),
        ("echo", _echo, "echo test (0820)"),
    ):
        p = leaf(cmds, name, handler, help_text)
        _state(p)
        p.add_argument("--host", metavar="HOST:PORT", help="the acquirer host (saved)")

    for name, (kind, help_text, amount_required) in CARD_COMMANDS.items():
        p = leaf(cmds, name, _card_command, help_text)
        _state(p)
        p.add_argument("--card", required=True, metavar="CARD", help="the card file")
        p.add_argument("--pin", metavar="PIN", help="the cardholder's PIN (online PIN)")
        p.add_argument(
            "--amount",
            type=_amount,
            required=amount_required,
            default=0,
            metavar="YUAN",
            help="amount in yuan, e.g. 12.34",
        )
        p.add_argument("--original", metavar="STAN", help="the original transaction's STAN")
        p.add_argument(
            "--aid", metavar="HEX",
            help="the application to use when the card lists several (as the cardholder would)",
        )  # fmt: skip
        how = p.add_mutually_exclusive_group()
        how.add_argument("--swipe", action="store_true", help="read the magnetic stripe")
        how.add_argument(
            "--tap", action="store_true", help="tap: the contactless interface (qPBOC purchase)"
        )
        p.add_argument(
            "--receipt", metavar="DIR",
            help="write the slips of an approval there (merchant and cardholder, .txt and .png)",
        )  # fmt: skip
        how.add_argument(
            "--fallback", action="store_true",
            help="swipe a chip card whose chip failed (fallback, 22 = 80x)",
        )  # fmt: skip
        p.set_defaults(kind=kind)

    p = leaf(cmds, "settle", _settle, "settle the batch (0500 with the totals)")
    _state(p)
    p = leaf(cmds, "reverse", _reverse, "send the pending reversal")
    _state(p)
    p = leaf(cmds, "upload", _upload, "upload the offline approvals (TC) kept since the last")
    _state(p)
    terminal_download.register(cmds)
    terminal_shell.register(cmds, _state)


def _open(args: argparse.Namespace) -> Terminal:
    if args.timeout <= 0:
        raise UsageError("must be positive", argument="--timeout")
    terminal = Terminal(args.state, timeout=args.timeout)
    if getattr(args, "tls", None):
        from zhifu.security.pki import client_context  # noqa: PLC0415

        terminal.tls = client_context(args.tls, args.tls_client)
    return terminal


def _init(args: argparse.Namespace) -> Outcome:
    terminal = Terminal.init(
        args.state,
        args.merchant,
        args.terminal,
        args.tmk_component,
        kcvs=args.tmk_kcv,
        tmk_kcv=args.tmk_check,
        algorithm=args.algorithm,
        host=args.host,
    )
    terminal.close()
    data = {"state": str(args.state), "terminal_id": args.terminal, "merchant_id": args.merchant}
    return Outcome(data, f"terminal {args.terminal} ready in {args.state}: sign on next")


def _signon(args: argparse.Namespace) -> Outcome:
    terminal = _open(args)
    try:
        response = terminal.sign_on(args.host)
    except NoAnswerError as exc:
        return Outcome({"answered": False, "message": str(exc)}, f"no sign-on: {exc}", 1)
    finally:
        terminal.close()
    code = response.get("39") or ""
    data = {"response_code": code, "approved": code == "00", "batch": terminal.state.batch}
    return Outcome(data, f"sign-on answered {code}; batch {terminal.state.batch}")


def _echo(args: argparse.Namespace) -> Outcome:
    terminal = _open(args)
    try:
        response = terminal.echo(args.host)
    except NoAnswerError as exc:
        return Outcome({"answered": False, "message": str(exc)}, f"no echo: {exc}", 1)
    finally:
        terminal.close()
    code = response.get("39") or ""
    return Outcome({"response_code": code}, f"echo answered {code}")


def _text(result: TransactionResult) -> list[str]:
    if not result.answered:
        pending = "a reversal is pending" if result.reversal_pending else "no reversal is pending"
        return [f"{result.kind}: not completed ({result.message}); {pending}"]
    word = "approved" if result.approved else "declined"
    lines = [
        f"{result.kind} {word}: {result.response_code} {result.message}",
        f"  card {result.masked_pan}  amount {result.as_json()['amount']}  stan {result.stan}"
        f"  batch {result.batch}  rrn {result.rrn}  auth {result.auth_code or '-'}",
    ]
    if result.balance is not None:
        lines.append(f"  balance {result.as_json()['balance']}")
    if result.reversed:
        lines.append("  the terminal reversed it")
    return lines


def _chooser(aid: str) -> Chooser:
    wanted = aid.upper()

    def choose(candidates: list[Candidate]) -> int:
        for index, candidate in enumerate(candidates):
            if candidate.aid.hex().upper() == wanted:
                return index
        listed = ", ".join(c.aid.hex().upper() for c in candidates)
        raise UsageError(f"the card lists {listed}, not {wanted}", argument="--aid")

    return choose


def _card_command(args: argparse.Namespace) -> Outcome:
    terminal = _open(args)
    if args.aid:
        terminal.choose_application = _chooser(args.aid)
    try:
        result = terminal.transact(
            args.kind,
            args.card,
            pin=args.pin,
            amount=args.amount,
            original=args.original,
            swipe=args.swipe,
            tap=args.tap,
            fallback=args.fallback,
        )
    finally:
        terminal.close()
    data: dict[str, Any] = result.as_json()
    if args.receipt and result.approved:
        data["receipts"] = _write_receipts(result, args)
    return Outcome(data, _text(result), 0 if result.answered else 1)


def _write_receipts(result: TransactionResult, args: argparse.Namespace) -> list[str]:
    from zhifu.terminal.receipt import write_slips  # noqa: PLC0415 - fast start

    state = TerminalState.load(args.state)
    written = write_slips(result, state.merchant_id, state.terminal_id, args.receipt)
    return [str(path) for path in written]


def _settle(args: argparse.Namespace) -> Outcome:
    terminal = _open(args)
    try:
        data = terminal.settle()
    except NoAnswerError as exc:
        return Outcome({"answered": False, "message": str(exc)}, f"no settlement: {exc}", 1)
    finally:
        terminal.close()
    word = "balanced" if data["balanced"] else "not balanced (batch uploaded)"
    return Outcome(data, f"settlement answered {data['response_code']}: {word}")


def _upload(args: argparse.Namespace) -> Outcome:
    terminal = _open(args)
    try:
        sent, kept = terminal.upload_offline()
    finally:
        terminal.close()
    data = {"uploaded": sent, "kept": kept}
    text = f"{sent} offline approvals uploaded, {kept} still kept"
    return Outcome(data, text, 1 if kept else 0)


def _reverse(args: argparse.Namespace) -> Outcome:
    terminal = _open(args)
    try:
        sent = terminal.send_pending_reversal()
    finally:
        terminal.close()
    if sent is None:
        return Outcome({"pending": False}, "no reversal is pending")
    text = "the reversal was taken" if sent else "the reversal is still pending"
    return Outcome({"pending": not sent}, text, 0 if sent else 1)
