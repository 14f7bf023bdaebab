"""The plumbing every barcode route shares: the platform object, signed requests, idempotency.

A barcode route reads the raw body, then in a worker thread (the flows block on the ledgers'
group commit): authenticates the signature over the raw path and body
(:class:`~zhifu.barcode.api.auth.Authenticator`), for a POST requires an ``Idempotency-Key`` and
looks it up (:class:`~zhifu.barcode.platform.guards.Idempotency`), decodes the body strictly, runs
the flow, and stores the answer under the key. A replayed answer carries ``Idempotent-Replayed:
true``. Refusals are ``{"error": {code, message, doc_url}}`` with the status of
:data:`zhifu.barcode.api.errors.ERRORS`.

The platform is ``app.state["barcode"]`` when the app was built with one; otherwise the first
barcode request opens the default one in ``$ZHIFU_HOME/barcode`` (``var/barcode``).

>>> valid_idempotency_key("order-T1-1"), valid_idempotency_key("é"), valid_idempotency_key(None)
(True, False, False)
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final, TypeVar

import anyio
import anyio.to_thread
import msgspec
from litestar import MediaType, Request, Response
from litestar.datastructures import State
from litestar.exceptions import ClientException, HTTPException
from litestar.openapi.spec import Components, SecurityScheme

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.signing import VerifyingKey
from zhifu.barcode.platform.guards import IdemAnswer, IdemState, fingerprint
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.codec.home import data_home
from zhifu.web.errors import error_body
from zhifu.web.routes.barcode.schemas import BodyError, decode_strict

T = TypeVar("T")
STATE_KEY: Final = "barcode"
IDEMPOTENCY_HEADER: Final = "idempotency-key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
_IDEMPOTENCY_KEY: Final = re.compile(r"[\x21-\x7e]{1,64}")
_open_lock = threading.Lock()
BODY_MAX: Final = 64 * 1024  # the API's bodies are a few hundred bytes

COMPONENTS: Final = Components(
    security_schemes={
        "zhifuSignature": SecurityScheme(
            type="apiKey",
            name="Zhifu-Signature",
            security_scheme_in="header",
            description=(
                "SM2-SM3 or RSA-SHA256 signature with Zhifu-Key-Id, Zhifu-Timestamp and "
                "Zhifu-Nonce over 'ZHIFU-SIGN-1\\nMETHOD\\npath?query\\nkey_id\\ntimestamp"
                "\\nnonce\\n' + body (docs/barcode.md). POSTs also need Idempotency-Key."
            ),
        )
    }
)
SECURITY: Final[list[dict[str, list[str]]]] = [{"zhifuSignature": []}]

PostAction = Callable[[BarcodeSystem, VerifyingKey, Any], tuple[int, Any]]
GetAction = Callable[[BarcodeSystem, VerifyingKey], tuple[int, Any]]


WORKER_THREADS: Final = int(os.environ.get("ZHIFU_BARCODE_THREADS", "32"))
_limiters: dict[int, anyio.CapacityLimiter] = {}


def _limiter() -> anyio.CapacityLimiter:
    """The worker threads the barcode routes may use at once (per event loop)."""
    import asyncio  # noqa: PLC0415

    loop = id(asyncio.get_running_loop())
    found = _limiters.get(loop)
    if found is None:
        found = _limiters[loop] = anyio.CapacityLimiter(WORKER_THREADS)
    return found


def default_home() -> Path:
    return data_home() / "barcode"


def system_of(state: State) -> BarcodeSystem:
    """The app's barcode platform, opened at the first request if the app has none."""
    found = state.get(STATE_KEY)
    if found is None:
        with _open_lock:
            found = state.get(STATE_KEY)
            if found is None:
                found = BarcodeSystem.open(default_home())
                found.start()
                state[STATE_KEY] = found
                state[STATE_KEY + "_owned"] = True
    assert isinstance(found, BarcodeSystem)
    return found


def close_owned(state: State) -> None:
    """Close the platform the app opened itself (at shutdown)."""
    if state.get(STATE_KEY + "_owned"):
        state[STATE_KEY].close()
        state[STATE_KEY] = None
        state[STATE_KEY + "_owned"] = False


def raw_path(request: Request[Any, Any, Any]) -> str:
    """The path and query exactly as the client sent them (what the signature covers)."""
    return scope_path(request.scope)


def scope_path(scope: Mapping[str, Any]) -> str:
    """:func:`raw_path` of an ASGI scope."""
    path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string", b"")
    text = bytes(path).decode("latin-1")
    return text + ("?" + query.decode("latin-1") if query else "")


class BodyTooLargeError(Exception):
    """The body is over :data:`BODY_MAX` bytes."""


class ClientGoneError(Exception):
    """The client left before sending the whole body."""


async def read_asgi_body(receive: Callable[[], Awaitable[Mapping[str, Any]]]) -> bytes:
    """The raw body from an ASGI ``receive`` channel (the bytes the signature covers)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGoneError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > BODY_MAX:
            raise BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def read_body(request: Request[Any, Any, Any]) -> bytes:
    """:func:`read_asgi_body` for a Litestar request; over :data:`BODY_MAX` bytes it is
    refused with 413 ``request_entity_too_large``."""
    try:
        return await read_asgi_body(request.receive)
    except BodyTooLargeError:
        too_large = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        raise HTTPException(f"the body is over {BODY_MAX} bytes", status_code=too_large) from None
    except ClientGoneError:
        raise ClientException("the client left before sending the whole body") from None


def valid_idempotency_key(value: str | None) -> bool:
    return value is not None and _IDEMPOTENCY_KEY.fullmatch(value) is not None


def json_answer(
    status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> Response[bytes]:
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def error_answer(code: str, message: str, status: int) -> Response[bytes]:
    return json_answer(status, msgspec.json.encode(error_body(code, message)))


def refusal(exc: BarcodeError) -> Response[bytes]:
    return error_answer(exc.code, exc.message, exc.status)


def merchant_of(key: VerifyingKey, merchant_id: str | None = None) -> str:
    """The merchant a key speaks for (and must match ``merchant_id`` when given)."""
    kind, _, who = key.principal.partition(":")
    if kind != "merchant" or (merchant_id is not None and merchant_id != who):
        raise BarcodeError("principal_mismatch")
    return who


def institution_of(key: VerifyingKey) -> str:
    kind, _, who = key.principal.partition(":")
    if kind != "institution":
        raise BarcodeError("principal_mismatch")
    return who


def _headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


async def signed_post(
    request: Request[Any, Any, Any], kind: type[T], action: PostAction
) -> Response[bytes]:
    """Run a signed, idempotent POST (see the module docstring)."""
    body = await read_body(request)
    work = functools.partial(
        _post,
        system_of(request.app.state),
        raw_path(request),
        _headers(request),
        body,
        kind,
        action,
    )
    return await anyio.to_thread.run_sync(work, limiter=_limiter())


def _post(  # noqa: PLR0917, PLR0911 - one step per check, each with its answer
    system: BarcodeSystem,
    path: str,
    headers: dict[str, str],
    body: bytes,
    kind: type[Any],
    action: PostAction,
) -> Response[bytes]:
    try:
        key, nonce, now_us = system.auth.verify("POST", path, headers, body)
    except BarcodeError as exc:
        return refusal(exc)
    idem_key = headers.get(IDEMPOTENCY_HEADER)
    if idem_key is None or not valid_idempotency_key(idem_key):
        return refusal(BarcodeError("idempotency_key_missing"))
    try:
        payload = decode_strict(body, kind)
    except BodyError as exc:
        return error_answer("validation_error", str(exc), 400)
    scope = key.principal
    print_ = fingerprint("POST", path, body)

    def claim(cur: sqlite3.Cursor) -> IdemAnswer | None:  # nonce and key: one transaction
        if not system.auth.nonces.claim_in(cur, key.key_id, nonce, now_us):
            return None
        return system.idempotency.begin_in(cur, scope, idem_key, print_)

    answer = system.db.run(claim)
    if answer is None:
        return refusal(BarcodeError("nonce_reused"))
    if answer.state is IdemState.REPLAY:
        assert answer.status is not None and answer.body is not None
        return json_answer(answer.status, answer.body, {REPLAYED_HEADER: "true"})
    if answer.state is IdemState.MISMATCH:
        return refusal(BarcodeError("idempotency_key_reused"))
    if answer.state is IdemState.IN_FLIGHT:
        return refusal(BarcodeError("idempotency_in_flight"))
    try:
        status, content = action(system, key, payload)
        data = msgspec.json.encode(content)
    except BarcodeError as exc:
        status, data = exc.status, msgspec.json.encode(error_body(exc.code, exc.message))
    except BaseException:
        system.idempotency.release(scope, idem_key)
        raise
    system.idempotency.complete(scope, idem_key, status, data)
    return json_answer(status, data)


async def signed_get(request: Request[Any, Any, Any], action: GetAction) -> Response[bytes]:
    """Run a signed GET (empty body; no idempotency key needed)."""
    body = await read_body(request)
    work = functools.partial(
        _get, system_of(request.app.state), raw_path(request), _headers(request), body, action
    )
    return await anyio.to_thread.run_sync(work, limiter=_limiter())


def _get(
    system: BarcodeSystem, path: str, headers: dict[str, str], body: bytes, action: GetAction
) -> Response[bytes]:
    try:
        key = system.auth.authenticate("GET", path, headers, body)
        status, content = action(system, key)
    except BarcodeError as exc:
        return refusal(exc)
    return json_answer(status, msgspec.json.encode(content))
