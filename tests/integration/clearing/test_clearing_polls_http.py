"""Signed polls over HTTP on 127.0.0.1: a bank reads only its own inbox and summary.

The centre runs under uvicorn; banks A and C have registered keys, D is a participant without
one. Each refusal is a typed JSON error (401, or 403 for another bank's signature) and changes
nothing: the inbox still holds its message, the nonce of a refused poll still serves.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import uvicorn

from zhifu.clearing import BusinessType, ClearingSystem, Item, NodeKind, Participant
from zhifu.clearing.mbfe import MbfeClient, MbfeError
from zhifu.clearing.polls import new_nonce, sign_poll
from zhifu.clearing.signing import Signer
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import SHANGHAI
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore
from zhifu.web.app import create_app

A, C, D = "102100099996", "104290003791", "105290000012"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)
CAPS = {NodeKind.NPC: 100_000_00, NodeKind.CCPC: 50_000_00}
INBOX_A = f"/clearing/inbox/{A}?after=0"
SUMMARY_A = f"/clearing/reconciliation/{A}?date=2025-10-09"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class World:
    centre: ClearingCentre
    url: str
    signers: dict[str, Signer]
    clients: dict[str, MbfeClient]

    def get(self, target: str, headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
        """GET ``target``: (status, JSON error or raw body, X-Seq)."""
        request = urllib.request.Request(self.url + target, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read(), answer.headers.get("X-Seq", "")
        except urllib.error.HTTPError as error:
            assert error.headers.get("Content-Type", "").startswith("application/json")
            return error.code, json.loads(error.read()), ""

    def signed(self, bank: str, target: str, **overrides: Any) -> dict[str, str]:
        options = {"timestamp": int(time.time()), "nonce": new_nonce(), **overrides}
        return sign_poll(self.signers[bank], "GET", target, **options)


@pytest.fixture
def world() -> Iterator[World]:
    participants = [Participant(code, city, caps=CAPS) for code, city in
                    ((A, "1000"), (C, "2900"), (D, "2900"))]  # fmt: skip
    system = ClearingSystem(participants, start=T0)
    for code in (A, C, D):
        system.fund(code, 1_000_000_00)
    centre = ClearingCentre.create(system, SoftHsm(KeyStore.in_memory()))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    signers, clients = {}, {}
    for code in (A, C, D):
        hsm = SoftHsm(KeyStore.in_memory())
        key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
        signers[code] = Signer(hsm, key, code)
        clients[code] = MbfeClient(code, key, hsm, url, centre_key=centre.public_key())
        if code != D:
            centre.register(code, hsm.get_public_key(key))
    config = uvicorn.Config(create_app(clearing=centre), host="127.0.0.1", port=port,
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    ack = clients[C].send_items([Item("OD1", BusinessType.ORDINARY_DEBIT, A, C, 10_00)])
    assert ack.accepted  # a debit on A: one message in A's inbox
    yield World(centre, url, signers, clients)
    server.should_exit = True
    thread.join(timeout=10)


def _error(answer: tuple[int, Any, str]) -> tuple[int, str]:
    status, body, _ = answer
    assert set(body["error"]) == {"code", "message", "doc_url"}
    assert body["error"]["doc_url"] == "docs/clearing.md#signed-polls"
    return status, body["error"]["code"]


def test_the_bank_itself_reads_its_inbox_and_summary(world: World) -> None:
    status, body, seq = world.get(INBOX_A, world.signed(A, INBOX_A))
    assert (status, seq) == (200, "1") and b"OD1" in body
    after = f"/clearing/inbox/{A}?after=1"
    assert world.get(after, world.signed(A, after))[0] == 204
    status, body, _ = world.get(SUMMARY_A, world.signed(A, SUMMARY_A))
    assert status == 200 and b"SumChck" in body


def test_unsigned_polls_are_refused(world: World) -> None:
    assert _error(world.get(INBOX_A)) == (401, "signature_missing")
    assert _error(world.get(SUMMARY_A)) == (401, "signature_missing")
    partial = world.signed(A, INBOX_A)
    partial.pop("Zhifu-Nonce")
    assert _error(world.get(INBOX_A, partial)) == (401, "signature_missing")


def test_another_bank_may_not_read_an_inbox_or_a_summary(world: World) -> None:
    assert _error(world.get(INBOX_A, world.signed(C, INBOX_A))) == (403, "bank_mismatch")
    assert _error(world.get(SUMMARY_A, world.signed(C, SUMMARY_A))) == (403, "bank_mismatch")
    lying = world.signed(C, INBOX_A)
    lying["Zhifu-Key-Id"] = A  # C's signature claimed as A's
    assert _error(world.get(INBOX_A, lying)) == (401, "signature_invalid")


def test_tampered_polls_are_refused(world: World) -> None:
    headers = world.signed(A, INBOX_A)
    assert _error(world.get(f"/clearing/inbox/{A}?after=1", headers)) == (401, "signature_invalid")
    flipped = dict(headers)
    value = flipped["Zhifu-Signature"]
    flipped["Zhifu-Signature"] = value[:-6] + ("A" if value[-6] != "A" else "B") + value[-5:]
    assert _error(world.get(INBOX_A, flipped)) == (401, "signature_invalid")
    late = dict(headers, **{"Zhifu-Timestamp": str(int(headers["Zhifu-Timestamp"]) + 1)})
    assert _error(world.get(INBOX_A, late)) == (401, "signature_invalid")
    not_base64 = dict(headers, **{"Zhifu-Signature": "SM2-SM3 ***"})
    assert _error(world.get(INBOX_A, not_base64)) == (401, "signature_invalid")


def test_replayed_and_stale_polls_are_refused(world: World) -> None:
    headers = world.signed(A, INBOX_A)
    assert world.get(INBOX_A, headers)[0] == 200
    assert _error(world.get(INBOX_A, headers)) == (401, "nonce_reused")
    stale = world.signed(A, INBOX_A, timestamp=int(time.time()) - 301)
    assert _error(world.get(INBOX_A, stale)) == (401, "timestamp_stale")
    ahead = world.signed(A, INBOX_A, timestamp=int(time.time()) + 301)
    assert _error(world.get(INBOX_A, ahead)) == (401, "timestamp_stale")
    before_start = world.signed(A, INBOX_A, timestamp=world.centre.polls.started - 1)
    assert _error(world.get(INBOX_A, before_start)) == (401, "timestamp_stale")


def test_a_bank_without_a_registered_key_is_refused(world: World) -> None:
    target = f"/clearing/inbox/{D}?after=0"
    assert _error(world.get(target, world.signed(D, target))) == (401, "key_unknown")
    with pytest.raises(MbfeError, match=r"HTTP 401 \(key_unknown\)"):
        world.clients[D].receive()


def test_a_refused_poll_changes_nothing(world: World) -> None:
    nonce = new_nonce()
    refused = world.signed(C, INBOX_A, nonce=nonce)
    assert _error(world.get(INBOX_A, refused)) == (403, "bank_mismatch")
    own = f"/clearing/inbox/{C}?after=0"
    assert world.get(own, world.signed(C, own, nonce=nonce))[0] == 204  # the nonce still serves
    status, body, seq = world.get(INBOX_A, world.signed(A, INBOX_A))
    assert (status, seq) == (200, "1") and b"OD1" in body  # A's message still there, first


def test_the_mbfe_client_signs_its_polls(world: World) -> None:
    a = world.clients[A]
    assert [m.header.sender for m in a.receive()] == [C]
    assert a.receive() == []
    assert a.reconcile(T0.date()).centre.bank == A


def test_the_description_gives_the_bank_pattern_the_server_enforces(world: World) -> None:
    with urllib.request.urlopen(f"{world.url}/schema/openapi.json", timeout=10) as answer:
        paths = json.loads(answer.read())["paths"]
    inbox = paths["/clearing/inbox/{bank}"]["get"]
    (bank,) = [p for p in inbox["parameters"] if p["name"] == "bank"]
    assert bank["schema"]["pattern"] == "^[0-9]{12}$"
    assert "application/xml" in inbox["responses"]["200"]["content"]
    assert set(inbox["responses"]) >= {"200", "204", "400", "401", "403", "503"}
    sent = paths["/clearing/messages"]["post"]["responses"]["200"]["content"]
    assert list(sent) == ["application/xml"]
    for wrong in ("10210009999", "1021000999961", "١٠٢١٠٠٠٩٩٩٩٦"):  # short, long, Arabic-Indic
        target = urllib.parse.quote(f"/clearing/inbox/{wrong}")
        status, body, _ = world.get(target, world.signed(A, target))
        assert (status, body["error"]["code"]) == (400, "validation_error")
