"""The virtual mPOS's HTTP face against a real acquirer on 127.0.0.1: keys by name, a clear
digit refused at the PIN pad, sealed digits (a replayed one refused), a card presented, the
purchase approved; who may drive it."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from zhifu.acquirer import AcquirerConfig, start_in_background
from zhifu.acquirer.site import open_site_at
from zhifu.security.access import totp
from zhifu.terminal.sealed import seal_digit
from zhifu.web.app import create_app
from zhifu.web.desk import TEST_PIN

LMK = "5A" * 32
PASSWORD = "terminal test password"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient[Any]]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    home = tmp_path / "var"
    acquirer = start_in_background(AcquirerConfig.local(home, port=0), environ={"ZHIFU_LMK": LMK})
    site = open_site_at(home, {"ZHIFU_LMK": LMK})
    secret = site.access.add_user("ops", "operator", PASSWORD, actor="setup")
    comp = site.access.add_user("comp", "compliance", PASSWORD, actor="setup")
    assert secret is not None and comp is not None
    services = {"home": home, "acquirer": acquirer.host}
    app = create_app(site=site, acquirer=("127.0.0.1", acquirer.port), services=services)
    try:
        with TestClient(app=app) as test_client:
            form = {"user": "ops", "password": PASSWORD, "totp": totp(secret, time.time())}
            test_client.post("/console/sign-in", data=form)
            test_client.headers["x-test-comp"] = base64.b32encode(comp).decode()  # for one test
            yield test_client
    finally:
        site.close()
        acquirer.stop()


def _key(client: TestClient[Any], key: str) -> dict[str, Any]:
    answer = client.post("/console/terminal/key", json={"key": key})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _wait(client: TestClient[Any], phase: str) -> dict[str, Any]:
    state = client.get("/console/terminal/state").json()
    deadline = time.monotonic() + 30
    while state["phase"] != phase and time.monotonic() < deadline:
        state = client.get(f"/console/terminal/state?since={state['version']}").json()
    assert state["phase"] == phase, state["phase"]
    return dict(state)


def test_a_purchase_through_the_http_keypad(client: TestClient[Any]) -> None:
    page = client.get("/console/terminal?lang=en")
    assert page.status_code == 200 and "622800******" in page.text
    state = _wait(client, "idle")
    assert len(base64.b64decode(state["pixels"])) == 128 * 64 // 8 and state["seal"] is None
    bad = client.post("/console/terminal/key", json={"key": "enter"})
    assert bad.status_code == 400 and "key" in bad.json()["error"]["message"]
    for key in ("confirm", "1", "2", "0", "0", "confirm"):  # purchase 2.00 yuan
        _key(client, key)
    assert (
        client.post("/console/terminal/card", json={"card": 9, "how": "insert"}).status_code == 400
    )
    assert client.post("/console/terminal/card", json={"card": 0, "how": "fly"}).status_code == 400
    client.post("/console/terminal/card", json={"card": 0, "how": "insert"})
    state = _wait(client, "pin")
    clear = client.post("/console/terminal/key", json={"key": "1"})
    assert clear.status_code == 400 and "sealed" in clear.json()["error"]["message"]
    public = base64.b64decode(state["seal"]["public_key"])
    first = base64.b64encode(seal_digit(public, 1, TEST_PIN[0])).decode()
    assert client.post("/console/terminal/key", json={"sealed": first}).status_code == 200
    replay = client.post("/console/terminal/key", json={"sealed": first})
    assert replay.status_code == 400 and "replayed" in replay.json()["error"]["message"]
    assert client.post("/console/terminal/key", json={"sealed": "%%"}).status_code == 400
    for n, digit in enumerate(TEST_PIN[1:], 2):
        sealed = base64.b64encode(seal_digit(public, n, digit)).decode()
        client.post("/console/terminal/key", json={"sealed": sealed})
    _key(client, "confirm")
    state = _wait(client, "result")
    assert state["result"]["approved"] and state["result"]["amount_fen"] == 200
    trail = client.app.state["site"].trail.records()  # type: ignore[attr-defined]
    made = [r for r in trail if r.action == "console.terminal.desk"]
    assert [(r.actor, r.object) for r in made] == [("ops", "W0000001")]
    assert any("RMB 2.00" in line for line in state["receipt"])


def test_only_roles_granted_the_terminal_drive_it(client: TestClient[Any]) -> None:
    comp = base64.b32decode(client.headers.pop("x-test-comp"))
    client.post("/console/sign-out")
    client.cookies.clear()
    away = client.get("/console/terminal/state", follow_redirects=False)
    assert away.status_code == 303 and "/console/sign-in" in away.headers["location"]
    form = {"user": "comp", "password": PASSWORD, "totp": totp(comp, time.time())}
    assert client.post("/console/sign-in", data=form, follow_redirects=False).status_code == 303
    assert client.get("/console/terminal/state").status_code == 403
    assert client.post("/console/terminal/key", json={"key": "confirm"}).status_code == 403
