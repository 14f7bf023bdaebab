"""``GET /healthz``: liveness probe, with the version that is running.

>>> health_status()
Health(status='ok', version='0.1.0')
"""

from __future__ import annotations

import msgspec
from litestar import get

import zhifu


class Health(msgspec.Struct, frozen=True):
    """Body of ``GET /healthz``."""

    status: str
    version: str


def health_status() -> Health:
    """The process is up and serving requests."""
    return Health(status="ok", version=zhifu.__version__)


@get("/healthz", tags=["ops"], summary="Liveness probe", sync_to_thread=False)
def healthz() -> Health:
    """Answer 200 with `{"status": "ok", "version": ...}` while the process serves."""
    return health_status()


ROUTES = [healthz]
