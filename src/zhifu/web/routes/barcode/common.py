"""What the barcode routes share: the app's barcode platform, and for the OpenAPI document the
security scheme and the refusals each route may answer.

The platform is ``app.state["barcode"]`` when the app was built with one; otherwise the first
barcode request opens the default one in ``$ZHIFU_HOME/barcode`` (``var/barcode``), its key
files sealed under the LMK (:func:`platform_sealer`).

The one signed-request path every barcode route takes is :mod:`zhifu.web.routes.barcode.signed`.

>>> sorted(COMPONENTS.security_schemes)
['zhifuSignature']
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Final

from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme

from zhifu.acquirer.config import ensure_local_lmk
from zhifu.barcode.api.schemas import ErrorOut
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.codec.home import data_home
from zhifu.security.sealing import LmkSealer

STATE_KEY: Final = "barcode"
_open_lock = threading.Lock()

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
REFUSED_STATUSES: Final = (400, 401, 402, 403, 404, 409, 422)


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
    return found


def close_owned(state: State) -> None:
    """Close the platform the app opened itself (at shutdown)."""
    if state.get(STATE_KEY + "_owned"):
        state[STATE_KEY].close()
        state[STATE_KEY] = None
        state[STATE_KEY + "_owned"] = False
