"""Signed, idempotent payment POSTs on the event loop, in three group-committed steps.

:func:`staged_post` answers the same as :func:`~zhifu.web.routes.barcode.common.signed_post`
(same checks, same refusals, same stored answers) for the routes whose work is a payment:
``POST /v1/micropay``. Instead of holding a worker thread through five database transactions
and a ledger sync, it runs on the event loop in three steps, none of which holds a thread:

1. one unit of the platform database (applied on the loop's thread with the other units of
   the same turn, :meth:`~zhifu.barcode.platform.db.Database.call`): the nonce, the
   ``Idempotency-Key``, and the flow's start
   (order, single-use spend of the payment code, payer, limit reserved, payment recorded;
   :meth:`~zhifu.barcode.platform.flows.Flows.start_micropay`), each of the flow's steps in its own
   nested savepoint as before; a refusal is stored as the key's answer in the same unit;
2. the payment's ledger legs, each awaited on its ledger's group commit
   (:meth:`~zhifu.barcode.switch.Switch.post_async`);
3. one unit recording the outcome (PAID with obligation and notification event, or the
   decline) together with the key's stored answer.

Group commit then shares each transaction and each sync among every request in flight. A
server error (or a cancelled task) after step 1 releases the key, as before: the merchant's
retry of the same ``out_trade_no`` finishes the recorded payment
(:meth:`~zhifu.barcode.platform.flows.Flows.start_micropay`), and so does the platform's sweeper
when nobody retries (:meth:`~zhifu.barcode.platform.system.BarcodeSystem.start`); the legs are
idempotent.

>>> answer(402, {"error": {"code": "limit_exceeded"}})
(402, b'{"error":{"code":"limit_exceeded"}}')
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import msgspec
from litestar import Request, Response

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.signing import VerifyingKey
from zhifu.barcode.model import Order
from zhifu.barcode.platform.db import Database
from zhifu.barcode.platform.flows import Started
from zhifu.barcode.platform.guards import Idempotency, IdemState, fingerprint
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.web.errors import error_body
from zhifu.web.routes.barcode.common import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    json_answer,
    raw_path,
    read_body,
    system_of,
    valid_idempotency_key,
)
from zhifu.web.routes.barcode.schemas import BodyError, decode_strict

T = TypeVar("T")
Answer = tuple[int, bytes]
StartAction = Callable[[BarcodeSystem, VerifyingKey, Any], Order | Started]
Render = Callable[[Order], Any]
_REPLAYED: Final = {REPLAYED_HEADER: "true"}


def answer(status: int, content: Any) -> Answer:
    """A status and its JSON body."""
    return status, msgspec.json.encode(content)


def _refused(exc: BarcodeError) -> Answer:
    return answer(exc.status, error_body(exc.code, exc.message))


async def _unit(db: Database, unit: Callable[[sqlite3.Cursor], T]) -> T:
    """Run ``unit`` in the writer's next group; resume once that group has committed."""
    return await db.call(unit)


class _Request:
    """One checked request: who signed it, its key, its body, and what to run."""

    def __init__(  # noqa: PLR0917 - the parts of a checked request
        self,
        system: BarcodeSystem,
        key: VerifyingKey,
        idem_key: str,
        payload: Any,
        start: StartAction,
        render: Render,
    ) -> None:
        self.system = system
        self.key = key
        self.scope = key.principal
        self.idem_key = idem_key
        self.payload = payload
        self.start = start
        self.render = render

    def store(self, cur: sqlite3.Cursor, status: int, content: Any) -> Answer:
        """The answer, stored under the key in the caller's transaction."""
        result = answer(status, content)
        Idempotency.complete_in(cur, self.scope, self.idem_key, *result)
        return result

    def begin(self, cur: sqlite3.Cursor, nonce: str, now_us: int, print_: bytes) -> Any:
        """Step 1 (a unit): nonce, key, the flow's start. An :class:`Answer` with the
        replayed flag, or the :class:`Started` payment to post."""
        system = self.system
        if not system.auth.nonces.claim_in(cur, self.key.key_id, nonce, now_us):
            return _refused(BarcodeError("nonce_reused")), False
        found = system.idempotency.begin_in(cur, self.scope, self.idem_key, print_)
        if found.state is IdemState.REPLAY:
            assert found.status is not None and found.body is not None
            return (found.status, found.body), True
        if found.state is not IdemState.NEW:
            code = "idempotency_key_reused" if found.state is IdemState.MISMATCH else ""
            return _refused(BarcodeError(code or "idempotency_in_flight")), False
        try:
            started = self.start(system, self.key, self.payload)
        except BarcodeError as exc:
            return self.store(cur, exc.status, error_body(exc.code, exc.message)), False
        if isinstance(started, Order):
            return self.store(cur, 200, self.render(started)), False
        return started

    def finish(self, cur: sqlite3.Cursor, started: Started, posted: Any) -> Answer:
        """Step 3 (a unit): the outcome and the stored answer."""
        try:
            order = self.system.flows.finish(started, posted)
        except BarcodeError as exc:
            return self.store(cur, exc.status, error_body(exc.code, exc.message))
        return self.store(cur, 200, self.render(order))

    async def settle(self, started: Started) -> Answer:
        """Steps 2 and 3; on a server error the key is released and the error goes on."""
        system = self.system
        try:
            posted = await system.switch.post_async(started.legs())
            result = await _unit(system.db, lambda cur: self.finish(cur, started, posted))
        except BaseException:
            system.db.submit(lambda cur: Idempotency.release_in(cur, self.scope, self.idem_key))
            raise
        if started.merchant.notify_url:  # an event was written: deliver it now
            system.flows.on_event()
        return result


@dataclass(frozen=True, slots=True)
class StagedRoute:
    """What a staged payment route is made of: its body Struct, its start, its answer."""

    kind: type[Any]
    start: StartAction
    render: Render


async def staged_answer(
    system: BarcodeSystem, path: str, headers: Mapping[str, str], body: bytes, route: StagedRoute
) -> tuple[int, bytes, bool]:
    """The answer to a signed, idempotent payment POST: (status, JSON body, replayed).

    ``path`` is the path and query as sent, ``headers`` are lower-case. Framework-free: the
    Litestar route (:func:`staged_post`) and the served fast path (:mod:`zhifu.web.fastpath`)
    both answer with it.
    """
    try:
        key, nonce, now_us = await system.auth.verify_async("POST", path, headers, body)
    except BarcodeError as exc:
        return (*_refused(exc), False)
    idem_key = headers.get(IDEMPOTENCY_HEADER)
    if idem_key is None or not valid_idempotency_key(idem_key):
        return (*_refused(BarcodeError("idempotency_key_missing")), False)
    try:
        payload = decode_strict(body, route.kind)
    except BodyError as exc:
        return (*answer(400, error_body("validation_error", str(exc))), False)
    job = _Request(system, key, idem_key, payload, route.start, route.render)
    print_ = fingerprint("POST", path, body)
    step = await _unit(system.db, lambda cur: job.begin(cur, nonce, now_us, print_))
    if isinstance(step, Started):
        return (*await job.settle(step), False)
    (status, data), replayed = step
    return status, data, replayed


async def staged_post(request: Request[Any, Any, Any], route: StagedRoute) -> Response[bytes]:
    """Run a signed, idempotent payment POST through Litestar (see the module docstring)."""
    body = await read_body(request)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
    system = system_of(request.app.state)
    status, data, replayed = await staged_answer(system, raw_path(request), headers, body, route)
    return json_answer(status, data, _REPLAYED if replayed else None)
