"""The permission matrix, built from the OpenAPI document: every operation × every kind of
caller (nobody, each role's signed-in session, a scoped API key) gets exactly the outcome the
route table of ``zhifu.security.access.permissions`` says. Plus the sign-in thresholds over
HTTP and the audit records they leave. A real site (audit trail, users) in a temporary folder,
a real barcode platform and clearing centre; the app in-process (Litestar's test client)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from zhifu.acquirer.site import Site, open_site_at
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.clearing import ClearingSystem, NodeKind, Participant
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import SHANGHAI
from zhifu.security.access import ROLES, allows, totp
from zhifu.security.access.permissions import PUBLIC, SIGNED, Principal, route_access
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.store import KeyStore
from zhifu.web.app import create_app

BANK = "102100099996"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)
PASSWORD = "a password of the test"
LMK = "5a" * 32
ACCESS_CODES = {"unauthenticated", "permission_denied", "session_expired", "api_key_revoked"}
PARAMETERS = {"order_id": "O1", "bank": BANK, "name": "nobody", "key_id": "0000000000000000",
              "kind": "terminal", "subject": "10000001", "code": "Z001"}  # fmt: skip


@dataclass
class World:
    client: TestClient[Litestar]
    document: dict[str, Any]
    site: Site
    tokens: dict[str, str]  # caller -> bearer token ("" for nobody)
    principals: dict[str, Principal | None]


def _centre() -> ClearingCentre:
    clearing = ClearingSystem(
        [Participant(BANK, "1000", caps={NodeKind.NPC: 10_000_00, NodeKind.CCPC: 10_000_00})],
        start=T0,
    )
    return ClearingCentre.create(clearing, SoftHsm(KeyStore.in_memory()))


def _sign_in(client: TestClient[Litestar], user: str, secret: bytes | None) -> str:
    code = totp(secret, time.time()) if secret else ""
    answer = client.post("/v1/session", json={"user": user, "password": PASSWORD, "totp": code})
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    site = open_site_at(tmp_path_factory.mktemp("site"), environ={"ZHIFU_LMK": LMK})
    system = BarcodeSystem.open(tmp_path_factory.mktemp("barcode"))
    system.start()
    app = create_app(barcode=system, clearing=_centre(), site=site)
    with TestClient(app=app) as client:
        tokens, principals = {"nobody": ""}, {"nobody": None}
        for role in ROLES:
            secret = site.access.add_user(f"u-{role}", role, PASSWORD, actor="test")
            tokens[role] = _sign_in(client, f"u-{role}", secret)
            principals[role] = Principal(f"u-{role}", role, "session")
        _, key = site.access.create_api_key("reporting", ["audit.read"], actor="test")
        tokens["api-key"] = key
        principals["api-key"] = Principal("k", "", "api-key", frozenset({"audit.read"}))
        document = client.get("/schema/openapi.json").json()
        yield World(client, document, site, tokens, principals)
    system.close()
    site.close()


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    found = [(method.upper(), path) for path, item in document["paths"].items()
             for method in item if method in {"get", "post", "put", "delete", "patch"}]  # fmt: skip
    # signing out last, so every other request of a caller still has its session
    return sorted(found, key=lambda op: op == ("DELETE", "/v1/session"))


def _call(world: World, method: str, path: str, caller: str) -> Any:
    target = re.sub(r"\{(\w+)\}", lambda m: PARAMETERS[m[1]], path)
    headers = {"Authorization": f"Bearer {world.tokens[caller]}"} if world.tokens[caller] else {}
    body = b"{}" if method in {"POST", "PUT", "PATCH"} else None
    headers |= {"Content-Type": "application/json"} if body else {}
    world.client.cookies.clear()
    return world.client.request(method, target, content=body, headers=headers)


def _code(answer: Any) -> str | None:
    try:
        return str(answer.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def test_every_operation_is_in_the_route_table(world: World) -> None:
    operations = _operations(world.document)
    assert len(operations) > 20
    missing = [op for op in operations if route_access(*op) is None]
    assert missing == []


def test_every_operation_by_every_caller_gets_exactly_its_outcome(world: World) -> None:
    callers = ["nobody", *ROLES, "api-key"]
    outcomes: dict[tuple[str, str], dict[str, tuple[int, str | None]]] = {}
    for method, path in _operations(world.document):
        access = route_access(method, path)
        row = outcomes.setdefault((method, path), {})
        for caller in callers:
            answer = _call(world, method, path, caller)
            row[caller] = (answer.status_code, _code(answer))
            principal = world.principals[caller]
            where = f"{method} {path} as {caller}: {answer.status_code} {answer.text[:120]}"
            if access == PUBLIC:
                assert _code(answer) not in ACCESS_CODES, where
            elif access == SIGNED:
                assert row[caller] == row["nobody"], where  # a session opens no signed route
            elif principal is None:
                assert (answer.status_code, _code(answer)) == (401, "unauthenticated"), where
            elif allows(principal, str(access)):
                assert answer.status_code not in {401, 403} and answer.status_code < 500, where
            else:
                assert (answer.status_code, _code(answer)) == (403, "permission_denied"), where
    granted = {op for op, row in outcomes.items()
               if any(s < 400 for s, _ in row.values())}  # fmt: skip
    assert ("GET", "/v1/audit") in granted and ("GET", "/v1/users") in granted


def test_denials_and_sign_ins_are_in_the_audit_trail(world: World) -> None:
    merchant = _sign_in(world.client, "u-merchant", None)  # the matrix signed everybody out
    answer = world.client.get("/v1/users", headers={"Authorization": f"Bearer {merchant}"})
    assert answer.status_code == 403
    records = world.site.trail.records()
    actions = {(r.actor, r.action) for r in records}
    assert ("u-merchant", "access.denied") in actions
    assert ("u-admin", "session.start") in actions
    assert world.site.trail.verify().ok
    reader = {"Authorization": f"Bearer {world.tokens['api-key']}"}
    audit = world.client.get("/v1/audit?last=5", headers=reader)
    assert audit.json()["ok"] is True and len(audit.json()["records"]) == 5


def test_lockout_over_http_is_exact(tmp_path: Path) -> None:
    site = open_site_at(tmp_path, environ={"ZHIFU_LMK": LMK})
    clock = [1_800_000_000.0]
    site.access.now = lambda: clock[0]
    site.access.add_user("zhao", "merchant", PASSWORD, actor="test")
    with TestClient(app=create_app(site=site)) as client:
        wrong = {"user": "zhao", "password": "not the password"}
        codes = [client.post("/v1/session", json=wrong).json()["error"]["code"] for _ in range(10)]
        assert codes == ["credentials_invalid"] * 10
        right = {"user": "zhao", "password": PASSWORD}
        clock[0] += 1799
        locked = client.post("/v1/session", json=right)
        assert (locked.status_code, locked.json()["error"]["code"]) == (423, "account_locked")
        clock[0] += 1
        session = client.post("/v1/session", json=right)
        assert session.status_code == 201
        assert "zhifu_session" in session.headers["set-cookie"]
        assert "HttpOnly" in session.headers["set-cookie"]
        token = session.json()["token"]
        clock[0] += 900
        expired = client.get("/v1/session", headers={"Authorization": f"Bearer {token}"})
        assert (expired.status_code, expired.json()["error"]["code"]) == (401, "session_expired")
    outcomes = [json.dumps([r.action, r.outcome]) for r in site.trail.records()]
    assert any("user.locked" in o for o in outcomes)
    site.close()
