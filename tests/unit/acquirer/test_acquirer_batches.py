"""Frames of many connections at once (``handle_many``): the same answers as one by one, the
requests journalled before any is processed, a bug closing only its own connection, and
journal seqs that are never given twice."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.context import TxnContext
from zhifu.acquirer.database import Database
from zhifu.acquirer.host import AcquirerHost, Arrival, Reply
from zhifu.acquirer.journal import Journal
from zhifu.acquirer.participants import CheckFields, Respond
from zhifu.acquirer.pipeline import BaseParticipant, Pipeline, Route, Verdict
from zhifu.acquirer.registry import register_terminal
from zhifu.acquirer.services import Services
from zhifu.core.clock import SHANGHAI
from zhifu.iso8583 import Header, Message, Tpdu, encode_frame
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.store import KeyStore

MID, TID = "898100012345678", "10000001"
TPDU, HEADER = Tpdu("6000030000"), Header("613100311108")
AT = datetime(2026, 1, 5, 9, 30, tzinfo=SHANGHAI)


def _body(message: Message) -> bytes:
    return encode_frame(message, TPDU, HEADER)[2:]


def _echo(stan: int) -> bytes:
    fields = {"11": f"{stan:06d}", "41": TID, "42": MID, "60": "00000001301"}
    return _body(Message("0820", fields))


MIXED = [
    _echo(1),
    bytes.fromhex("600003000061310031110802007000000000000000") + b"\x19\x62",  # 30
    _body(Message("0830", {"39": "00", "41": TID})),  # a response: not answered
    b"\x60\x00\x00",  # unreadable: close
    _echo(2),
]


def _host() -> AcquirerHost:
    host = AcquirerHost.in_memory()
    register_terminal(host.services.registry, host.services.hsm, MID, TID)
    return host


def test_a_batch_answers_byte_for_byte_as_one_frame_at_a_time() -> None:
    one_by_one, batched = _host(), _host()
    expected = [one_by_one.handle(body, peer="p", received_at=AT) for body in MIXED]
    replies = batched.handle_many([Arrival(body, "p", AT) for body in MIXED])
    assert replies == expected
    assert [bool(r.frame) for r in replies] == [True, True, False, False, True]
    assert replies[3] == Reply(None, close=True)
    rows = batched.journal.recent(20)
    directions = [row.direction for row in rows]
    assert directions == ["in", "broken", "in", "broken", "in", "out", "out", "out"]
    requests, answers = rows[:5], rows[5:]
    assert [a.exchange for a in answers] == [requests[i].seq for i in (0, 1, 4)]
    assert all(row.exchange == row.seq for row in requests)


class _Spy(BaseParticipant):
    """Reads the journal file through its own connection: what is committed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[tuple[str, ...]] = []

    def prepare(self, ctx: TxnContext) -> Verdict:
        with sqlite3.connect(self.path) as db:
            rows = db.execute("SELECT direction FROM journal ORDER BY seq").fetchall()
        self.seen.append(tuple(row[0] for row in rows))
        return Verdict.NO_JOIN


def _host_with(tmp_path: Path, *participants: BaseParticipant) -> AcquirerHost:
    config = AcquirerConfig()
    database = Database(tmp_path / "acquirer.db")
    services = Services.build(config, database, SoftHsm(KeyStore.in_memory()))
    steps = [CheckFields(["11"]), *participants, Respond(services)]
    pipeline = Pipeline({"all": steps}, [Route("all", "0820")], unrouted="all")
    return AcquirerHost(config, database=database, hsm=services.hsm, pipeline=pipeline)


def test_every_request_is_committed_before_any_is_processed(tmp_path: Path) -> None:
    spy = _Spy(tmp_path / "acquirer.db")
    host = _host_with(tmp_path, spy)
    host.handle_many([Arrival(_echo(n)) for n in range(1, 4)])
    assert spy.seen == [("in", "in", "in")] * 3
    host.handle_many([Arrival(_echo(4))])  # the first batch's answers were committed too
    assert spy.seen[-1] == ("in", "in", "in", "out", "out", "out", "in")


class _BadRequirement(BaseParticipant):
    """A bug outside the pipeline's guard: a header digit that cannot be encoded."""

    def prepare(self, ctx: TxnContext) -> Verdict:
        return Verdict.PREPARED if ctx.request.get("11") == "000666" else Verdict.NO_JOIN

    def commit(self, ctx: TxnContext) -> None:
        ctx.processing_requirement = "Z"


def test_a_bug_on_one_frame_closes_only_its_connection(tmp_path: Path) -> None:
    config = AcquirerConfig()
    database = Database(tmp_path / "acquirer.db")
    services = Services.build(config, database, SoftHsm(KeyStore.in_memory()))
    steps = [CheckFields(["11"]), Respond(services), _BadRequirement()]
    pipeline = Pipeline({"all": steps}, [Route("all", "0820")], unrouted="all")
    host = AcquirerHost(config, database=database, hsm=services.hsm, pipeline=pipeline)
    replies = host.handle_many([Arrival(_echo(666)), Arrival(_echo(7))])
    assert replies[0] == Reply(None, close=True)
    assert replies[1].frame is not None and not replies[1].close
    assert [row.direction for row in host.journal.recent(10)] == ["in", "in", "out"]


def test_journal_seqs_are_never_given_twice(tmp_path: Path) -> None:
    journal = Journal(Database(tmp_path / "acquirer.db"))
    request = Message("0820", {"11": "000001", "41": TID})
    rows = [journal.in_row(request, peer="p", at=AT, size=30) for _ in range(3)]
    assert journal.write(rows) == [1, 2, 3]
    assert journal.write([]) == []
    assert journal.prune(datetime(2027, 1, 1, tzinfo=SHANGHAI)) == 3
    answer = journal.out_row(
        request, exchange=2, peer="p", at=AT, duration_ms=1.5, size=30, group="echo"
    )
    assert journal.write([journal.in_row(request, peer="p", at=AT, size=30), answer]) == [4, 5]
    entries = journal.recent(5)
    assert [(e.seq, e.exchange, e.direction) for e in entries] == [(4, 4, "in"), (5, 2, "out")]
