"""The bank front-end (MBFE, 前置机) client: send, poll, answer, reconcile over HTTP.

A bank's MBFE signs what it sends with its SM2 key (a SIGNING handle in its security module),
checks the centre's signature on everything it receives, and keeps its own totals of the
business it knows netted (from the centre's confirmations and forwards) to reconcile with the
day-end summary (``beps.721``). The centre's HTTP endpoints (``zhifu.web.routes.
clearing_centre``): ``POST /clearing/messages`` (XML in, ``ccms.900`` out),
``GET /clearing/inbox/{bank}?after=N`` (the next message addressed to the bank, its sequence
number in ``X-Seq``; 204 when none) and ``GET /clearing/reconciliation/{bank}?date=D``. The
two polls are signed with the bank's key too (:mod:`zhifu.clearing.polls`: Unix time, a fresh
nonce, the path and query as sent), so only the bank reads its inbox and summary. Plain
``urllib`` on 127.0.0.1: no extra dependency.

>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> from zhifu.security.keys import KeyAlgorithm, KeyUsage
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
>>> client = MbfeClient("102100099996", key, hsm, "http://127.0.0.1:8000")
>>> client.base_url, client.totals(date(2025, 10, 9)).net
('http://127.0.0.1:8000', 0)
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from zhifu.clearing.codes import Status
from zhifu.clearing.messages.build import build, make_instruction
from zhifu.clearing.messages.model import (
    CENTRE_CODE,
    Ack,
    BankSummary,
    Header,
    Instruction,
    Processing,
    ReceiptLine,
    ReceiptMessage,
    Summary,
    receipt_type,
)
from zhifu.clearing.messages.parse import parse_message
from zhifu.clearing.messages.requests import REQUESTS, RequestMessage, Value
from zhifu.clearing.model import Item, check_bank_code
from zhifu.clearing.polls import new_nonce, sign_poll
from zhifu.clearing.signing import KeyDirectory, Signer
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyHandle

__all__ = ["MbfeClient", "MbfeError", "Reconciled"]

_NETTED = (Status.NETTED, Status.SETTLED, Status.SETTLEMENT_QUEUED)


class MbfeError(ZhifuError):
    """The centre could not be reached or answered with an HTTP error."""


@dataclass(frozen=True, slots=True)
class Reconciled:
    """A reconciliation: the centre's totals, the bank's own, and whether they agree."""

    beps_date: date
    centre: BankSummary
    own: BankSummary

    @property
    def matches(self) -> bool:
        return self.centre == self.own


class MbfeClient:
    """One bank's front-end client of the clearing centres."""

    def __init__(
        self,
        bank_code: str,
        signing_key_handle: KeyHandle,
        hsm: SoftHsm,
        base_url: str,
        *,
        centre_key: bytes | None = None,
        timeout: int = 10,
    ) -> None:
        self.bank = check_bank_code(bank_code, "bank_code")
        if not base_url.startswith(("http://", "https://")):
            raise UsageError("the base URL is http(s)", argument="base_url")
        self.base_url = base_url.rstrip("/")
        self.signer = Signer(hsm, signing_key_handle, self.bank)
        self.keys = KeyDirectory(hsm)
        self.timeout = timeout
        if centre_key is not None:
            self.trust_centre(centre_key)
        self.seq = 0
        self._serial = itertools.count(1)
        self.sent: dict[str, Item] = {}  # items this bank sent
        self.pending: dict[str, Item] = {}  # items addressed to this bank awaiting its receipt
        self.netted: dict[str, tuple[date, bool, int]] = {}  # id -> (NetgDt, paid?, fen)

    def public_key(self) -> bytes:
        """The bank's SM2 public key (to register with the centre)."""
        return self.signer.hsm.get_public_key(self.signer.key)

    def trust_centre(self, public_key: bytes) -> None:
        """Register the centre's SM2 public key."""
        self.keys.register(CENTRE_CODE, public_key)

    # -- HTTP --------------------------------------------------------------------------------
    def _request(self, path: str, body: bytes | None = None) -> tuple[int, bytes, str]:
        """POST ``body`` (a signed message), or GET ``path`` as a signed poll."""
        if body is not None:
            headers = {"Content-Type": "application/xml"}
        else:
            headers = sign_poll(
                self.signer, "GET", path, timestamp=int(time.time()), nonce=new_nonce()
            )
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.base_url + path, data=body, headers=headers, method="POST" if body else "GET"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return answer.status, answer.read(), answer.headers.get("X-Seq", "")
        except urllib.error.HTTPError as error:
            code = _error_code(error)
            raise MbfeError(f"the centre answered HTTP {error.code}{code} on {path}") from None
        except OSError as error:
            raise MbfeError(f"the centre is unreachable ({type(error).__name__})") from None

    def _from_centre(self, data: bytes) -> object:
        return parse_message(data, self.keys, signer=CENTRE_CODE).message

    def next_msg_id(self, created: datetime) -> str:
        """MsgId: bank code, creation time and a serial (unique system-wide, <= 35)."""
        return f"{self.bank}{created:%y%m%d%H%M%S}{next(self._serial) % 10000:04d}"

    def send(self, data: bytes) -> Ack:
        """POST a signed message; the centre's checked confirmation."""
        _, answer, _ = self._request("/clearing/messages", data)
        ack = self._from_centre(answer)
        if not isinstance(ack, Ack):
            raise MbfeError("the centre did not answer with a confirmation")
        return ack

    # -- sending -----------------------------------------------------------------------------
    def send_items(
        self, items: Sequence[Item], *, msg_id: str | None = None, message_type: str | None = None
    ) -> Ack:
        """Send instructions of one business type (a packet: the MsgId is the packet id)."""
        created = datetime.now(SHANGHAI)
        msg_id = msg_id or self.next_msg_id(created)
        packed = [replace(i, packet_id=msg_id) for i in items]
        message = make_instruction(packed, msg_id, created, message_type=message_type)
        if message.header.sender != self.bank:
            raise UsageError("items this bank does not send", argument="items")
        ack = self.send(build(message, self.signer))
        if ack.accepted:
            self.sent.update((i.item_id, i) for i in packed)
            self._note(ack)
        return ack

    def send_receipts(self, answers: Sequence[tuple[str, str]], msg_id: str | None = None) -> Ack:
        """Answer items addressed to this bank: ``(item id, receipt code)``, one business type."""
        items = [self.pending[item_id] for item_id, _ in answers]
        kind = receipt_type(items[0].business_type) if items else None
        if kind is None or any(receipt_type(i.business_type) != kind for i in items):
            raise UsageError("receipts of one business type with receipts", argument="answers")
        created = datetime.now(SHANGHAI)
        msg_id = msg_id or self.next_msg_id(created)
        pairs = zip(items, answers, strict=True)
        lines = tuple(ReceiptLine(i.item_id, i.amount, code) for i, (_, code) in pairs)
        header = _header(msg_id, created, self.bank, items[0].sender, lines)
        ack = self.send(build(ReceiptMessage(kind, header, lines), self.signer))
        self._note(ack)
        return ack

    def send_request(self, code: str, *, msg_id: str | None = None, **values: Value) -> Ack:
        """Send a request (``docs/clearing.md`` §16), e.g. ``send_request("beps.411",
        OrgnlTxId="D1")``; amounts in fen. The confirmation's lines update what the bank knows."""
        if code not in REQUESTS:
            raise UsageError(f"one of {', '.join(REQUESTS)}", argument="code")
        created = datetime.now(SHANGHAI)
        header = Header(msg_id or self.next_msg_id(created), created, self.bank, CENTRE_CODE)
        ack = self.send(build(RequestMessage(code, header, values), self.signer))
        self._note(ack)
        return ack

    # -- receiving ---------------------------------------------------------------------------
    def receive(self) -> list[Instruction | ReceiptMessage | RequestMessage]:
        """Fetch every new message addressed to this bank (each checked: centre's signature).

        Copies of requests about this bank's items come too (a stop-payment asked of it, the
        answer to its own, a reversal): a reversed or stopped item is no longer pending."""
        out: list[Instruction | ReceiptMessage | RequestMessage] = []
        while True:
            status, data, seq = self._request(f"/clearing/inbox/{self.bank}?after={self.seq}")
            if status == 204 or not data:
                return out
            message = self._from_centre(data)
            if not isinstance(message, Instruction | ReceiptMessage | RequestMessage):
                raise MbfeError("unexpected message in the inbox")
            self.seq = int(seq)
            self._take(message)
            out.append(message)

    def _take(self, message: Instruction | ReceiptMessage | RequestMessage) -> None:
        if isinstance(message, RequestMessage):
            ends = message.message_type == "beps.413" or (
                message.message_type == "beps.412" and message.flag("Agrd")
            )
            if ends:
                self.pending.pop(message.text("OrgnlTxId"), None)
            return
        if isinstance(message, Instruction):
            for t in message.transactions:
                if t.processing is None:
                    continue
                if t.processing.status is Status.AWAITING_RECEIPT:
                    self.pending[t.item.item_id] = t.item
                self._record(t.item, t.processing)
            return
        for line in message.lines:
            item = self.sent.get(line.item_id)
            if item is not None and line.processing is not None:
                self._record(item, line.processing)

    def _note(self, ack: Ack) -> None:
        for line in ack.lines:
            item = self.sent.get(line.item_id) or self.pending.get(line.item_id)
            if item is not None:
                self._record(item, line.processing)
                if line.processing.status is not Status.AWAITING_RECEIPT:
                    self.pending.pop(line.item_id, None)

    def _record(self, item: Item, processing: Processing) -> None:
        if processing.status in _NETTED and processing.netting_date is not None:
            paid = item.payer_bank == self.bank
            if paid or item.payee_bank == self.bank:
                self.netted[item.item_id] = (processing.netting_date, paid, item.amount)

    # -- reconciliation ----------------------------------------------------------------------
    def totals(self, day: date) -> BankSummary:
        """This bank's own totals of a BEPS date, from what it knows netted."""
        rows = [(paid, fen) for d, paid, fen in self.netted.values() if d == day]
        paid = [fen for p, fen in rows if p]
        received = [fen for p, fen in rows if not p]
        return BankSummary(self.bank, len(paid), sum(paid), len(received), sum(received))

    def reconcile(self, day: date) -> Reconciled:
        """Fetch the centre's ``beps.721`` for a BEPS date and compare with the own totals."""
        _, data, _ = self._request(f"/clearing/reconciliation/{self.bank}?date={day.isoformat()}")
        summary = self._from_centre(data)
        if not isinstance(summary, Summary) or summary.beps_date != day:
            raise MbfeError("the centre did not answer with the day's summary")
        return Reconciled(day, summary.bank(self.bank), self.totals(day))


def _error_code(error: urllib.error.HTTPError) -> str:
    """`` (code)`` of a JSON error body, or nothing."""
    try:
        code = json.loads(error.read(4096))["error"]["code"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return f" ({code})" if isinstance(code, str) and code.isidentifier() else ""


def _header(
    msg_id: str, created: datetime, sender: str, receiver: str, lines: Sequence[ReceiptLine]
) -> Header:
    return Header(msg_id, created, sender, receiver, len(lines), sum(x.amount for x in lines))
