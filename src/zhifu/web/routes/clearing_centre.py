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
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter

from zhifu.barcode.api.schemas import ErrorOut
from zhifu.clearing.model import check_bank_code
from zhifu.clearing.polls import PollAuthError
from zhifu.clearing.transport import CentreStoppedError, ClearingCentre
from zhifu.web.routes.barcode.signed import scope_path  # the path and query as sent

STATE_KEY: Final = "clearing_centre"
XML: Final = "application/xml"
POLLS_DOC: Final = "docs/clearing.md#signed-polls"
BankCode = Annotated[
    str, PathParameter(pattern=r"^[0-9]{12}$", description="the bank's 12-digit CNAPS code")
]
"""A bank code in the path: the OpenAPI document gives the pattern the server enforces."""
_XML_DOC = ResponseSpec(str, description="a signed CNAPS2-like XML message", media_type=XML)
_REFUSED = ResponseSpec(ErrorOut, description="refused: see docs/clearing.md, Signed polls")


def _answers(ok: ResponseSpec, *refusals: int, **more: ResponseSpec) -> dict[int, ResponseSpec]:
    """The answers a clearing route documents: ``ok`` (XML), its refusals, the centre stopped."""
    extra = {int(status.removeprefix("s")): spec for status, spec in more.items()}
    return {200: ok, **dict.fromkeys((*refusals, 503), _REFUSED), **extra}


STOPPED_DOC: Final = "docs/clearing.md#state-and-restarts"


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
    tags=["clearing"],
    summary="Send a BEPS message",
    status_code=200,
    responses=_answers(_XML_DOC),
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
    tags=["clearing"],
    summary="Poll messages for a bank",
    responses=_answers(_XML_DOC, 400, 401, 403, s204=ResponseSpec(None, description="no message")),
)
async def inbox(
    request: Request[Any, Any, Any],
    bank: BankCode,
    after: Annotated[int, QueryParameter(ge=0)] = 0,
) -> Response[Any]:
    """The next forwarded item or receipt addressed to the bank (204 when none); signed by it."""
    check_bank_code(bank, "bank")
    centre = _centre(request)
    try:
        centre.authorize("GET", scope_path(request.scope), bank, request.headers)
    except PollAuthError as exc:
        return _refused(exc)
    found = centre.fetch(bank, after)
    if not found:
        return Response(b"", status_code=204)
    seq, data = found[0]
    return Response(data, media_type=XML, headers={"X-Seq": str(seq)})


@get(
    "/clearing/reconciliation/{bank:str}",
    tags=["clearing"],
    summary="Day-end summary",
    responses=_answers(_XML_DOC, 400, 401, 403),
)
async def reconciliation(
    request: Request[Any, Any, Any],
    bank: BankCode,
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


@get("/clearing/status", tags=["clearing"], summary="The centres' clock and rounds")
async def status(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The engine's clock, its open round and the rounds by state."""
    return _centre(request).status()


ROUTES = [receive_message, inbox, reconciliation, status]
