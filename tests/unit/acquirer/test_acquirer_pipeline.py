"""The transaction pipeline: route selection, two phases, abort order, errors as 96."""

from __future__ import annotations

import pytest

from zhifu.acquirer.context import Result, RouteKey, TxnContext
from zhifu.acquirer.pipeline import BaseParticipant, GroupSelector, Pipeline, Route, Verdict
from zhifu.acquirer.routes import MANAGEMENT_ROUTES, UNROUTED
from zhifu.core.errors import UsageError
from zhifu.iso8583 import Frame, Header, Message, Tpdu
from zhifu.iso8583.response_codes import RESPONSE_CODES, Action


def _ctx(mti: str = "0800", f3: str | None = None, f60: str = "00000001003") -> TxnContext:
    fields = {"41": "10000001", "42": "898100012345678", "60": f60}
    if f3 is not None:
        fields["3"] = f3
    return TxnContext.start(Frame(Tpdu(), Header(), b""), Message(mti, fields))


class Step(BaseParticipant):
    """Records what happened to it in a shared log."""

    def __init__(
        self,
        label: str,
        log: list[str],
        verdict: Verdict = Verdict.PREPARED,
        *,
        fail: Result | None = None,
        boom: str = "",
        joins_abort: bool = False,
    ) -> None:
        self.label, self.log, self.verdict = label, log, verdict
        self.fail_with, self.boom = fail, boom
        self.joins_abort = joins_abort

    @property
    def name(self) -> str:
        return self.label

    def prepare(self, ctx: TxnContext) -> Verdict:
        self.log.append(f"prepare {self.label}")
        if self.boom == "prepare":
            raise RuntimeError("bug")
        if self.fail_with is not None:
            ctx.fail(self.fail_with, f"{self.label} says no")
        return self.verdict

    def commit(self, ctx: TxnContext) -> None:
        self.log.append(f"commit {self.label}")
        if self.boom == "commit":
            raise RuntimeError("bug")

    def abort(self, ctx: TxnContext) -> None:
        self.log.append(f"abort {self.label}")


@pytest.mark.parametrize(
    ("key", "group"),
    [
        (RouteKey("0800", "", "00", "003"), "sign-on"),
        (RouteKey("0800", "", "00", "006"), "sign-on"),
        (RouteKey("0820", "", "00", "301"), "echo"),
        (RouteKey("0820", "", "00", "373"), "capk-query-sm"),
        (RouteKey("0800", "", "00", "381"), "aid-download-end"),
        (RouteKey("0800", "", "00", "007"), None),
        (RouteKey("0200", "000000", "22", "000"), None),
    ],
)
def test_management_routes(key: RouteKey, group: str | None) -> None:
    assert GroupSelector(MANAGEMENT_ROUTES).select(key) == group


def test_most_specific_route_wins_whatever_the_order() -> None:
    routes = [
        Route("any-0200", "0200"),
        Route("sale", "0200", processing_code="00", txn_type="22"),
        Route("by-code", "0200", processing_code="00"),
        Route("void", "0200", processing_code="20", txn_type="23"),
        Route("balance", "0200", processing_code="31"),
    ]
    selector = GroupSelector(routes)
    assert selector.select(RouteKey("0200", "000000", "22", "000")) == "sale"
    assert selector.select(RouteKey("0200", "000000", "20", "000")) == "by-code"
    assert selector.select(RouteKey("0200", "200000", "23", "000")) == "void"
    assert selector.select(RouteKey("0200", "310000", "01", "000")) == "balance"
    assert selector.select(RouteKey("0200", "990000", "99", "000")) == "any-0200"


def test_tie_goes_to_the_first_route() -> None:
    selector = GroupSelector([Route("a", "0800", network_code="003"), Route("b", "0800",
                              network_code="003")])  # fmt: skip
    assert selector.select(RouteKey("0800", "", "00", "003")) == "a"


def test_all_prepared_commit_in_order() -> None:
    log: list[str] = []
    steps = [Step("a", log), Step("b", log, Verdict.NO_JOIN), Step("c", log)]
    pipeline = Pipeline({"g": steps, "none": []}, [Route("g", "0800")], unrouted="none")
    ctx = pipeline.process(_ctx())
    assert ctx.group == "g" and not ctx.failed
    assert log == ["prepare a", "prepare b", "prepare c", "commit a", "commit c"]


def test_abort_runs_backwards_then_abort_joiners() -> None:
    log: list[str] = []
    steps = [
        Step("a", log),
        Step("b", log),
        Step("stop", log, Verdict.ABORTED, fail=Result.TERMINAL_UNKNOWN),
        Step("skipped", log),
        Step("respond", log, joins_abort=True),
    ]
    pipeline = Pipeline({"g": steps}, [Route("g", "0800")], unrouted="g")
    ctx = pipeline.process(_ctx())
    assert ctx.result is Result.TERMINAL_UNKNOWN and ctx.reason == "stop says no"
    assert log == ["prepare a", "prepare b", "prepare stop", "abort b", "abort a",
                   "abort respond"]  # fmt: skip


@pytest.mark.parametrize("where", ["prepare", "commit"])
def test_a_bug_in_a_participant_is_a_system_error(where: str) -> None:
    log: list[str] = []
    steps = [Step("a", log), Step("buggy", log, boom=where), Step("r", log, joins_abort=True)]
    pipeline = Pipeline({"g": steps}, [Route("g", "0800")], unrouted="g")
    ctx = pipeline.process(_ctx())
    assert ctx.result is Result.SYSTEM_ERROR
    assert ctx.reason == f"buggy {where}: RuntimeError"


def test_aborted_without_a_reason_is_a_system_error() -> None:
    steps = [Step("quiet", [], Verdict.ABORTED)]
    ctx = Pipeline({"g": steps}, [], unrouted="g").process(_ctx())
    assert ctx.result is Result.SYSTEM_ERROR and "quiet aborted" in ctx.reason


def test_unrouted_requests_go_to_the_unrouted_group() -> None:
    log: list[str] = []
    pipeline = Pipeline({"g": [Step("g", log)], UNROUTED: [Step("u", log)]},
                        [Route("g", "0820")], unrouted=UNROUTED)  # fmt: skip
    assert pipeline.process(_ctx("0800")).group == UNROUTED


def test_groups_can_be_added_later() -> None:
    log: list[str] = []
    pipeline = Pipeline({"none": [Step("n", log)]}, [], unrouted="none")
    pipeline.add("sale", [Step("authorize", log)], [Route("sale", "0200", "00", "22")])
    ctx = pipeline.process(_ctx("0200", "000000", "22000001000"))
    assert ctx.group == "sale" and pipeline.groups["sale"] == ("authorize",)
    with pytest.raises(UsageError, match="exists already"):
        pipeline.add("sale", [], [])
    with pytest.raises(UsageError, match="unknown group"):
        pipeline.add("refund", [], [Route("nowhere", "0220")])


def test_unknown_unrouted_group_is_refused() -> None:
    with pytest.raises(UsageError, match="no group named"):
        Pipeline({}, [], unrouted="missing")


def test_every_result_is_a_row_of_the_response_code_table() -> None:
    for result in Result:
        assert RESPONSE_CODES[result.de39] is result.response_code
    assert len({r.de39 for r in Result}) == len(Result)
    assert Result.APPROVED.response_code.approved
    assert not any(r.response_code.approved for r in Result if r is not Result.APPROVED)
    sign_on_again = {r for r in Result if r.action is Action.SIGN_ON}
    assert sign_on_again == {Result.MAC_FAILED, Result.BATCH_MISMATCH}
