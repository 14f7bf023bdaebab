"""``zhifu clearing``: the BEPS clearing engine from the command line.

- ``simulate DAY.json``: replay a scenario on a fresh in-memory system (``--columnar`` for the
  volume path, ``--xml`` through the signed-message centre) and print the outcome;
- ``submit FILE``, ``rounds``, ``positions``, ``close-round``, ``settle``, ``reconcile``: work on
  a state file (``--state``, a journal replayed by each command, see
  :mod:`zhifu.clearing.journal`); without ``--state`` the read-only commands show the built-in
  demonstration scenario;
- ``calendar``: the years the holiday calendar knows, and whether the next 60 days are covered
  (:mod:`zhifu.cli.clearing.calendar`).

Every command takes ``--json``; tables also come as ``--csv``. Long replays draw a progress
bar on stderr when it is a terminal (or with ``--progress``).

>>> import argparse
>>> from zhifu.cli.common import emit
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["clearing", "rounds"])
>>> emit(args.handler(args), False)  # doctest: +ELLIPSIS
BEPS date   round  state    items  settlement date  settles at
2025-09-30  R3     settled  1      2025-09-30       2025-09-30T16:00:00+08:00
...
0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from zhifu.cli.clearing import calendar as clearing_calendar_cmd
from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError

# arguments the commands name themselves (any other name is a place in a file)
_OPTIONS = frozenset({"--state", "state", "FILE", "DAY.json", "--at", "--date", "date"})


def register(sub: SubParsers) -> None:
    """Add ``clearing`` and its sub-commands to the command tree."""
    text = "BEPS small-value clearing (小额支付): simulate, submit, rounds, positions, settle"
    group = sub.add_parser("clearing", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="clearing commands", metavar="COMMAND")
    p = leaf(cmds, "simulate", _simulate, "replay a scenario file on a fresh in-memory system")
    p.add_argument("scenario", metavar="DAY.json", help="the scenario (see docs/clearing.md)")
    path = p.add_mutually_exclusive_group()
    path.add_argument("--columnar", action="store_true", help="net through the columnar path")
    path.add_argument(
        "--xml",
        action="store_true",
        help="send every item, receipt and request as a signed message to the XML centre",
    )
    _add_csv(p)
    _add_progress(p)
    p = leaf(cmds, "submit", _submit, "append a file of items and events to the state")
    p.add_argument("file", metavar="FILE", help="items/events (and participants for a new state)")
    _add_state(p, required=True)
    _add_progress(p)
    for name, handler, help_text in (
        ("rounds", _rounds, "list the rounds: state, settlement date and instant"),
        ("positions", _positions, "bilateral and per-participant positions"),
        ("close-round", _close_round, "close the current round now (submit it to SAPS)"),
        ("settle", _settle, "settle what is due (optionally advancing the clock with --at)"),
        ("reconcile", _reconcile, "per-bank totals of a BEPS date checked against positions"),
    ):
        p = leaf(cmds, name, handler, help_text)
        _add_state(p, required=name in ("close-round", "settle"))
        _add_progress(p)
        if name in ("positions", "reconcile"):
            p.add_argument("--date", metavar="YYYY-MM-DD", help="the BEPS date")
        if name in ("rounds", "positions", "reconcile"):
            _add_csv(p)
        if name == "settle":
            p.add_argument("--at", metavar="TIME", help="advance the clock to this time first")
    clearing_calendar_cmd.register(cmds)


def _add_state(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument(
        "--state",
        required=required,
        metavar="FILE",
        help="the state (journal) file" + ("" if required else "; default: the demo scenario"),
    )


def _add_csv(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", action="store_true", help="print the table as CSV")


def _add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", action="store_true", help="draw a progress bar on stderr")


class ProgressBar:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label, self.width = label, width

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{total}{end}")
        sys.stderr.flush()


def _bar(args: argparse.Namespace, label: str) -> ProgressBar | None:
    return ProgressBar(label) if args.progress or sys.stderr.isatty() else None


def _read_json(path: str, argument: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("no such file", argument=argument) from None
    except ValueError as exc:
        raise UsageError(f"not JSON: {exc}", argument=argument) from None
    if not isinstance(data, dict):
        raise UsageError("expected a JSON object", argument=argument)
    return data


def _table(rows: list[dict[str, Any]], columns: list[str], headers: list[str]) -> list[str]:
    cells = [headers] + [[str(r[c]) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]


def _in_file(exc: UsageError, argument: str) -> UsageError:
    """An error of a file's content (``items[0].amount: ...``) named by the file's argument."""
    return UsageError(str(exc), argument=argument)


@contextmanager
def _content_of(argument: str) -> Iterator[None]:
    """Name ``argument`` (the file) for an error in what the file holds."""
    try:
        yield
    except UsageError as exc:
        if exc.argument in _OPTIONS:
            raise
        raise _in_file(exc, argument) from None


def _journal(args: argparse.Namespace) -> Any:
    """The journal of ``--state`` (which must exist: only ``submit`` creates one)."""
    from zhifu.clearing.journal import Journal  # noqa: PLC0415

    if Path(args.state).is_dir():
        raise UsageError(f"{args.state} is a folder, not a state file", argument="--state")
    return Journal.load(args.state)


def _simulate(args: argparse.Namespace) -> Outcome:
    from zhifu.clearing.simulate import Scenario, run_scenario  # noqa: PLC0415 - fast start

    data = _read_json(args.scenario, "DAY.json")
    try:
        scenario = Scenario.from_mapping(data)
    except UsageError as exc:
        raise _in_file(exc, "DAY.json") from None
    if args.columnar:
        from zhifu.clearing.columnar.convert import run_scenario_columnar  # noqa: PLC0415

        out = run_scenario_columnar(scenario)
    elif args.xml:
        from zhifu.clearing.xml_replay import run_scenario_xml  # noqa: PLC0415

        out = run_scenario_xml(scenario, progress=_bar(args, "messages"))
    else:
        out = run_scenario(scenario, progress=_bar(args, "replay"))
    if args.csv:
        return _csv(out["items"])
    counts: dict[str, int] = {}
    for item in out["items"]:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    lines = [
        f"{len(out['items'])} items: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    ]
    lines += _bilateral_lines(out["bilateral"]) + _settlement_lines(out["settlements"])
    if "checks" in out:
        lines.append("checks: " + ", ".join(f"{k}={v}" for k, v in out["checks"].items()))
    return Outcome(out, lines)


def _bilateral_lines(rows: list[dict[str, Any]]) -> list[str]:
    cols = ["beps_date", "round", "node", "bank_a", "bank_b", "net"]
    return ["", *_table(rows, cols, ["BEPS date", "round", "node", "bank a", "bank b", "b owes a"])]


def _settlement_lines(rows: list[dict[str, Any]]) -> list[str]:
    cols = ["settlement_date", "bank", "net", "settled"]
    return ["", *_table(rows, cols, ["settlement date", "bank", "net", "settled"])]


def _csv(rows: list[dict[str, Any]]) -> Outcome:
    from zhifu.clearing.reports import to_csv  # noqa: PLC0415

    text = to_csv(rows).rstrip("\r\n").replace("\r\n", "\n")
    return Outcome({"rows": rows}, text)


def _system(args: argparse.Namespace) -> Any:
    """The system of ``--state``, or the demo scenario replayed."""
    if args.state:
        journal = _journal(args)
        with _content_of("--state"):
            return journal.system(_bar(args, "replay"))
    from zhifu.clearing.demo import DEMO  # noqa: PLC0415
    from zhifu.clearing.simulate import Scenario, replay  # noqa: PLC0415

    return replay(Scenario.from_mapping(DEMO))[0]


def _submit(args: argparse.Namespace) -> Outcome:
    from zhifu.clearing.journal import Journal  # noqa: PLC0415
    from zhifu.clearing.scenario_schema import check_scenario  # noqa: PLC0415

    data = _read_json(args.file, "FILE")
    new = not Path(args.state).exists()
    if not new:
        _journal(args)  # a state file, or refused
    with _content_of("FILE"):
        check_scenario(data)
        journal = Journal.open_or_create(args.state, data)
        added = journal.add(data)
    items, answers = _answers(args, journal, data) if journal.clock else ([], [])
    lines = [f"{added} added; clock {journal.clock}"]
    if new:
        lines.insert(0, f"new state file {args.state} created")
    lines += [
        f"{i['id']}: {i['status']}" + (f" ({i['reason']})" if i["reason"] else "") for i in items
    ]
    out = {"added": added, "clock": journal.clock, "items": items, "requests": answers}
    return Outcome({**out, "state_created": new}, lines)


def _answers(
    args: argparse.Namespace, journal: Any, data: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What became of the file's items, and the answers to its events."""
    system, requests = journal.replay(_bar(args, "replay"))
    items = []
    for item_id in [str(i.get("id")) for i in data.get("items", [])]:
        result = system.status(item_id)
        reason = result.reason.value if result.reason else None
        items.append({"id": item_id, "status": result.status.value, "reason": reason})
    events = len(data.get("events", []))
    return items, requests[len(requests) - events :] if events else []


def _rounds(args: argparse.Namespace) -> Outcome:
    from zhifu.clearing.reports import round_rows  # noqa: PLC0415

    rows = round_rows(_system(args))
    if args.csv:
        return _csv(rows)
    for row in rows:
        row["label"] = f"R{row['round']}"
    cols = ["beps_date", "label", "state", "items", "settlement_date", "settles_at"]
    heads = ["BEPS date", "round", "state", "items", "settlement date", "settles at"]
    return Outcome({"rounds": rows}, _table(rows, cols, heads))


def _positions(args: argparse.Namespace) -> Outcome:
    from zhifu.clearing.reports import bilateral_rows, participant_rows  # noqa: PLC0415

    system = _system(args)
    bilateral, participants = bilateral_rows(system), participant_rows(system)
    if args.date:
        day = _date(args.date).isoformat()
        bilateral = [r for r in bilateral if r["beps_date"] == day]
        participants = [r for r in participants if r["beps_date"] == day]
    if args.csv:
        return _csv(participants)
    cols = ["beps_date", "round", "node", "bank", "net"]
    heads = ["BEPS date", "round", "node", "bank", "net"]
    lines = [*_bilateral_lines(bilateral)[1:], "", *_table(participants, cols, heads)]
    return Outcome({"bilateral": bilateral, "participants": participants}, lines)


def _close_round(args: argparse.Namespace) -> Outcome:
    from zhifu.clearing.reports import round_rows  # noqa: PLC0415

    journal = _journal(args)
    with _content_of("--state"):
        system = journal.system(_bar(args, "replay"))
    key = system.book.current
    journal.advance(system, system.schedule.close_instant(key))
    closed = [
        r
        for r in round_rows(system)
        if (r["beps_date"], r["round"]) == (key[0].isoformat(), key[1])
    ]
    label = f"{key[0].isoformat()} R{key[1]}"
    text = f"closed {label}; clock {journal.clock}" + ("" if closed else " (nothing netted in it)")
    return Outcome({"closed": label, "clock": journal.clock, "round": closed}, text)


def _settle(args: argparse.Namespace) -> Outcome:
    from zhifu.clearing.simulate import parse_instant  # noqa: PLC0415

    journal = _journal(args)
    with _content_of("--state"):
        system = journal.system(_bar(args, "replay"))
    before = {k for k, r in system.rounds.items() if r.state.value == "settled"}
    if args.at:
        journal.advance(system, parse_instant(args.at, "--at"))
    system.settle()
    done = [k for k, r in sorted(system.rounds.items()) if r.state.value == "settled"]
    rows = [{"beps_date": k[0].isoformat(), "round": k[1]} for k in done if k not in before]
    waiting = sorted(
        f"{k[0]} R{k[1]}" for k, r in system.rounds.items() if r.state.value != "settled"
    )
    lines = [f"clock {journal.clock}; settled now: {len(rows)}; not yet settled: {len(waiting)}"]
    lines += [f"waiting: {w}" for w in waiting]
    return Outcome({"clock": journal.clock, "settled": rows, "waiting": waiting}, lines)


def _reconcile(args: argparse.Namespace) -> Outcome:
    from zhifu.clearing.reports import reconcile  # noqa: PLC0415

    system = _system(args)
    days = sorted({r.netted_round[0] for r in system.records.values() if r.netted_round})
    chosen = [_date(args.date)] if args.date else days
    reports = [reconcile(system, d) for d in chosen]
    if args.csv:
        return _csv(
            [{"beps_date": r.beps_date.isoformat(), **b.row()} for r in reports for b in r.banks]
        )
    lines = []
    for report in reports:
        lines.append(f"{report.beps_date}: {'balanced' if report.balanced else 'NOT balanced'}")
        lines += [f"  {m}" for m in report.mismatches]
    ok = all(r.balanced for r in reports)
    return Outcome(
        {"reports": [r.as_dict() for r in reports], "balanced": ok}, lines, 0 if ok else 1
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError("not a date (YYYY-MM-DD)", argument="date") from None
