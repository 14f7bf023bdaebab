"""TLS 1.3 from the terminal to the acquirer, through a carrier that sees only TLS records
(the phone): the secure channel of the mini mPOS (``docs/device-protocol.md``).

The terminal and the platform authenticate each other with certificates of the platform's CA
(``zhifu pki init``: the terminal presents its client certificate, the acquirer's port asks for
it with ``--tls-client-auth``) and agree on session keys; the app in the middle relays bytes
it cannot read or change — PAN, PIN block, track and field 55 alike. :class:`TlsTunnelLink`
runs TLS on memory buffers (:class:`ssl.SSLObject`) and hands the records to ``send``
(``wait``: whether the host's answer is needed now) and takes the host's bytes from
``receive``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from zhifu.core.errors import DecodeError
from zhifu.iso8583 import Message
from zhifu.terminal.link import NoAnswerError, _answer, _frame

__all__ = ["TlsTunnelLink"]


class TlsTunnelLink:
    """An :class:`~zhifu.terminal.link.Exchanger` over TLS records carried by someone else."""

    def __init__(
        self, send: Callable[[bytes, bool], bytes], context: ssl.SSLContext, *,
        server_hostname: str = "127.0.0.1",
    ) -> None:  # fmt: skip
        self._send, self._context, self._hostname = send, context, server_hostname
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls: ssl.SSLObject | None = None

    def _carry(self, wait: bool) -> None:
        """The records made so far out; with ``wait``, the host's next bytes in."""
        answer = self._send(self._out.read(), wait)
        if wait and not answer:
            raise NoAnswerError("the host sent nothing back through the tunnel (refused or closed)")
        self._in.write(answer)

    def _open(self) -> ssl.SSLObject:
        if self._tls is None:
            self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = self._context.wrap_bio(self._in, self._out, server_hostname=self._hostname)
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self._carry(wait=True)
            self._carry(wait=False)  # the client's Finished
            self._tls = tls
        return self._tls

    def _read(self, tls: ssl.SSLObject, size: int) -> bytes:
        data = b""
        while len(data) < size:
            try:
                data += tls.read(size - len(data))
            except ssl.SSLWantReadError:
                self._carry(wait=True)
        return data

    def exchange(self, request: Message, body: bytes | None = None) -> tuple[Message, bytes]:
        """Send ``request`` inside TLS; the response and its message bytes."""
        try:
            tls = self._open()
            tls.write(_frame(request, body))
            self._carry(wait=True)
            size = int.from_bytes(self._read(tls, 2), "big")
            return _answer(request, self._read(tls, size))
        except (ssl.SSLError, DecodeError) as exc:
            self.close()
            raise NoAnswerError(f"the tunnel to the host failed ({exc})") from None
        except NoAnswerError:
            self.close()
            raise

    def close(self) -> None:
        """Forget the session (the next exchange shakes hands again)."""
        self._tls = None
