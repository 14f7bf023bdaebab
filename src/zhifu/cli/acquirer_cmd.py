"""``zhifu acquirer``: run the acquirer host, register terminals, look at terminals and journal.

Everything lives in the data directory (``ZHIFU_HOME``, default ``var/``): the acquirer
database and the key store; the LMK comes from ``ZHIFU_LMK`` / ``ZHIFU_LMK_FILE`` or, for a
local run, ``var/lmk.key`` (see :mod:`zhifu.acquirer.config`).

``register-terminal`` prints the new terminal master key as two components, each with its
check value, one per custodian (dual control), and the check value of the whole key.

Only ``register-terminal`` (and ``run``) create the database; ``terminals`` and ``journal``
refuse a data directory without one instead of creating an empty one.

>>> import argparse, os, tempfile
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> os.environ["ZHIFU_HOME"] = tempfile.mkdtemp()
>>> args = parser.parse_args(["acquirer", "terminals"])
>>> args.handler(args).lines  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: ZHIFU_HOME: there is no acquirer database at .../acquirer.db ...
>>> del os.environ["ZHIFU_HOME"]
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from zhifu.acquirer.config import DEFAULT_PORT, AcquirerConfig, open_key_store
from zhifu.acquirer.database import Database
from zhifu.acquirer.journal import Journal, JournalEntry
from zhifu.acquirer.registry import TMK_ALGORITHMS, Registration, Registry, register_terminal
from zhifu.cli import acquirer_download, acquirer_incident
from zhifu.cli.audit_cmd import open_trail
from zhifu.cli.checks import (
    bind_error,
    check_folder,
    check_free,
    count,
    existing_sqlite,
    home_argument,
    host,
    port,
    seconds,
)
from zhifu.cli.common import Outcome, SubParsers, leaf, name_arguments
from zhifu.core.errors import UsageError
from zhifu.security.hsm.soft import SoftHsm

CUSTODIANS = "ABC"


def register(sub: SubParsers) -> None:
    """Add ``acquirer`` and its sub-commands to the command tree."""
    text = "the acquirer host: run it, register terminals (TMK under dual control), journal"
    group = sub.add_parser("acquirer", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="acquirer commands", metavar="COMMAND")

    run_text = "serve UnionPay POS ISO 8583 on HOST:PORT until Ctrl-C"
    p = cmds.add_parser("run", help=run_text, description=run_text)
    p.add_argument(
        "--host", type=host, default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    p.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    p.add_argument("--db", metavar="PATH", help="acquirer database (default in ZHIFU_HOME)")
    p.add_argument(
        "--max-per-address",
        type=count,
        metavar="N",
        help="connections one source address may hold (default 32)",
    )
    p.add_argument(
        "--first-frame-timeout",
        type=seconds,
        metavar="SECONDS",
        help="close a connection that sends no frame this long (default 10)",
    )
    p.add_argument(
        "--issuer",
        metavar="HOST:PORT",
        help="ask this issuer host (zhifu issuer run, or your own) instead of the in-process one",
    )
    p.add_argument("--tls", metavar="DIR", help="TLS 1.3 with the certificates of zhifu pki init")
    p.add_argument(
        "--tls-client-auth", action="store_true", help="with --tls: require client certificates"
    )
    p.add_argument("--issuer-tls", action="store_true", help="with --issuer and --tls: TLS 1.3 "
                   "to the issuer host, with the client-acquirer certificate")  # fmt: skip
    p.add_argument("--risk-webhook", metavar="URL", help="POST each risk alert there, signed "
                   "with $ZHIFU_RISK_WEBHOOK_SECRET")  # fmt: skip
    text = "risk rules refuse and block (enforce, the default) or only alert (monitor)"
    p.add_argument("--risk", choices=("enforce", "monitor"), help=text)
    p.add_argument("--risk-rules", metavar="FILE", help="a JSON file of risk rules (default: "
                   "the shipped set, zhifu/security/risk/rules.json)")  # fmt: skip
    p.set_defaults(handler=_run, leaf_parser=p)
    name_arguments(
        p,
        issuer_address="--issuer",
        db_path="--db",
        max_connections_per_address="--max-per-address",
        first_frame_timeout_seconds="--first-frame-timeout",
    )

    p = leaf(cmds, "register-terminal", _register, "register a terminal; print its TMK "
             "as two components for dual control")  # fmt: skip
    p.add_argument("--merchant", required=True, metavar="MID", help="merchant id (15 chars)")
    p.add_argument("--terminal", required=True, metavar="TID", help="terminal id (8 chars)")
    p.add_argument("--name", default="", help="terminal name")
    p.add_argument("--merchant-name", default="", help="merchant name (for a new merchant)")
    p.add_argument(
        "--algorithm",
        default="3des",
        choices=TMK_ALGORITHMS,
        help="TMK algorithm: 3des (sign-on 001/003/004), sm4 (005/006), des (001)",
    )
    name_arguments(p, merchant_id="--merchant", terminal_id="--terminal")

    leaf(cmds, "terminals", _terminals, "list the registered terminals (keys by handle only)")

    p = leaf(cmds, "obligations", _obligations, "settled card batches of a day as BEPS items "
             "(interbank obligations for clearing)")  # fmt: skip
    p.add_argument("--date", type=_day, metavar="YYYY-MM-DD", help="business date (default today)")

    p = leaf(cmds, "journal", _journal, "the last messages in and out (redacted)")
    p.add_argument("--last", type=int, default=20, metavar="N", help="how many (default 20)")
    p.add_argument("--terminal", metavar="TID", help="only this terminal's messages")
    acquirer_download.register(cmds)
    acquirer_incident.register(cmds)


def _config() -> AcquirerConfig:
    config = AcquirerConfig.local()
    if config.home is not None:
        check_folder(config.home, home_argument())
    return config


@contextmanager
def _database(*, create: bool = False) -> Iterator[Database]:
    """The acquirer database; only a command that creates things may create it."""
    path = Path(_config().db_path)
    if not create:
        maker = "`zhifu acquirer register-terminal`"
        existing_sqlite(path, "acquirer database", home_argument(), maker=maker)
    db = Database(path)
    try:
        yield db
    finally:
        db.close()


def _run(args: argparse.Namespace) -> Outcome:
    from zhifu.acquirer.server import run_acquirer  # noqa: PLC0415 - the calculator starts fast

    config = _config()
    db = Path(args.db) if args.db else Path(config.db_path)
    if db.exists():
        existing_sqlite(db, "acquirer database", "--db" if args.db else home_argument())
    check_free(args.host, args.port, "--port")
    if not db.exists():
        print(f"zhifu acquirer: creating a new database at {db}", file=sys.stderr)
    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=log_format)
    limits = {
        "max_connections_per_address": args.max_per_address,
        "first_frame_timeout_seconds": args.first_frame_timeout,
        "issuer_address": _address(args.issuer) if args.issuer else None,
        "tls_folder": args.tls,
        "tls_client_auth": args.tls_client_auth or None,
        "risk": args.risk,
        "issuer_tls": args.issuer_tls or None,
        "risk_rules": args.risk_rules,
        "risk_webhook": args.risk_webhook,
    }
    settings = {name: value for name, value in limits.items() if value is not None}
    try:
        run_acquirer(args.host, args.port, args.db, settings=settings)
    except OSError as exc:  # taken since the check
        raise bind_error(exc, args.host, args.port, "--port") from None
    return Outcome({"stopped": True}, "acquirer stopped")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"expected YYYY-MM-DD, got {text!r}", argument="--date") from None


def _obligations(args: argparse.Namespace) -> Outcome:
    from zhifu.acquirer.payments.obligations import card_obligations  # noqa: PLC0415
    from zhifu.acquirer.payments.store import PaymentStore  # noqa: PLC0415
    from zhifu.clearing.obligations import obligations_to_items  # noqa: PLC0415
    from zhifu.core.clock import SHANGHAI  # noqa: PLC0415

    config = _config()
    day = args.date or datetime.now(SHANGHAI).date()
    with _database() as db:
        found = card_obligations(PaymentStore(db), day, acquirer_bank=config.bank_code,
                                 issuer_bank=config.issuer_bank_code)  # fmt: skip
    items = obligations_to_items(found)
    rows: list[dict[str, Any]] = [
        {"item_id": i.item_id, "business_type": i.business_type.value, "payer_bank": i.payer_bank,
         "payee_bank": i.payee_bank, "amount": f"{i.amount // 100}.{i.amount % 100:02d}",
         "packet_id": i.packet_id} for i in items
    ]  # fmt: skip
    lines = [f"{r['item_id']}  {r['payer_bank']} -> {r['payee_bank']}  {r['amount']}"
             for r in rows] or [f"no settled card batch on {day.isoformat()}"]  # fmt: skip
    return Outcome({"date": day.isoformat(), "items": rows}, lines)


def _address(text: str) -> str:
    name, _, number = text.rpartition(":")
    if not name or not number.isdigit() or not 0 < int(number) < 65536:
        raise UsageError(f"expected HOST:PORT, got {text!r}", argument="--issuer")
    return text


def _check_ids(args: argparse.Namespace) -> None:
    """The identifiers' form, checked before anything is opened or created."""
    checks = ((args.merchant, 15, "--merchant"), (args.terminal, 8, "--terminal"))
    for value, size, option in checks:
        if len(value) != size or not (value.isascii() and value.isprintable()):
            raise UsageError(f"must be {size} printable ASCII characters", argument=option)
        if value != value.strip():
            raise UsageError("no leading or trailing space", argument=option)


def _register(args: argparse.Namespace) -> Outcome:
    _check_ids(args)
    config = _config()
    new = not Path(config.db_path).exists()
    with _database(create=True) as db:
        store = open_key_store(config)
        try:
            reg = register_terminal(
                Registry(db), SoftHsm(store), args.merchant, args.terminal, name=args.name,
                merchant_name=args.merchant_name, algorithm=args.algorithm,
            )  # fmt: skip
        finally:
            store.close()
    with open_trail() as trail:
        trail.append(f"operator:{getpass.getuser()}", "terminal.register",
                     f"{args.merchant}/{args.terminal}", "ok", origin="cli",
                     detail=f"TMK kcv {reg.tmk_kcv}")  # fmt: skip
    data = {**_registration_data(reg), "database_created": str(config.db_path) if new else None}
    lines = _registration_text(reg)
    if new:
        lines.append(f"(a new acquirer database was created: {config.db_path})")
    return Outcome(data, lines)


def _registration_data(reg: Registration) -> dict[str, Any]:
    terminal = reg.terminal
    return {
        "terminal_id": terminal.terminal_id,
        "merchant_id": terminal.merchant_id,
        "algorithm": terminal.tmk_algorithm,
        "tmk_handle": terminal.tmk_handle,
        "tmk_kcv": reg.tmk_kcv,
        "components": [
            {"number": n, "custodian": CUSTODIANS[n - 1],
             "component": c.material.reveal().hex().upper(), "kcv": c.kcv}
            for n, c in enumerate(reg.components, start=1)
        ],
    }  # fmt: skip


def _grouped(hex_text: str) -> str:
    return " ".join(hex_text[i : i + 4] for i in range(0, len(hex_text), 4))


def _registration_text(reg: Registration) -> list[str]:
    terminal = reg.terminal
    lines = [
        f"terminal {terminal.terminal_id} registered for merchant {terminal.merchant_id}",
        f"TMK: {terminal.tmk_algorithm.upper()}, check value {reg.tmk_kcv}, "
        f"held by the security module as {terminal.tmk_handle}",
    ]
    for number, component in enumerate(reg.components, start=1):
        lines += [
            "",
            f"component {number} — custodian {CUSTODIANS[number - 1]}",
            f"  component     {_grouped(component.material.reveal().hex().upper())}",
            f"  check value   {component.kcv}",
        ]
    lines += [
        "",
        "Hand each component to its own custodian; each keys in only their own part at the "
        f"terminal. Together they form the TMK (check value {reg.tmk_kcv}).",
    ]
    return lines


def _terminals(args: argparse.Namespace) -> Outcome:
    with _database() as db:
        terminals = Registry(db).terminals()
    data = {"terminals": [t.as_dict() for t in terminals]}
    if not terminals:
        return Outcome(data, "no terminals registered")
    lines = [f"{'TID':8}  {'MID':15}  {'status':10}  {'TMK':4} {'KCV':6}  {'batch':6}  signed on"]
    for t in terminals:
        signed = t.signed_on.strftime("%Y-%m-%d %H:%M:%S") if t.signed_on else "-"
        scheme = t.working_keys.scheme if t.working_keys else "-"
        lines.append(
            f"{t.terminal_id:8}  {t.merchant_id:15}  {t.status:10}  {t.tmk_algorithm:4} "
            f"{t.tmk_kcv:6}  {t.batch:6}  {signed} ({scheme})"
        )
    return Outcome(data, lines)


def _journal(args: argparse.Namespace) -> Outcome:
    if args.last < 1:
        raise UsageError("must be at least 1", argument="last")
    with _database() as db:
        entries = Journal(db).recent(args.last, terminal_id=args.terminal)
    data = {"entries": [e.as_dict() for e in entries]}
    if not entries:
        return Outcome(data, "the journal is empty")
    return Outcome(data, [_journal_line(e) for e in entries])


def _journal_line(entry: JournalEntry) -> str:
    at = entry.at.strftime("%m-%d %H:%M:%S.%f")[:-3]
    arrow = {"in": "->", "out": "<-"}.get(entry.direction, "!!")
    took = f" {entry.duration_ms:.1f}ms" if entry.duration_ms is not None else ""
    parts = [
        f"{at} #{entry.exchange or entry.seq} {arrow} {entry.mti or '----'}",
        f"T={entry.terminal_id or '-'}",
        f"stan={entry.stan or '-'}",
    ]
    if entry.network_code:
        parts.append(f"60.3={entry.network_code}")
    if entry.response_code:
        parts.append(f"39={entry.response_code}")
    if entry.group:
        parts.append(f"[{entry.group}]")
    line = " ".join(parts) + took
    return f"{line}  {entry.note}" if entry.note else line
