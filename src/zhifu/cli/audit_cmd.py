"""``zhifu audit``: the audit trail of the data directory — ``verify`` it, ``list`` its records.

The trail is ``audit.db`` in the data directory (``$ZHIFU_HOME``, default ``var/``); its chain and
checkpoint keys are in the acquirer's key store there (``zhifu.security.audit_trail``). ``verify``
exits 1 and names the first bad record when a record was deleted, edited or reordered, the tail
cut, or a checkpoint does not hold.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from zhifu.cli.common import Outcome, SubParsers, leaf

if TYPE_CHECKING:
    from zhifu.security.audit_trail import AuditTrail


def register(sub: SubParsers) -> None:
    """Add ``audit verify`` and ``audit list``."""
    text = "the audit trail: verify the chain, list the records"
    group = sub.add_parser("audit", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="audit commands", metavar="COMMAND")
    leaf(cmds, "verify", _verify, "check the chain, its head and its signed checkpoints")
    p = leaf(cmds, "list", _list, "the last records")
    p.add_argument("--last", type=int, default=20, help="how many (default 20)")
    p.add_argument("--actor", help="only this actor's records (security-module: key events)")
    p.add_argument("--action", help="only records whose action starts with this (risk., key.)")


@contextmanager
def open_trail() -> Iterator[AuditTrail]:
    """The data directory's audit trail (created on first use)."""
    from zhifu.acquirer.config import AcquirerConfig, open_key_store  # noqa: PLC0415
    from zhifu.security.audit_trail import AuditTrail  # noqa: PLC0415
    from zhifu.security.hsm.soft import SoftHsm  # noqa: PLC0415

    config = AcquirerConfig.local()
    store = open_key_store(config)
    assert config.home is not None
    config.home.mkdir(parents=True, exist_ok=True)
    trail = AuditTrail.open(config.home / "audit.db", SoftHsm(store))
    trail.absorb_key_store(store)  # the security module's own lines join the chain
    try:
        yield trail
    finally:
        trail.close()
        store.close()


def _verify(args: argparse.Namespace) -> Outcome:
    with open_trail() as trail:
        verdict = trail.verify()
    data = {"ok": verdict.ok, "records": verdict.records, "first_bad": verdict.first_bad,
            "reason": verdict.reason}  # fmt: skip
    broken = f"the audit trail is broken at record {verdict.first_bad}: {verdict.reason}"
    text = f"the audit trail holds: {verdict.records} records" if verdict.ok else broken
    return Outcome(data, text, 0 if verdict.ok else 1)


def _list(args: argparse.Namespace) -> Outcome:
    with open_trail() as trail:
        records = [r for r in trail.records()
                   if (args.actor is None or r.actor == args.actor)
                   and (args.action is None or r.action.startswith(args.action))]  # fmt: skip
        records = records[-args.last :] if args.last > 0 else []
    rows = [dataclasses.asdict(r) for r in records]
    lines = [f"{r.seq:>6} {r.at[:19]} {r.actor} {r.action} {r.object} {r.outcome}" for r in records]
    return Outcome({"records": rows}, lines or "no records")
