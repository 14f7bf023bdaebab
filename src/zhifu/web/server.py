"""Run the web app under uvicorn (``zhifu serve`` calls :func:`serve`).

>>> config = make_config(port=8080)
>>> config.host, config.port
('127.0.0.1', 8080)
>>> make_config(port=70000)
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: port: must be 0 to 65535, got 70000
"""

from __future__ import annotations

from typing import Any

import uvicorn

from zhifu.core.errors import UsageError
from zhifu.web.fastpath import create_asgi

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def make_config(
    host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info", app: Any = None
) -> uvicorn.Config:
    """The uvicorn configuration: one process, uvloop and httptools when installed."""
    if not 0 <= port <= 65535:
        raise UsageError(f"must be 0 to 65535, got {port}", argument="port")
    if log_level not in LOG_LEVELS:
        raise UsageError(f"must be one of {', '.join(LOG_LEVELS)}", argument="log_level")
    return uvicorn.Config(
        app if app is not None else create_asgi(),
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
    )


def serve(
    host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info", app: Any = None
) -> None:
    """Serve the app on ``host:port`` until SIGINT or SIGTERM (then shut down gracefully)."""
    uvicorn.Server(make_config(host, port, log_level=log_level, app=app)).run()
