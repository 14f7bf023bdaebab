"""Risk rules: the table itself; each rule fires on its scenario; a seeded normal day fires
none; blocks decline and are lifted only by an authorised user; counters; the signed webhook."""

from __future__ import annotations

import http.server
import json
import random
import re
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from zhifu.core.errors import DecodeError, UsageError
from zhifu.security.access import AccessError, Principal
from zhifu.security.risk import Event, RiskEngine, RiskStore, load_rules
from zhifu.security.risk.engine import Alert, prometheus_text
from zhifu.security.risk.geo import CITIES
from zhifu.security.risk.rules import KINDS, OUTCOMES, SUBJECTS, parse_rules
from zhifu.security.risk.webhook import HEADER, send, sign, verify

DAY = 1_800_000_000.0


@pytest.fixture
def audit() -> list[tuple[str, ...]]:
    return []


@pytest.fixture
def engine(audit: list[tuple[str, ...]]) -> RiskEngine:
    return RiskEngine(load_rules(), RiskStore.open(":memory:"), audit=lambda *r: audit.append(r))


def test_the_default_rules_are_well_formed() -> None:
    rules = load_rules()
    assert len({r.id for r in rules}) == len(rules)
    for rule in rules:
        assert rule.kind in KINDS and rule.subject in SUBJECTS and rule.outcome in OUTCOMES
        assert rule.why and rule.limit > 0
    assert {r.kind for r in rules} == set(KINDS)  # every kind of rule is used
    assert {r.outcome for r in rules} == set(OUTCOMES) - {"allow"}


@pytest.mark.parametrize(("text", "field"), [
    ("{}", "rules"), ('[{"id": "a"}]', "rules[0].kind"),
    ('[{"id": "a", "kind": "psychic", "events": ["x"], "subject": "card", "window": 1, '
     '"limit": 1, "outcome": "alert"}]', "rules[0].kind"),
    ('[{"id": "a", "kind": "burst", "events": ["x"], "subject": "card", "window": 0, '
     '"limit": 1, "outcome": "alert"}]', "rules[0].window"),
])  # fmt: skip
def test_a_bad_rule_file_names_the_rule_and_field(text: str, field: str) -> None:
    with pytest.raises(DecodeError) as err:
        parse_rules(text)
    assert err.value.field == field


def _fires(engine: RiskEngine, events: list[Event]) -> tuple[str, ...]:
    verdicts = [engine.assess(e) for e in events]
    return verdicts[-1].rules if verdicts else ()


SCENARIOS = {
    "card-velocity": [Event("card.purchase", DAY + i, 100, card="c1", terminal=f"t{i}")
                      for i in range(6)],
    "card-daily-amount": [Event("card.purchase", DAY + i * 3600, 1_800_000, card="c1",
                                terminal="t1") for i in range(3)],
    "card-single-amount": [Event("card.purchase", DAY, 2_000_001, card="c1", terminal="t1")],
    "wallet-static-code-daily": [Event("wallet.static-code", DAY + i * 600, 20_000, wallet="w1")
                                 for i in range(3)],
    "wallet-velocity": [Event("wallet.payment", DAY + i, 100, wallet="w1") for i in range(6)],
    "merchant-velocity": [Event("wallet.payment", DAY + i / 20, 100, merchant="m1",
                                wallet=f"w{i}") for i in range(601)],
    "terminal-velocity": [Event("card.purchase", DAY + i, 100, terminal="t1", card=f"c{i}")
                          for i in range(31)],
    "mac-failure-burst": [Event("mac.failure", DAY + i * 60, terminal="t1") for i in range(3)],
    "wrong-pin-burst": [Event("pin.wrong", DAY + i * 30, terminal="t1", card=f"c{i}")
                        for i in range(10)],
    "signature-failure-burst": [Event("signature.failure", DAY + i, key="k1") for i in range(5)],
    "replay": [Event("replay", DAY, key="k1")],
    "unknown-terminal-burst": [Event("terminal.unknown", DAY + i, origin="10.0.0.9",
                                     terminal=f"x{i}") for i in range(5)],
    "impossible-travel": [Event("card.purchase", DAY, 100, card="c1", terminal="t1",
                                city="beijing"),
                          Event("card.purchase", DAY + 1800, 100, card="c1", terminal="t2",
                                city="guangzhou")],
}  # fmt: skip


@pytest.mark.parametrize("rule", sorted(SCENARIOS))
def test_each_rule_fires_on_its_scenario(engine: RiskEngine, rule: str) -> None:
    events = SCENARIOS[rule]
    assert rule not in _fires(engine, events[:-1]) or len(events) == 1
    engine2 = RiskEngine(load_rules(), RiskStore.open(":memory:"))
    assert rule in _fires(engine2, events)


def test_every_rule_has_a_scenario() -> None:
    assert set(SCENARIOS) == {r.id for r in load_rules()}


def test_travel_that_a_plane_allows_does_not_fire(engine: RiskEngine) -> None:
    first = Event("card.purchase", DAY, 100, card="c1", city="beijing")
    later = Event("card.purchase", DAY + 3 * 3600, 100, card="c1", city="shanghai")
    assert engine.assess(first).outcome == engine.assess(later).outcome == "allow"


def normal_day(seed: int) -> list[Event]:
    """A seeded ordinary day: 200 cards at home in their cities, 50 terminals, 100 wallets."""
    rng = random.Random(seed)
    cities = sorted(CITIES)
    terminals = {f"1000{n:04d}": cities[n % len(cities)] for n in range(50)}
    by_city = {c: [t for t, tc in terminals.items() if tc == c] for c in cities}
    events = []
    for card in range(200):
        home = cities[card % len(cities)]
        for _ in range(rng.randint(3, 15)):
            terminal = rng.choice(by_city[home])
            at = DAY + rng.uniform(8, 22) * 3600
            events.append(
                Event(
                    "card.purchase",
                    at,
                    rng.randint(100, 50_000),
                    card=f"c{card}",
                    terminal=terminal,
                    merchant=f"m{terminal}",
                    city=home,
                )
            )
            if rng.random() < 0.03:
                events.append(Event("pin.wrong", at - 20, terminal=terminal, card=f"c{card}"))
    for wallet in range(100):
        for _ in range(rng.randint(1, 5)):
            at = DAY + rng.uniform(8, 22) * 3600
            kind = rng.choice(["wallet.payment", "wallet.static-code"])
            events.append(
                Event(
                    kind,
                    at,
                    rng.randint(100, 5_000),
                    wallet=f"w{wallet}",
                    merchant=f"m{rng.randrange(40)}",
                )
            )
    return sorted(events, key=lambda e: e.at)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_seeded_normal_day_raises_nothing(engine: RiskEngine, seed: int) -> None:
    events = normal_day(seed)
    assert len(events) > 2000
    outcomes = [engine.assess(e) for e in events]
    assert [v for v in outcomes if v.outcome != "allow"] == []
    assert engine.store.alerts() == [] and engine.store.blocks() == []


def test_a_block_declines_and_only_an_authorised_user_lifts_it(
    engine: RiskEngine, audit: list[tuple[str, ...]]
) -> None:
    _fires(engine, SCENARIOS["mac-failure-burst"])
    assert engine.store.blocks()[0]["subject"] == "t1"
    after = engine.assess(Event("card.purchase", DAY + 999, 100, terminal="t1", card="c9"))
    assert (after.outcome, after.rules) == ("decline", ("blocked",))
    with pytest.raises(AccessError):
        engine.lift("terminal", "t1", principal=Principal("wang", "operator", "session"),
                    reason="looks fine", at=DAY + 1000)  # fmt: skip
    assert engine.store.blocked("terminal", "t1")
    engine.lift("terminal", "t1", principal=Principal("li", "admin", "session"),
                reason="terminal rekeyed", at=DAY + 1001)  # fmt: skip
    assert engine.assess(Event("card.purchase", DAY + 1002, 100, terminal="t1")).outcome == "allow"
    actions = [(r[0], r[1], r[3].split(":")[0]) for r in audit]
    assert ("risk-engine", "risk.block", "rule mac-failure-burst on mac.failure") in actions
    assert ("wang", "risk.lift", "refused") in actions and ("li", "risk.lift", "ok") in actions


def test_prometheus_counters(engine: RiskEngine) -> None:
    _fires(engine, SCENARIOS["replay"])
    text = prometheus_text(engine.fired, len(engine.store.blocks()))
    assert engine.store.counts(load_rules())["replay"] == 1
    line = re.compile(r'^(# (HELP|TYPE) .+|zhifu_risk_[a-z_]+(\{rule="[a-z-]+"\})? \d+)$')
    assert all(line.match(row) for row in text.splitlines()), text
    assert 'zhifu_risk_rule_fired_total{rule="replay"} 1' in text
    assert 'zhifu_risk_rule_fired_total{rule="card-velocity"} 0' in text


class _Receiver(http.server.BaseHTTPRequestHandler):
    got: ClassVar[list[tuple[bytes, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.got.append((body, self.headers[HEADER]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()


def test_alerts_reach_a_webhook_signed(receiver: str) -> None:
    _Receiver.got.clear()
    alert = Alert(DAY, "replay", "alert", "key", "k1", "a code used twice")
    assert send(alert, receiver, b"webhook secret", now=DAY) == 204
    body, header = _Receiver.got[0]
    assert json.loads(body)["rule"] == "replay"
    seen: set[str] = set()
    assert verify(body, header, b"webhook secret", now=DAY + 10, seen=seen)
    assert not verify(body, header, b"webhook secret", now=DAY + 10, seen=seen)  # replayed
    assert not verify(body + b" ", header, b"webhook secret", now=DAY, seen=set())  # changed
    assert not verify(body, header, b"another secret", now=DAY, seen=set())
    assert not verify(body, header, b"webhook secret", now=DAY + 301, seen=set())  # too old
    _, fresh = sign(body, b"webhook secret", now=DAY)
    assert fresh == header


def test_one_alert_per_rule_and_subject_in_a_window(engine: RiskEngine) -> None:
    events = [Event("card.purchase", DAY + i, 100, card="c1", terminal="t1") for i in range(9)]
    verdicts = [engine.assess(e).outcome for e in events]
    assert verdicts == ["allow"] * 5 + ["decline"] * 4  # every one over the limit is refused
    assert engine.fired["card-velocity"] == 4
    assert [a.rule for a in engine.store.alerts()] == ["card-velocity"]  # alerted once
    later = Event("card.purchase", DAY + 200, 100, card="c1", terminal="t1")
    for n in range(6):
        engine.assess(Event("card.purchase", DAY + 200 + n, 100, card="c1", terminal="t1"))
    assert later.card == "c1" and len(engine.store.alerts()) == 2  # a new window, a new alert


def test_an_event_refuses_a_clear_card_number() -> None:
    with pytest.raises(UsageError, match="never its number"):
        Event("card.purchase", DAY, 100, card="6228480000000000018")
