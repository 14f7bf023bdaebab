"""The issuer over TCP: a server that answers the POS dialect with an :class:`Issuer`, and
:class:`RemoteIssuer`, an :class:`~zhifu.issuer.link.IssuerLink` that asks an issuer host.

``zhifu issuer run --port 5900`` serves; an acquirer points at it (or at any issuer host that
speaks the messages of :mod:`zhifu.issuer.wire`) with a ``RemoteIssuer``. Each calling thread
keeps its own connection; a request that gets no answer within the timeout answers ``98``
(issuer not answering) and the acquirer declines — the acquirer's in-doubt record and the
terminal's reversal take care of an approval that was lost on the way.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Mapping

from zhifu.codec.tlv import Tlv
from zhifu.core.errors import DecodeError, ZhifuError
from zhifu.iso8583 import Header, Message, Tpdu, decode, encode_frame, read_frame
from zhifu.iso8583.fields_55 import build_icc_data, parse_icc_data
from zhifu.iso8583.framing import receive_frame_body, unframe_body
from zhifu.issuer.decisions import decision_of
from zhifu.issuer.link import (
    AuthorizationRequest,
    AuthorizationResponse,
    ReversalRequest,
    ReversalResponse,
)
from zhifu.issuer.service import Issuer
from zhifu.issuer.wire import (
    answer_message,
    authorization_request,
    authorization_response,
    request_message,
    reversal_answer,
    reversal_message,
    reversal_request,
    reversal_response,
)

__all__ = ["RemoteIssuer", "serve_issuer"]

log = logging.getLogger("zhifu.issuer.remote")
TPDU, HEADER = Tpdu("6000050000"), Header("613100311108")
DEFAULT_PORT = 5900
Seconds = float  # a time, never money


class RemoteIssuer:
    """An issuer host at ``address``, asked over TCP in the POS dialect."""

    def __init__(
        self, address: tuple[str, int], *, timeout: Seconds = 10.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:  # fmt: skip
        self.address = address
        self.timeout = timeout
        self.tls = tls
        self._local = threading.local()

    def _exchange(self, message: Message) -> Message | None:
        sock: socket.socket | None = getattr(self._local, "sock", None)
        try:
            if sock is None:
                sock = socket.create_connection(self.address, timeout=self.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self.tls is not None:
                    sock = self.tls.wrap_socket(sock, server_hostname=self.address[0])
                self._local.sock = sock
            sock.sendall(encode_frame(message, TPDU, HEADER))
            return decode(unframe_body(receive_frame_body(sock)).message)
        except (OSError, DecodeError, ConnectionError):
            if sock is not None:
                sock.close()
            self._local.sock = None
            return None

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        """Ask the issuer host; ``98`` when it does not answer."""
        answer = self._exchange(request_message(request))
        if answer is None:
            return AuthorizationResponse(request.transaction_id, decision_of("98"), "98",
                                         reason="the issuer host did not answer")  # fmt: skip
        return authorization_response(request.transaction_id, answer)

    def reverse(self, request: ReversalRequest) -> ReversalResponse:
        """Send a 0400; not answered: not found (the acquirer's record is kept)."""
        answer = self._exchange(reversal_message(request))
        if answer is None:
            return ReversalResponse(request.original_id, "98", undone=False, found=False)
        return reversal_response(request.original_id, answer)

    def advise(self, transaction_id: str, icc: Mapping[int, bytes]) -> None:
        """Send a 0620 script advice (best effort)."""
        terminal, batch, stan = transaction_id.rsplit("-", 2)
        fields = {"11": stan, "41": terminal, "60": f"00{batch}951",
                  "55": build_icc_data(Tlv(t, v) for t, v in icc.items())}  # fmt: skip
        self._exchange(Message("0620", fields))


def _answer(issuer: Issuer, message: Message) -> Message:
    if message.mti == "0400":
        return reversal_answer(message, issuer.reverse(reversal_request(message)))
    if message.mti == "0620":
        field_60 = message.get("60") or ""
        txn = f"{message.get('41') or ''}-{field_60[2:8]}-{message.get('11') or ''}"
        issuer.advise(txn, {t.tag: t.value for t in parse_icc_data(message.get("55") or "")})
        return Message("0630", {"11": message.get("11") or "", "39": "00"})
    request = authorization_request(message, issuer.keys.zpk)
    return answer_message(message, issuer.authorize(request))


async def _serve_connection(
    issuer: Issuer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while (received := await read_frame(reader)) is not None:
            try:
                message = decode(received.message)
                answer = await asyncio.to_thread(_answer, issuer, message)
            except (DecodeError, ZhifuError) as exc:
                log.warning("an unreadable request from the acquirer: %s", type(exc).__name__)
                return
            writer.write(encode_frame(answer, received.tpdu.reply(), received.header))
            await writer.drain()
    except (ConnectionError, DecodeError):
        pass
    finally:
        writer.close()


async def serve_issuer(
    issuer: Issuer, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
    tls: ssl.SSLContext | None = None,
) -> asyncio.Server:  # fmt: skip
    """Start serving (over ``tls`` when given: :func:`zhifu.security.pki.server_context`, with
    ``client_auth`` so that only a certified acquirer gets in); the caller awaits
    ``server.serve_forever()`` or closes it."""
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(issuer, r, w), host, port, ssl=tls
    )
    bound = server.sockets[0].getsockname()
    log.info("issuer listening on %s:%d", bound[0], bound[1])
    return server
