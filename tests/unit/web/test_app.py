"""The web app in-process (litestar.testing.TestClient): health, OpenAPI, error shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest.mock import patch

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.params import FromQuery, JSONBody
from litestar.testing import TestClient

import zhifu
from zhifu.core.errors import DecodeError, UsageError
from zhifu.security.access.permissions import PUBLIC, ROUTES
from zhifu.web.app import create_app

SECRET_LOOKING = "6222021234567890123"  # a PAN-shaped value that must never be echoed


@get("/test/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError(f"crashed while holding {SECRET_LOOKING}")


@get("/test/usage", sync_to_thread=False)
def usage() -> None:
    raise UsageError("must be 3 letters", argument="currency")


@get("/test/decode", sync_to_thread=False)
def decode() -> None:
    raise DecodeError("length 99 exceeds the 19 allowed", field="2", offset=13)


@get("/test/items", sync_to_thread=False)
def items(limit: FromQuery[int]) -> dict[str, int]:
    return {"limit": limit}


class Order(msgspec.Struct):
    amount: int
    currency: str


@post("/test/orders", sync_to_thread=False)
def orders(data: JSONBody[Order]) -> Order:
    return data


TEST_ROUTES = [("GET", "boom"), ("GET", "usage"), ("GET", "decode"), ("GET", "items"),
               ("POST", "orders")]  # fmt: skip


def _app_with_test_routes() -> Litestar:
    app = create_app()
    for handler in (boom, usage, decode, items, orders):
        app.register(handler)
    return app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    # the test routes are public (a route missing from the route table is refused to all)
    granted = {(m, f"/test/{p}"): PUBLIC for m, p in TEST_ROUTES}
    with (
        patch.dict(ROUTES, granted),  # type: ignore[arg-type]
        TestClient(app=_app_with_test_routes(), raise_server_exceptions=False) as test_client,
    ):
        yield test_client


def _assert_error_shape(body: Any, code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "doc_url"}
    assert body["error"]["code"] == code
    assert body["error"]["doc_url"].endswith(f"#{code}")
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_healthz_reports_ok_and_version(client: TestClient[Litestar]) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok", "version": zhifu.__version__}


def test_openapi_json_is_generated_from_the_code(client: TestClient[Litestar]) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "zhifu"
    assert doc["info"]["version"] == zhifu.__version__
    operation = doc["paths"]["/healthz"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert "Health" in schema.get("$ref", "")
    assert set(doc["components"]["schemas"]["Health"]["properties"]) == {"status", "version"}
    assert "/docs" not in doc["paths"]


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_schema_ui_page_is_served(client: TestClient[Litestar], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>zhifu</title>" in response.text
    assert "swagger-ui" in response.text.lower()


def test_docs_redirects_to_the_schema_ui(client: TestClient[Litestar]) -> None:
    response = client.get("/docs", follow_redirects=False)
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/schema"


def test_unknown_path_answers_json_404(client: TestClient[Litestar]) -> None:
    response = client.get(f"/no/such/route/{SECRET_LOOKING}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    _assert_error_shape(response.json(), "not_found")
    assert response.json()["error"]["doc_url"] == "/docs/errors#not_found"
    assert SECRET_LOOKING not in response.text


def test_wrong_method_answers_json_405(client: TestClient[Litestar]) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    _assert_error_shape(response.json(), "method_not_allowed")


def test_unhandled_exception_answers_bare_json_500(client: TestClient[Litestar]) -> None:
    response = client.get("/test/boom")
    assert response.status_code == 500
    _assert_error_shape(response.json(), "internal_error")
    for leak in (SECRET_LOOKING, "Traceback", "RuntimeError", "boom"):
        assert leak not in response.text


def test_usage_error_answers_400_naming_the_argument(client: TestClient[Litestar]) -> None:
    response = client.get("/test/usage")
    assert response.status_code == 400
    _assert_error_shape(response.json(), "usage_error")
    assert response.json()["error"]["message"] == "currency: must be 3 letters"


def test_decode_error_answers_400_with_location(client: TestClient[Litestar]) -> None:
    response = client.get("/test/decode")
    assert response.status_code == 400
    _assert_error_shape(response.json(), "decode_error")
    assert response.json()["error"]["message"].startswith("field 2 at offset 13")


def test_invalid_query_names_the_parameter_not_the_value(client: TestClient[Litestar]) -> None:
    response = client.get("/test/items", params={"limit": SECRET_LOOKING + "x"})
    assert response.status_code == 400
    _assert_error_shape(response.json(), "validation_error")
    assert response.json()["error"]["message"] == "invalid query limit: Expected `int`, got `str`"
    assert SECRET_LOOKING not in response.text


def test_missing_query_parameter_is_named(client: TestClient[Litestar]) -> None:
    response = client.get("/test/items", params={"other": SECRET_LOOKING})
    assert response.status_code == 400
    _assert_error_shape(response.json(), "validation_error")
    assert response.json()["error"]["message"] == "missing query parameter limit"
    assert SECRET_LOOKING not in response.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"amount": 1}, "invalid body: Object missing required field `currency`"),
        (
            {"amount": "x" + SECRET_LOOKING, "currency": "CNY"},
            "invalid body amount: Expected `int`, got `str`",
        ),
        (
            {"amount": [SECRET_LOOKING], "currency": "CNY"},
            "invalid body amount: Expected `int`, got `array`",
        ),
    ],
)
def test_invalid_json_body_answers_validation_error(
    client: TestClient[Litestar], body: dict[str, Any], message: str
) -> None:
    response = client.post("/test/orders", json=body)
    assert response.status_code == 400
    _assert_error_shape(response.json(), "validation_error")
    assert response.json()["error"]["message"] == message
    assert SECRET_LOOKING not in response.text


def test_malformed_json_body_answers_bad_request(client: TestClient[Litestar]) -> None:
    response = client.post(
        "/test/orders",
        content=b'{"amount": "' + SECRET_LOOKING.encode() + b'"',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    _assert_error_shape(response.json(), "bad_request")
    assert SECRET_LOOKING not in response.text


def test_valid_body_passes_through(client: TestClient[Litestar]) -> None:
    response = client.post("/test/orders", json={"amount": 1234, "currency": "CNY"})
    assert response.status_code == 201
    assert response.json() == {"amount": 1234, "currency": "CNY"}


def test_options_lists_every_method_of_a_shared_path() -> None:
    """GET and POST /v1/orders are two handlers: Allow names both (Litestar alone said POST)."""
    with TestClient(app=create_app()) as client:
        orders = client.options("/v1/orders")
        refunds = client.options("/v1/orders/O1/refunds")
        health = client.options("/healthz")
    assert (orders.status_code, orders.headers["allow"]) == (204, "GET, OPTIONS, POST")
    assert refunds.headers["allow"] == "GET, OPTIONS, POST"
    assert health.headers["allow"] == "GET, OPTIONS"
