"""The served app (zhifu.web.fastpath): the micropay fast path answers exactly as the Litestar
route does, and everything else still goes through Litestar."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.web.app import create_app
from zhifu.web.fastpath import FastPaths, create_asgi


@pytest.fixture
def system() -> Iterator[BarcodeSystem]:
    found = BarcodeSystem.open()
    yield found
    found.close()


def _post(app: Any, path: str, body: bytes) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zhifu") as client:
            return await client.post(path, content=body)

    return asyncio.run(go())


def _both(system: BarcodeSystem) -> tuple[FastPaths, Any]:
    return create_asgi(barcode=system), create_app(barcode=system)


def test_unsigned_requests_get_the_same_refusal(system: BarcodeSystem) -> None:
    fast, framework = (_post(app, "/v1/micropay", b"{}") for app in _both(system))
    assert fast.status_code == framework.status_code == 401
    assert fast.json() == framework.json()
    assert fast.json()["error"]["code"] == "signature_missing"
    assert fast.headers["content-type"] == framework.headers["content-type"]


def test_a_body_over_the_limit_is_413_on_both(system: BarcodeSystem) -> None:
    big = b"{" + b" " * 70_000 + b"}"
    fast, framework = (_post(app, "/v1/micropay", big) for app in _both(system))
    assert fast.status_code == framework.status_code == 413
    assert fast.json()["error"]["code"] == framework.json()["error"]["code"]
    assert fast.json()["error"]["code"] == "request_entity_too_large"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_bug_is_a_bare_500_on_both(
    system: BarcodeSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any) -> Any:
        raise RuntimeError("secret detail 4111111111111111")

    monkeypatch.setattr(system.auth, "verify_async", broken)
    records = _Records()
    logging.getLogger("zhifu.web").addHandler(records)
    try:
        fast, framework = (_post(app, "/v1/micropay", b"{}") for app in _both(system))
    finally:
        logging.getLogger("zhifu.web").removeHandler(records)
    assert fast.status_code == framework.status_code == 500
    assert fast.json() == framework.json()
    assert "4111111111111111" not in fast.text
    logged = [r for r in records.records if r.exc_info and "secret detail" in str(r.exc_info[1])]
    assert len(logged) == 2  # the server log has it, once per app


def test_other_routes_go_through_litestar(system: BarcodeSystem) -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_asgi(barcode=system))
        async with httpx.AsyncClient(transport=transport, base_url="http://zhifu") as client:
            return await client.get("/healthz")

    answer = asyncio.run(go())
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    other = _post(create_asgi(barcode=system), "/v1/orders", b"{}")
    assert other.json()["error"]["code"] == "signature_missing"  # the Litestar route's answer
    wrong_method = asyncio.run(_get(create_asgi(barcode=system), "/v1/micropay"))
    assert wrong_method.status_code == 405


async def _get(app: Any, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zhifu") as client:
        return await client.get(path)


def test_the_hot_path_answer_is_the_documented_struct(system: BarcodeSystem) -> None:
    from datetime import datetime  # noqa: PLC0415

    import msgspec  # noqa: PLC0415

    from zhifu.barcode.api.schemas import OrderOut, out  # noqa: PLC0415
    from zhifu.barcode.model import Direction, Order  # noqa: PLC0415
    from zhifu.barcode.platform.operations import MICROPAY  # noqa: PLC0415
    from zhifu.barcode.platform.orders import OrderStatus  # noqa: PLC0415
    from zhifu.barcode.platform.views import order_dict  # noqa: PLC0415
    from zhifu.core.clock import SHANGHAI  # noqa: PLC0415

    when = datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)
    orders = [
        Order("O1", "zhifu", "M1", "T1", Direction.MICROPAY, 1234, "面条", OrderStatus.PAID, when),
        Order(
            "O2",
            "huanyu",
            "M2",
            "T2",
            Direction.DYNAMIC,
            5,
            "",
            OrderStatus.CREATED,
            when,
            expires_at=when,
            code_token="7K3M9Q2X8P4R",
            terminal_id="BOX00001",
        ),
    ]
    for order in orders:
        documented = msgspec.json.encode(out(OrderOut, order_dict(order)))
        assert msgspec.json.encode(MICROPAY.render(order)) == documented
