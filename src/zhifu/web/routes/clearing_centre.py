"""The clearing centres' HTTP endpoints (BEPS message transport, XML bodies).

Mounted by :func:`zhifu.web.app.create_app` when it is given a
:class:`~zhifu.clearing.transport.ClearingCentre` (kept in ``app.state``):

* ``POST /clearing/messages``: a signed CNAPS2-like message (``application/xml``); the answer
  is always 200 with the centre's signed ``ccms.900`` confirmation (a refusal is ``PR09``
  with its reason code inside, never an HTTP error);
* ``GET /clearing/inbox/{bank}?after=N``: the first message addressed to ``bank`` with a
  sequence number above ``N``, its number in the ``X-Seq`` header; 204 when there is none;
* ``GET /clearing/reconciliation/{bank}?date=YYYY-MM-DD``: the signed ``beps.721`` summary;
* ``GET /clearing/status``: the centres' clock, open round and rounds by state (JSON, no
  bank's data).

The two polls of a bank are signed by that bank (:mod:`zhifu.clearing.polls`): a poll that is
not is refused with 401 (or 403 when another bank signed it) and a JSON error body whose code
``docs/clearing.md#signed-polls`` explains; a refused poll changes nothing. A centre whose
event log failed answers 503 (``centre_stopped``) until it is restarted.

>>> for path in sorted(path for r in ROUTES for path in r.paths):
...     print(path)
/clearing/inbox/{bank:str}
/clearing/messages
/clearing/reconciliation/{bank:str}
/clearing/status
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final

from litestar import MediaType, Request, Response, get, post
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIHeader, OpenAPIType, Schema
from litestar.params import Body, PathParameter, QueryParameter

from zhifu.barcode.api.schemas import ErrorOut
from zhifu.clearing.model import check_bank_code
from zhifu.clearing.polls import PollAuthError
from zhifu.clearing.transport import CentreStoppedError, ClearingCentre
from zhifu.web.routes.barcode.common import OPENAPI_BODY_OPTIONAL, OPENAPI_HEADERS, SECURITY
from zhifu.web.routes.barcode.signed import scope_path  # the path and query as sent

STATE_KEY: Final = "clearing_centre"
XML: Final = "application/xml"
POLLS_DOC: Final = "docs/clearing.md#signed-polls"
STOPPED_DOC: Final = "docs/clearing.md#state-and-restarts"
BANK_PATTERN: Final = r"^[0-9]{12}$"
"""A CNAPS bank code: 12 ASCII digits (as :func:`zhifu.clearing.model.check_bank_code`)."""
TAGS: Final = ["clearing"]

Bank = Annotated[
    str,
    PathParameter(
        pattern=BANK_PATTERN,
        description="the 12-digit CNAPS code of the bank that polls (and signs the poll)",
        examples=[Example(value="102100099996")],
    ),
]


def _refusal(text: str) -> ResponseSpec:
    return ResponseSpec(ErrorOut, description=text, generate_examples=False)


def _xml(text: str) -> ResponseSpec:
    return ResponseSpec(bytes, description=text, media_type=XML, generate_examples=False)


BAD_REQUEST: Final = _refusal("a parameter is not of its form (validation_error)")
POLL_REFUSED: Final = {
    401: _refusal("the poll is not signed, or not validly (docs/clearing.md#signed-polls)"),
    403: _refusal("another bank signed the poll (bank_mismatch)"),
}
STOPPED: Final = _refusal("the centre stopped: its event log failed (centre_stopped)")
X_SEQ: Final = {
    OPENAPI_HEADERS: {
        200: {
            "X-Seq": OpenAPIHeader(
                schema=Schema(type=OpenAPIType.STRING, pattern=r"^[0-9]+$"),
                required=True,
                description="the sequence number of the message (poll with after=X-Seq next)",
            )
        }
    }
}


def _doc_message(
    data: Annotated[
        Any,
        Body(
            media_type=XML,
            description="a signed CNAPS2-like message; anything else (an empty body too) is "
            "answered 200 with a PR09 confirmation, never an HTTP error",
        ),
    ] = None,
) -> None:
    """Documents the body only (never called): the centre reads the raw bytes it checks."""


def _centre(request: Request[Any, Any, Any]) -> ClearingCentre:
    centre = request.app.state.get(STATE_KEY)
    if not isinstance(centre, ClearingCentre):
        raise HTTPException(status_code=503, detail="no clearing centre runs here")
    return centre


def _error(code: str, message: str, status: int, doc: str) -> Response[Any]:
    body = {"error": {"code": code, "message": message, "doc_url": doc}}
    return Response(body, status_code=status, media_type=MediaType.JSON)


def _refused(exc: PollAuthError | CentreStoppedError) -> Response[Any]:
    if isinstance(exc, PollAuthError):
        return _error(exc.code, exc.detail, exc.status, POLLS_DOC)
    return _error("centre_stopped", "the centre stopped: its event log failed", 503, STOPPED_DOC)


@post(
    "/clearing/messages",
    tags=TAGS,
    summary="Send a BEPS message",
    status_code=200,
    opt={OPENAPI_BODY_OPTIONAL: True},
    dependencies={"body_schema": Provide(_doc_message, sync_to_thread=False)},
    responses={
        200: _xml("the signed ccms.900 confirmation (a refusal is PR09 inside)"),
        400: BAD_REQUEST,
        503: STOPPED,
    },
)
async def receive_message(request: Request[Any, Any, Any]) -> Response[Any]:
    """Check and process one signed message; answer the signed ccms.900 confirmation."""
    body = await request.body()
    try:
        return Response(_centre(request).receive(body), media_type=XML)
    except CentreStoppedError as exc:
        return _refused(exc)


@get(
    "/clearing/inbox/{bank:str}",
    tags=TAGS,
    summary="Poll messages for a bank",
    security=SECURITY,
    opt=X_SEQ,
    responses={
        200: _xml("the next message addressed to the bank, signed by its sender"),
        204: ResponseSpec(None, description="no message after that sequence number"),
        400: BAD_REQUEST,
        **POLL_REFUSED,
        503: STOPPED,
    },
)
async def inbox(
    request: Request[Any, Any, Any],
    bank: Bank,
    after: Annotated[int, QueryParameter(ge=0)] = 0,
) -> Response[Any]:
    """The next forwarded item or receipt addressed to the bank (204 when none); signed by it."""
    check_bank_code(bank, "bank")
    centre = _centre(request)
    try:
        centre.authorize("GET", scope_path(request.scope), bank, request.headers)
        found = centre.fetch(bank, after)
    except (PollAuthError, CentreStoppedError) as exc:
        return _refused(exc)
    if not found:
        return Response(b"", status_code=204)
    seq, data = found[0]
    return Response(data, media_type=XML, headers={"X-Seq": str(seq)})


@get(
    "/clearing/reconciliation/{bank:str}",
    tags=TAGS,
    summary="Day-end summary",
    security=SECURITY,
    responses={
        200: _xml("the bank's signed beps.721 summary"),
        400: BAD_REQUEST,
        **POLL_REFUSED,
        503: STOPPED,
    },
)
async def reconciliation(
    request: Request[Any, Any, Any],
    bank: Bank,
    day: Annotated[date, QueryParameter(name="date")],
) -> Response[Any]:
    """The bank's beps.721 summary of a BEPS date; signed by the bank."""
    check_bank_code(bank, "bank")
    centre = _centre(request)
    try:
        centre.authorize("GET", scope_path(request.scope), bank, request.headers)
        return Response(centre.reconciliation(bank, day), media_type=XML)
    except (PollAuthError, CentreStoppedError) as exc:
        return _refused(exc)


@get(
    "/clearing/status",
    tags=TAGS,
    summary="The centres' clock and rounds",
    responses={503: STOPPED},
)
async def status(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The engine's clock, its open round and the rounds by state."""
    try:
        return Response(_centre(request).status(), media_type=MediaType.JSON)
    except CentreStoppedError as exc:
        return _refused(exc)


ROUTES = [receive_message, inbox, reconciliation, status]
