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

import ssl
from pathlib import Path
from typing import Any

import uvicorn

from zhifu.core.errors import UsageError
from zhifu.web.fastpath import create_asgi

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def make_config(
    host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info", app: Any = None,
    tls_folder: str = "", tls_client_auth: bool = False,
) -> uvicorn.Config:  # fmt: skip
    """The uvicorn configuration: one process, uvloop and httptools when installed.

    ``tls_folder`` (made by ``zhifu pki init``) serves HTTPS with TLS 1.3 only and its server
    certificate; ``tls_client_auth`` asks every client for a certificate of its CA (mutual TLS:
    institutions' API clients and clearing participants, on a port that serves only them).
    """
    if not 0 <= port <= 65535:
        raise UsageError(f"must be 0 to 65535, got {port}", argument="port")
    if log_level not in LOG_LEVELS:
        raise UsageError(f"must be one of {', '.join(LOG_LEVELS)}", argument="log_level")
    tls: dict[str, Any] = {}
    if tls_folder:
        folder = Path(tls_folder)
        tls = {
            "ssl_certfile": str(folder / "server.pem"),
            "ssl_keyfile": str(folder / "server.key"),
            "ssl_ca_certs": str(folder / "ca.pem"),
            "ssl_cert_reqs": ssl.CERT_REQUIRED if tls_client_auth else ssl.CERT_NONE,
        }
    config = uvicorn.Config(
        app if app is not None else create_asgi(),
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
        **tls,
    )
    if tls_folder:
        config.load()  # makes the SSL context, which is then held to TLS 1.3
        assert config.ssl is not None
        config.ssl.minimum_version = ssl.TLSVersion.TLSv1_3
    return config


def serve(
    host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info", app: Any = None
) -> None:
    """Serve the app on ``host:port`` until SIGINT or SIGTERM (then shut down gracefully)."""
    uvicorn.Server(make_config(host, port, log_level=log_level, app=app)).run()
