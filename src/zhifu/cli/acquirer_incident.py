"""``zhifu acquirer block-terminal | unblock-terminal | rekey-terminal``: what to do with a
terminal whose keys may be known to someone else (``docs/incident-response.md``).

A blocked terminal's requests are refused (``58``) by the running host at once (the registry is
read on every request); ``rekey-terminal`` gives it a new TMK as two components for dual control
and forgets its working keys, so it must be loaded with the new TMK and sign on again. Each is
an audit record with the reason given.
"""

from __future__ import annotations

import argparse
import getpass
import time

from zhifu.cli.common import Outcome, SubParsers, leaf


def register(cmds: SubParsers) -> None:
    """Add the three commands under ``acquirer``."""
    for name, handler, text in (
        ("block-terminal", _block, "refuse every request of a terminal until it is unblocked"),
        ("unblock-terminal", _unblock, "let a blocked terminal work again"),
    ):
        p = leaf(cmds, name, handler, text)
        p.add_argument("terminal", metavar="TID", help="the terminal id (8 characters)")
        p.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    p = leaf(cmds, "rekey-terminal", _rekey, "a new TMK for a terminal (two components, dual "
             "control); its working keys are forgotten")  # fmt: skip
    p.add_argument("terminal", metavar="TID", help="the terminal id (8 characters)")
    p.add_argument("--reason", required=True, help="why (kept in the audit trail)")


def _actor() -> str:
    return f"operator:{getpass.getuser()}"


def _status(args: argparse.Namespace, status: str) -> Outcome:
    from zhifu.acquirer.registry import Registry  # noqa: PLC0415
    from zhifu.cli.acquirer_cmd import _database  # noqa: PLC0415
    from zhifu.cli.audit_cmd import open_trail  # noqa: PLC0415

    with _database() as db:
        Registry(db).set_status(args.terminal, status)
    verb = "block" if status == "blocked" else "unblock"
    lifted = status == "active" and _lift_risk_block(args.terminal, args.reason)
    with open_trail() as trail:
        trail.append(_actor(), f"terminal.{verb}", args.terminal, "ok", origin="cli",
                     detail=args.reason)  # fmt: skip
    text = f"terminal {args.terminal} is {status}" + (" (the risk rules' block lifted)" * lifted)
    return Outcome({"terminal_id": args.terminal, "status": status, "risk_block_lifted": lifted},
                   text)  # fmt: skip


def _lift_risk_block(terminal: str, reason: str) -> bool:
    """Lift the risk rules' block of the terminal too (the running host sees it at once)."""
    from zhifu.acquirer.risk import RISK_FILE  # noqa: PLC0415
    from zhifu.cli.acquirer_cmd import _config  # noqa: PLC0415
    from zhifu.security.risk import RiskStore  # noqa: PLC0415

    home = _config().home
    if home is None or not (home / RISK_FILE).is_file():
        return False
    store = RiskStore.open(home / RISK_FILE)
    try:
        return store.lift("terminal", terminal, at=time.time(), by=_actor(), reason=reason)
    finally:
        store.close()


def _block(args: argparse.Namespace) -> Outcome:
    return _status(args, "blocked")


def _unblock(args: argparse.Namespace) -> Outcome:
    return _status(args, "active")


def _rekey(args: argparse.Namespace) -> Outcome:
    from zhifu.acquirer.config import open_key_store  # noqa: PLC0415
    from zhifu.acquirer.registry import Registry, rekey_terminal  # noqa: PLC0415
    from zhifu.cli.acquirer_cmd import (  # noqa: PLC0415
        _config,
        _database,
        _registration_data,
        _registration_text,
    )
    from zhifu.cli.audit_cmd import open_trail  # noqa: PLC0415
    from zhifu.security.hsm.soft import SoftHsm  # noqa: PLC0415

    config = _config()
    with _database() as db:
        store = open_key_store(config)
        try:
            reg = rekey_terminal(Registry(db), SoftHsm(store), args.terminal)
        finally:
            store.close()
    with open_trail() as trail:
        trail.append(_actor(), "terminal.rekey", args.terminal, "ok", origin="cli",
                     detail=f"{args.reason}; new TMK kcv {reg.tmk_kcv}")  # fmt: skip
    lines = _registration_text(reg)
    lines[0] = f"terminal {args.terminal} has a new TMK; load it and sign on again"
    return Outcome(_registration_data(reg), lines)
