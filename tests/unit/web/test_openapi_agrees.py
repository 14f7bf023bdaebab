"""Each disagreement schemathesis found, checked directly: the OpenAPI document says X, and the
server does X (a real barcode platform in a temporary directory, a real clearing centre, real
SM2 signatures; the app in-process through Litestar's test client)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from zhifu.barcode.api import schemas
from zhifu.barcode.api.signing import HEADERS, SigningKey, sign_headers
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.clearing import ClearingSystem, NodeKind, Participant
from zhifu.clearing.polls import new_nonce, sign_poll
from zhifu.clearing.signing import Signer
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import SHANGHAI
from zhifu.crypto import sm2
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore
from zhifu.web.app import create_app
from zhifu.web.openapi import body_types
from zhifu.web.routes.barcode import signed
from zhifu.web.routes.barcode.common import REPLAYED_HEADER

MERCHANT = "M100001"
BANK = "102100099996"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)
_nonces = itertools.count(1)


@dataclass
class World:
    client: TestClient[Litestar]
    document: dict[str, Any]
    merchant: SigningKey
    bank: Signer

    def signed(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Any:
        """``method target`` signed by the merchant (what a well-behaved client sends)."""
        nonce = f"direct-test-nonce-{next(_nonces):06d}"
        signature = sign_headers(
            self.merchant, method, target, body, timestamp=int(time.time()), nonce=nonce
        )
        return self.client.request(
            method, target, content=body, headers={**signature, **(headers or {})}
        )

    def poll(self, target: str) -> Any:
        stamp = {"timestamp": int(time.time()), "nonce": new_nonce()}
        return self.client.get(target, headers=sign_poll(self.bank, "GET", target, **stamp))

    def operation(self, path: str, method: str) -> dict[str, Any]:
        found: dict[str, Any] = self.document["paths"][path][method]
        return found

    def component(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.document["components"]["schemas"][name]
        return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    system = BarcodeSystem.open(tmp_path_factory.mktemp("barcode"))
    system.start()
    system.add_merchant(MERCHANT, "zhifu", "Demo Noodles")
    private, public = sm2.generate_keypair()
    system.add_key(f"merchant:{MERCHANT}", f"{MERCHANT}-k1", public)
    clearing = ClearingSystem(
        [Participant(BANK, "1000", caps={NodeKind.NPC: 10_000_00, NodeKind.CCPC: 10_000_00})],
        start=T0,
    )
    centre = ClearingCentre.create(clearing, SoftHsm(KeyStore.in_memory()))
    hsm = SoftHsm(KeyStore.in_memory())
    key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
    centre.register(BANK, hsm.get_public_key(key))
    app = create_app(barcode=system, clearing=centre)
    with TestClient(app=app) as client:
        document = client.get("/schema/openapi.json").json()
        yield World(
            client,
            document,
            SigningKey(f"{MERCHANT}-k1", "SM2-SM3", private),
            Signer(hsm, key, BANK),
        )
    system.close()


def _error_code(answer: Any) -> str:
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "doc_url"}
    code: str = body["error"]["code"]
    return code


def _refund(amount: str, extra: str = "") -> bytes:
    return f'{{"out_refund_no": "RF1", "amount": {amount}{extra}}}'.encode()


# -- request bodies ---------------------------------------------------------------------------


def test_closed_bodies_are_declared_closed_and_unknown_fields_are_refused(world: World) -> None:
    for kind in body_types():
        closed = msgspec.inspect.type_info(kind).forbid_unknown_fields  # type: ignore[attr-defined]
        declared = world.component(kind.__name__).get("additionalProperties", True)
        assert declared is (not closed), kind.__name__
    assert world.component("RefundRequest")["additionalProperties"] is False
    answer = world.signed(
        "POST", "/v1/orders/O1/refunds", _refund("617", ', "note": 1'), {"Idempotency-Key": "k-1"}
    )
    assert (answer.status_code, _error_code(answer)) == (400, "validation_error")
    assert "unknown field" in answer.json()["error"]["message"]


def test_amounts_are_integers_and_an_integral_float_is_refused(world: World) -> None:
    amount = world.component("RefundRequest")["properties"]["amount"]
    assert amount["type"] == "integer" and amount["minimum"] == 1
    assert "1234.0" in amount["description"]  # the refusal is documented
    optional = world.component("WalletPayRequest")["properties"]["amount"]
    assert optional["oneOf"] == [{"type": "integer"}, {"type": "null"}]
    assert (optional["minimum"], optional["maximum"]) == (1, 1_000_000_000_000)
    floated = world.signed(
        "POST", "/v1/orders/O1/refunds", _refund("546.0"), {"Idempotency-Key": "k-2"}
    )
    assert (floated.status_code, _error_code(floated)) == (400, "validation_error")
    assert floated.json()["error"]["message"].endswith("got `float`")
    integral = world.signed(
        "POST", "/v1/orders/O1/refunds", _refund("546"), {"Idempotency-Key": "k-3"}
    )
    assert (integral.status_code, _error_code(integral)) == (404, "order_not_found")


def test_an_optional_identifier_keeps_its_pattern(world: World) -> None:
    terminal = world.component("MicropayRequest")["properties"]["terminal_id"]
    assert terminal["pattern"] == "^[A-Za-z0-9_\\-]+$" and terminal["maxLength"] == 32
    with pytest.raises(schemas.BarcodeError):
        schemas.decode_strict(
            b'{"merchant_id": "M1", "out_trade_no": "T1", "auth_code": "1234567890123456",'
            b' "amount": 1, "terminal_id": "box 1"}',
            schemas.MicropayRequest,
        )


# -- headers ----------------------------------------------------------------------------------


def test_every_post_declares_its_idempotency_key_and_the_server_needs_it(world: World) -> None:
    posts = [
        (path, item["post"]) for path, item in world.document["paths"].items() if "post" in item
    ]
    barcode = [(path, op) for path, op in posts
               if any("zhifuSignature" in scheme for scheme in op.get("security", []))]  # fmt: skip
    assert len(barcode) == 6
    for path, operation in barcode:
        (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
        assert (header["name"], header["required"]) == ("Idempotency-Key", True), path
        assert header["schema"]["pattern"] == "^[\\x21-\\x7e]{1,64}$"
        assert REPLAYED_HEADER in operation["responses"]["200"]["headers"], path
    missing = world.signed("POST", "/v1/orders/O1/close", b"{}")
    too_long = world.signed("POST", "/v1/orders/O1/close", b"{}", {"Idempotency-Key": "k" * 65})
    for answer in (missing, too_long):
        assert (answer.status_code, _error_code(answer)) == (400, "idempotency_key_missing")


def test_a_replayed_answer_says_so_in_the_declared_header(world: World) -> None:
    assert REPLAYED_HEADER == signed.REPLAYED_HEADER
    body = b'{"merchant_id": "M100001", "out_trade_no": "T-replay", "amount": 2500}'
    first = world.signed("POST", "/v1/orders", body, {"Idempotency-Key": "order-replay"})
    again = world.signed("POST", "/v1/orders", body, {"Idempotency-Key": "order-replay"})
    assert first.status_code == again.status_code == 200
    assert REPLAYED_HEADER not in first.headers
    assert again.headers[REPLAYED_HEADER] == "true" and again.json() == first.json()
    declared = world.operation("/v1/orders", "post")["responses"]["200"]["headers"]
    assert declared[REPLAYED_HEADER]["schema"]["enum"] == ["true"]


def test_the_four_signature_headers_are_declared_and_each_is_needed(world: World) -> None:
    schemes = world.document["components"]["securitySchemes"]
    schemes = {name: scheme for name, scheme in schemes.items() if name != "bearer"}
    assert sorted(s["name"] for s in schemes.values()) == sorted(HEADERS)
    assert world.operation("/v1/orders/{order_id}", "get")["security"] == [
        {scheme: [] for scheme in schemes}
    ]
    for left_out in HEADERS:
        signature = sign_headers(
            world.merchant, "GET", "/v1/orders/O1", b"", timestamp=int(time.time()),
            nonce=f"left-out-{left_out.lower()}",
        )  # fmt: skip
        del signature[left_out]
        answer = world.client.get("/v1/orders/O1", headers=signature)
        assert (answer.status_code, _error_code(answer)) == (401, "signature_missing")


def test_options_and_405_list_every_method_of_the_path(world: World) -> None:
    declared = {m.upper() for m in world.document["paths"]["/v1/orders"]}
    assert declared == {"GET", "POST"}
    options = world.client.options("/v1/orders")
    refused = world.client.delete("/v1/orders")
    assert options.status_code == 204 and refused.status_code == 405
    allowed = [set(a.headers["allow"].split(", ")) for a in (options, refused)]
    assert allowed == [{"GET", "OPTIONS", "POST"}] * 2
    assert _error_code(refused) == "method_not_allowed"


# -- query parameters -------------------------------------------------------------------------


def test_the_business_date_is_a_date(world: World) -> None:
    (parameter,) = world.operation("/v1/switch/obligations", "get")["parameters"]
    assert parameter["schema"] == {
        "type": "string",
        "format": "date",
        "description": parameter["description"],
    }
    answer = world.client.get("/v1/switch/obligations?business_date=2026-02-30")
    assert (answer.status_code, _error_code(answer)) == (400, "validation_error")


# -- the clearing transport -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/clearing/inbox/{bank}", "/clearing/reconciliation/{bank}"])
def test_a_poll_declares_the_bank_pattern_and_its_json_refusals(world: World, path: str) -> None:
    operation = world.operation(path, "get")
    bank = next(p for p in operation["parameters"] if p["name"] == "bank")
    assert bank["schema"]["pattern"] == "^[0-9]{12}$"
    for status in ("400", "401", "403", "503"):
        content = operation["responses"][status]["content"]
        assert content == {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
        }
    assert list(operation["responses"]["200"]["content"]) == ["application/xml"]
    assert operation["security"] == world.operation("/v1/orders/{order_id}", "get")["security"]


@pytest.mark.parametrize(
    ("bank", "status"),
    [
        (BANK, 401),  # of the form: the unsigned poll is refused by the signature check
        ("١٠٢١٠٠٠٩٩٩٩٦", 400),  # twelve Arabic-Indic digits: not ASCII digits
        ("10210009999", 400),
    ],
)
def test_the_server_checks_the_declared_bank_pattern(world: World, bank: str, status: int) -> None:
    answer = world.client.get(f"/clearing/inbox/{bank}?after=0")
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    assert _error_code(answer) in {"validation_error", "signature_missing"}


def test_xml_goes_both_ways_and_the_inbox_declares_x_seq(world: World) -> None:
    messages = world.operation("/clearing/messages", "post")
    assert list(messages["requestBody"]["content"]) == ["application/xml"]
    assert messages["requestBody"]["required"] is False  # anything is answered PR09
    assert list(messages["responses"]["200"]["content"]) == ["application/xml"]
    answer = world.client.post(
        "/clearing/messages", content=b"<x/>", headers={"content-type": "application/xml"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert b"PR09" in answer.content
    inbox = world.operation("/clearing/inbox/{bank}", "get")["responses"]
    assert inbox["200"]["headers"]["X-Seq"]["required"] is True
    assert "204" in inbox
    empty = world.poll(f"/clearing/inbox/{BANK}")  # the test client repeats a query in raw_path
    assert empty.status_code == 204, empty.text
