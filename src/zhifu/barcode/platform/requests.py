"""Signed API requests answered by the platform itself: signature, nonce, ``Idempotency-Key``,
the operation, the stored answer. Plain Python in and out: the web layer hands over a
:class:`SignedRequest` (method, path and query as sent, lower-case headers, the raw body) and
an operation (:mod:`zhifu.barcode.platform.operations`) and sends back the :class:`Reply`
(status, JSON body, replayed or not) as it is.

In order, on the event loop (a worker thread is taken only for the blocking flows of a
:class:`Call` or a :class:`Query`; a :class:`Payment` holds none while it waits):

1. the signature (:meth:`~zhifu.barcode.api.auth.Authenticator.verify_async`: the key, the
   timestamp window, the signature itself beside the loop);
2. for a POST, the ``Idempotency-Key`` header and the body, decoded strictly into the
   operation's Struct (:func:`~zhifu.barcode.api.schemas.decode_strict`); a request refused
   here still uses up its nonce (in a unit of its own), so that it cannot be sent again with
   the header added or the body mended: every request whose signature verified uses up its
   nonce, whatever happens next;
3. one unit of the platform database (:meth:`~zhifu.barcode.platform.db.Database.call`,
   group-committed with the other units of the loop's turn): the nonce, then the key
   (:class:`~zhifu.barcode.platform.guards.Idempotency`: a stored answer is replayed, another
   body with the same key is ``idempotency_key_reused``, a key still running is
   ``idempotency_in_flight``, unless it is a :class:`Payment` whose order is over: its holder
   died, so the key is taken over and the order's outcome answered), then, for a
   :class:`Payment`, the flow's start (order,
   single-use spend of the payment code, payer, limit, payment), a refusal being stored as the
   key's answer in the same unit;
4. the work: a :class:`Payment`'s ledger legs, each awaited on its ledger's group commit, then
   one unit recording the outcome together with the key's answer; a :class:`Call` on a worker
   thread (the flows wait on commits there), which stores the answer itself; a
   :class:`Query` on a worker thread.

Refusals are :class:`~zhifu.barcode.api.errors.BarcodeError`\\ s, answered with their status and
:meth:`~zhifu.barcode.api.errors.BarcodeError.body` (and stored under the key, except those of
steps 1 and 2). A server error releases the key and goes up to the caller: the retry runs
again, and the flows are idempotent underneath (ledger ids derive from the payment ids).

>>> valid_idempotency_key("order-T1-1"), valid_idempotency_key("é"), valid_idempotency_key(None)
(True, False, False)
>>> refused(BarcodeError("nonce_reused")).status
401
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

import msgspec

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.schemas import decode_strict
from zhifu.barcode.api.signing import VerifyingKey
from zhifu.barcode.model import Order
from zhifu.barcode.platform.flows import Started
from zhifu.barcode.platform.guards import Idempotency, IdemState, fingerprint

if TYPE_CHECKING:
    import sqlite3

    from zhifu.barcode.platform.system import BarcodeSystem

IDEMPOTENCY_HEADER: Final = "idempotency-key"
WORKER_THREADS: Final = int(os.environ.get("ZHIFU_BARCODE_THREADS", "32"))
_IDEMPOTENCY_KEY: Final = re.compile(r"[\x21-\x7e]{1,64}")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request as it came: ``path`` is the path and query exactly as sent (the signature
    covers them), ``headers`` have lower-case names, ``body`` is the raw body."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer: the status, the JSON body, and whether it is a stored answer replayed."""

    status: int
    body: bytes
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Payment:
    """A POST whose work is a payment, staged on the event loop: ``start`` runs inside the
    unit of step 3 and answers an :class:`~zhifu.barcode.model.Order` (nothing to post) or the
    :class:`~zhifu.barcode.platform.flows.Started` payment; ``render`` makes the answer."""

    kind: type[Any]
    start: Callable[[BarcodeSystem, VerifyingKey, Any], Order | Started]
    render: Callable[[Order], Any]
    finished: Callable[[BarcodeSystem, Any], bool] = lambda _system, _payload: False
    """Whether the request's payment is over (its order no longer PAYING): a key still held
    for it belongs to a request that died (the process was killed) and is taken over."""


@dataclass(frozen=True, slots=True)
class Call:
    """A POST whose work is a blocking call of the flows (on a worker thread)."""

    kind: type[Any]
    run: Callable[[BarcodeSystem, VerifyingKey, Any], Any]


@dataclass(frozen=True, slots=True)
class Query:
    """A GET (no body, no key), on a worker thread."""

    run: Callable[[BarcodeSystem, VerifyingKey], Any]


Operation = Payment | Call | Query


def valid_idempotency_key(value: str | None) -> bool:
    """1-64 printable ASCII characters."""
    return value is not None and _IDEMPOTENCY_KEY.fullmatch(value) is not None


def refused(exc: BarcodeError) -> Reply:
    """The answer to a refusal."""
    return Reply(exc.status, msgspec.json.encode(exc.body()))


def _ok(content: Any) -> Reply:
    return Reply(200, msgspec.json.encode(content))


class SignedRequests:
    """The platform's service for signed API requests (see the module docstring)."""

    def __init__(self, system: BarcodeSystem, *, threads: int = WORKER_THREADS) -> None:
        self.system = system
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    async def answer(self, request: SignedRequest, operation: Operation) -> Reply:
        """The answer to ``request`` (see the module docstring); a server error is raised."""
        auth = self.system.auth
        try:
            key, nonce, now_us = await auth.verify_async(
                request.method, request.path, request.headers, request.body
            )
        except BarcodeError as exc:
            return refused(exc)
        if not self.system.in_business(key.principal):  # suspended or revoked: stopped at once
            return await self._use_nonce(key, nonce, now_us) or refused(
                BarcodeError("institution_not_in_business")
            )
        if isinstance(operation, Query):
            return await self._query(key, nonce, now_us, operation)
        return await self._post(request, key, nonce, now_us, operation)

    async def _post(
        self,
        request: SignedRequest,
        key: VerifyingKey,
        nonce: str,
        now_us: int,
        operation: Payment | Call,
    ) -> Reply:
        try:
            job = _Post.checked(self.system, request, key, operation)
        except BarcodeError as exc:  # refused before the key: the nonce is used up all the same
            return await self._use_nonce(key, nonce, now_us) or refused(exc)
        step = await self.system.db.call(lambda cur: job.admit(cur, nonce, now_us))
        if isinstance(step, Reply):
            return step
        if isinstance(step, Started):
            return await job.settle(step)
        if isinstance(step, Exception):
            raise step
        return await self._on_thread(job.call)

    async def _use_nonce(self, key: VerifyingKey, nonce: str, now_us: int) -> Reply | None:
        """Claim the nonce in a unit of its own; the refusal when it was used already."""
        nonces = self.system.auth.nonces
        fresh = await self.system.db.call(
            lambda cur: nonces.claim_in(cur, key.key_id, nonce, now_us)
        )
        return None if fresh else refused(BarcodeError("nonce_reused"))

    async def _query(self, key: VerifyingKey, nonce: str, now_us: int, query: Query) -> Reply:
        used = await self._use_nonce(key, nonce, now_us)
        if used is not None:
            return used

        def run() -> Reply:
            try:
                return _ok(query.run(self.system, key))
            except BarcodeError as exc:
                return refused(exc)

        return await self._on_thread(run)

    async def _on_thread(self, work: Callable[[], Reply]) -> Reply:
        """``work`` on a worker thread; it finishes (and stores its answer) even when the
        caller is cancelled meanwhile."""
        future = asyncio.wrap_future(self._executor().submit(work))
        return await asyncio.shield(future)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.threads, "zhifu-barcode-call")
        return self._pool

    def close(self) -> None:
        """Wait for the calls under way, then stop the worker threads."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


class _Post:
    """One authenticated POST: who signed it, its key, its decoded body, its operation."""

    def __init__(  # noqa: PLR0917 - the parts of a checked request
        self,
        system: BarcodeSystem,
        key: VerifyingKey,
        idem_key: str,
        payload: Any,
        operation: Payment | Call,
        print_: bytes,
    ) -> None:
        self.system = system
        self.key = key
        self.scope = key.principal
        self.idem_key = idem_key
        self.payload = payload
        self.operation = operation
        self.print_ = print_
        self.taken_over = False  # the key was held by a request that died

    @classmethod
    def checked(
        cls,
        system: BarcodeSystem,
        request: SignedRequest,
        key: VerifyingKey,
        operation: Payment | Call,
    ) -> _Post:
        """Step 2: the ``Idempotency-Key`` and the body (refusals raised)."""
        idem_key = request.headers.get(IDEMPOTENCY_HEADER)
        if idem_key is None or not valid_idempotency_key(idem_key):
            raise BarcodeError("idempotency_key_missing")
        payload = decode_strict(request.body, operation.kind)
        print_ = fingerprint(request.method, request.path, request.body)
        return cls(system, key, idem_key, payload, operation, print_)

    def admit(
        self, cur: sqlite3.Cursor, nonce: str, now_us: int
    ) -> Reply | Started | Exception | None:
        """Step 3 (a unit): the nonce, the key and, for a payment, the flow's start. A
        :class:`Reply`, the :class:`Started` payment to post, None (a call to run), or the
        server error of the start, returned so that the unit commits the nonce (each step of
        the flow is all or nothing in its own savepoint) with the key let go again."""
        guarded = self._guard(cur, nonce, now_us)
        operation = self.operation
        if guarded is not None or not isinstance(operation, Payment):
            return guarded
        try:
            started = operation.start(self.system, self.key, self.payload)
        except BarcodeError as exc:
            return replace(self._store(cur, refused(exc)), replayed=self.taken_over)
        except Exception as exc:  # a bug: raised by the caller once the nonce is committed
            Idempotency.release_in(cur, self.scope, self.idem_key)
            return exc
        if isinstance(started, Order):
            reply = self._store(cur, _ok(operation.render(started)))
            return replace(reply, replayed=self.taken_over)  # the earlier request's outcome
        return started

    def _guard(self, cur: sqlite3.Cursor, nonce: str, now_us: int) -> Reply | None:
        """The nonce, then the key: the answer when it is not a new request."""
        system = self.system
        if not system.auth.nonces.claim_in(cur, self.key.key_id, nonce, now_us):
            return refused(BarcodeError("nonce_reused"))
        found = system.idempotency.begin_in(cur, self.scope, self.idem_key, self.print_)
        if found.state is IdemState.REPLAY:
            assert found.status is not None and found.body is not None
            return Reply(found.status, found.body, replayed=True)
        if found.state is IdemState.MISMATCH:
            return refused(BarcodeError("idempotency_key_reused"))
        if found.state is IdemState.IN_FLIGHT:
            operation = self.operation
            if isinstance(operation, Payment) and operation.finished(system, self.payload):
                system.idempotency.take_over_in(cur, self.scope, self.idem_key)
                self.taken_over = True
                return None
            return refused(BarcodeError("idempotency_in_flight"))
        return None

    def _store(self, cur: sqlite3.Cursor, reply: Reply) -> Reply:
        """The answer, stored under the key in the caller's transaction."""
        Idempotency.complete_in(cur, self.scope, self.idem_key, reply.status, reply.body)
        return reply

    def _finish(self, cur: sqlite3.Cursor, started: Started, posted: Any) -> Reply:
        """A payment's last unit: the outcome and the stored answer."""
        assert isinstance(self.operation, Payment)
        try:
            order = self.system.flows.finish(started, posted)
        except BarcodeError as exc:
            return self._store(cur, refused(exc))
        return self._store(cur, _ok(self.operation.render(order)))

    async def settle(self, started: Started) -> Reply:
        """A payment's legs, then its last unit; on a server error the key is released (before
        the error is answered, so that the retry runs again) and the error goes on."""
        system = self.system

        def release(cur: sqlite3.Cursor) -> None:
            Idempotency.release_in(cur, self.scope, self.idem_key)

        try:
            posted = await system.switch.post_async(started.legs())
            reply = await system.db.call(lambda cur: self._finish(cur, started, posted))
        except Exception:
            await system.db.call(release)
            raise
        except BaseException:  # cancelled: nothing may be awaited any more
            system.db.submit(release)
            raise
        if started.merchant.notify_url:  # an event was written: deliver it now
            system.flows.on_event()
        return reply

    def call(self) -> Reply:
        """A call's work, on a worker thread: the operation, then its stored answer; on a
        server error the key is released and the error goes on."""
        assert isinstance(self.operation, Call)
        idempotency = self.system.idempotency
        try:
            reply = _ok(self.operation.run(self.system, self.key, self.payload))
        except BarcodeError as exc:
            reply = refused(exc)
        except BaseException:
            idempotency.release(self.scope, self.idem_key)
            raise
        idempotency.complete(self.scope, self.idem_key, reply.status, reply.body)
        return reply
