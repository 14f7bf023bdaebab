"""What tests that start servers share: a free port on 127.0.0.1, waiting for an HTTP answer."""

from __future__ import annotations

import socket
import time
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 free at the time of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, deadline: float) -> int:
    """The status of the first answer from ``url`` before ``deadline`` (monotonic), else 0."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return int(answer.status)
        except OSError:
            time.sleep(0.3)
    return 0
