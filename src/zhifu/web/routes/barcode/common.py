"""What the barcode routes share: the app's barcode platform, and for the OpenAPI document the
security scheme and the refusals each route may answer.

The platform is ``app.state["barcode"]`` when the app was built with one; otherwise the first
barcode request opens the default one in ``$ZHIFU_HOME/barcode`` (``var/barcode``), its key
files sealed under the LMK (:func:`platform_sealer`).

The one signed-request path every barcode route takes is :mod:`zhifu.web.routes.barcode.signed`.

>>> sorted(COMPONENTS.security_schemes)
['zhifuKeyId', 'zhifuNonce', 'zhifuSignature', 'zhifuTimestamp']
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Final

from litestar.datastructures import State
from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPIHeader,
    OpenAPIType,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec import Parameter as OpenAPIParameter

from zhifu.acquirer.config import ensure_local_lmk
from zhifu.barcode.api.schemas import ErrorOut
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.codec.home import data_home
from zhifu.security.sealing import LmkSealer

REPLAYED_HEADER: Final = "Idempotent-Replayed"

STATE_KEY: Final = "barcode"
_open_lock = threading.Lock()

SIGNATURE_HEADERS: Final = {
    "zhifuKeyId": (
        "Zhifu-Key-Id",
        "the signer's registered key id ([A-Za-z0-9_.:-], 1-64); for a clearing poll, the "
        "12-digit code of the polling bank (docs/clearing.md#signed-polls)",
    ),
    "zhifuTimestamp": ("Zhifu-Timestamp", "Unix time in seconds; within 5 minutes of the server"),
    "zhifuNonce": ("Zhifu-Nonce", "16-64 of [A-Za-z0-9_-], never reused by the signer"),
    "zhifuSignature": (
        "Zhifu-Signature",
        "'SM2-SM3 ' or 'RSA-SHA256 ' + base64 of the signature over 'ZHIFU-SIGN-1\\nMETHOD"
        "\\npath?query\\nkey_id\\ntimestamp\\nnonce\\n' + the body as sent (docs/barcode.md);"
        " a clearing poll signs 'ZHIFU-BEPS-POLL-1\\n...' with the bank's SM2 key "
        "(docs/clearing.md#signed-polls)",
    ),
}
"""The four headers of a signed request, each a security scheme (all four are required)."""

COMPONENTS: Final = Components(
    security_schemes={
        scheme: SecurityScheme(
            type="apiKey", name=header, security_scheme_in="header", description=text
        )
        for scheme, (header, text) in SIGNATURE_HEADERS.items()
    }
)
SECURITY: Final[list[dict[str, list[str]]]] = [{scheme: [] for scheme in SIGNATURE_HEADERS}]
REFUSED_STATUSES: Final = (400, 401, 402, 403, 404, 409, 413, 422)
"""What a refusal may answer: the statuses of zhifu.barcode.api.errors.ERRORS and 413."""

IDEMPOTENCY_KEY: Final = r"^[\x21-\x7e]{1,64}$"
"""The ``Idempotency-Key`` of a POST: 1-64 printable ASCII characters."""

OPENAPI_HEADERS: Final = "openapi_response_headers"
"""The key of a route's ``opt`` naming the headers of its answers for the OpenAPI document
(``{status: {name: Header}}``; :func:`zhifu.web.openapi.document_headers` writes them in)."""
OPENAPI_REQUEST_HEADERS: Final = "openapi_request_headers"
"""The key of a route's ``opt`` naming request headers that the platform reads itself (not
Litestar), for the OpenAPI document (a list of header Parameters)."""

OPENAPI_BODY_OPTIONAL: Final = "openapi_body_optional"
"""The key of a route's ``opt`` saying that its request body may be left out (Litestar
documents every body as required)."""

POST_OPT: Final = {
    OPENAPI_REQUEST_HEADERS: [
        OpenAPIParameter(
            name="Idempotency-Key",
            param_in=ParamType.HEADER,
            required=True,
            schema=Schema(type=OpenAPIType.STRING, pattern=IDEMPOTENCY_KEY),
            description="required on every POST: the same key with the same body replays the "
            "stored answer (Idempotent-Replayed: true); with another body it is refused "
            "(idempotency_key_reused)",
        )
    ],
    OPENAPI_HEADERS: {
        200: {
            REPLAYED_HEADER: OpenAPIHeader(
                schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
                description="'true' when this is the stored answer of an earlier request "
                "with the same Idempotency-Key and body, replayed",
            )
        }
    },
}
"""The ``opt`` of a barcode POST: the ``Idempotency-Key`` it needs, and its 200 answer may
carry ``Idempotent-Replayed: true``."""


def responses(ok: type[Any]) -> dict[int, ResponseSpec]:
    """The answers a barcode route documents: ``ok`` and the refusals."""
    refused = ResponseSpec(ErrorOut, description="refused: see docs/errors.md for each code")
    return {200: ResponseSpec(ok, description="the answer")} | dict.fromkeys(
        REFUSED_STATUSES, refused
    )


def default_home() -> Path:
    return data_home() / "barcode"


def platform_sealer() -> LmkSealer:
    """The sealer of the platform's key files: the LMK of ``ZHIFU_LMK`` / ``ZHIFU_LMK_FILE``,
    else the data folder's local ``lmk.key`` (the acquirer's, created on first use)."""
    return LmkSealer.from_environ(ensure_local_lmk(data_home()))


def system_of(state: State) -> BarcodeSystem:
    """The app's barcode platform, opened at the first request if the app has none."""
    found = state.get(STATE_KEY)
    if found is None:
        with _open_lock:
            found = state.get(STATE_KEY)
            if found is None:
                found = BarcodeSystem.open(default_home(), sealer=platform_sealer())
                found.start()
                state[STATE_KEY] = found
                state[STATE_KEY + "_owned"] = True
    assert isinstance(found, BarcodeSystem)
    site = state.get("site")  # the licences it keeps stop a suspended institution's business
    if site is not None and found.business_check != site.business_check:
        found.business_check = site.business_check
    return found


def close_owned(state: State) -> None:
    """Close the platform the app opened itself (at shutdown)."""
    if state.get(STATE_KEY + "_owned"):
        state[STATE_KEY].close()
        state[STATE_KEY] = None
        state[STATE_KEY + "_owned"] = False
