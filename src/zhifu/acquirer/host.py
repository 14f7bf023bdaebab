"""One frame in, one frame out: the host's work between the socket and the pipeline.

:meth:`AcquirerHost.handle` takes a frame body (what the length prefix counts), splits and
decodes it, journals it, runs the pipeline and returns the response frame, journalled too.
:meth:`AcquirerHost.handle_many` does the same for frames of many connections at once, with
one journal transaction for their requests and one for their responses (the server hands
it what arrived meanwhile). Both are synchronous (the server runs them in worker threads)
and never raise for bad input:

* a body whose message cannot be decoded gets a format-error response (MTI + 10, field 39
  ``30``) when its TPDU, header and MTI can be read and the MTI is a request; otherwise the
  reply asks the server to close the connection;
* a response-class MTI (``0810`` from a terminal...) is journalled and not answered;
* a bug in a participant becomes a ``96`` response (see :mod:`zhifu.acquirer.pipeline`).

>>> from zhifu.iso8583 import Header, Message, Tpdu, encode_frame
>>> host = AcquirerHost.in_memory()
>>> echo = Message("0820", {"41": "10000001", "42": "898100012345678", "60": "00000001301"})
>>> reply = host.handle(encode_frame(echo, Tpdu("6000010000"), Header())[2:])
>>> from zhifu.iso8583 import decode_frame
>>> frame_, response = decode_frame(reply.frame)
>>> frame_.tpdu.hex, response.mti, response["39"]
('6000000001', '0830', '97')
>>> host.handle(b"\\x60\\x00").close
True
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from zhifu.acquirer.config import AcquirerConfig, open_key_store
from zhifu.acquirer.context import Result, TxnContext, response_mti
from zhifu.acquirer.custody import HostLock
from zhifu.acquirer.database import Database
from zhifu.acquirer.journal import Journal, PendingRow
from zhifu.acquirer.payments import add_payment_groups
from zhifu.acquirer.pipeline import Pipeline
from zhifu.acquirer.risk import AcquirerRisk
from zhifu.acquirer.routes import management_pipeline
from zhifu.acquirer.services import Services
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import DecodeError, EncodeError
from zhifu.iso8583.codec import decode, encode_frame
from zhifu.iso8583.framing import (
    HEADER_SIZE,
    MESSAGE_OFFSET,
    TPDU_SIZE,
    Frame,
    Header,
    Tpdu,
    unframe_body,
)
from zhifu.iso8583.message import Message
from zhifu.issuer import Issuer, IssuerLink
from zhifu.issuer.home import issuer_home, ledger_url
from zhifu.issuer.remote import RemoteIssuer
from zhifu.issuer.store import IssuerStore
from zhifu.ledger import Ledger
from zhifu.security.audit_trail import AuditTrail
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.pki import client_context
from zhifu.security.store import KeyStore

WEBHOOK_SECRET_ENV = "ZHIFU_RISK_WEBHOOK_SECRET"  # noqa: S105 - the variable's name
AUDITED_GROUPS = frozenset({"settlement", "reversal", "batch-upload"})
"""The decisions the host writes to the audit trail (each purchase is in the journal)."""

__all__ = ["AcquirerHost", "Arrival", "Reply"]

log = logging.getLogger("zhifu.acquirer")


@dataclasses.dataclass(frozen=True)
class Reply:
    """What to do with the connection: send ``frame`` (if any), then close if ``close``."""

    frame: bytes | None
    close: bool = False


class AcquirerHost:
    """Registry, tables, security module, journal and pipeline behind one ``handle``."""

    def __init__(
        self,
        config: AcquirerConfig,
        *,
        database: Database,
        hsm: SoftHsm,
        clock: Clock | None = None,
        pipeline: Pipeline | None = None,
        host_lock: HostLock | None = None,
        sweeps: bool = True,
        issuer: IssuerLink | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        """The host over an open database and security module.

        It first sweeps the key store for working keys no terminal holds (left by sign-ons a
        crash cut off), unless ``sweeps`` is False: another host serves the same key store.
        ``host_lock`` is released by :meth:`close`. With ``issuer`` and ``ledger`` the host
        answers card payments (``docs/acquirer.md``); the host closes neither.
        """
        self.config = config
        self.database = database
        self.clock: Clock = clock or SystemClock()
        self.services = Services.build(
            config, database, hsm, self.clock, sweeps=sweeps, issuer=issuer, ledger=ledger
        )
        self._owned: list[Any] = []
        self._closing: list[Any] = []
        self.services = dataclasses.replace(self.services, risk=self._risk(config, hsm))
        self.journal = Journal(database)
        self.pipeline = pipeline or management_pipeline(self.services)
        if pipeline is None and issuer is not None and ledger is not None:
            settlement = config.home / "settlement" if config.home is not None else None
            add_payment_groups(self.pipeline, self.services, database, settlement, recover=sweeps)
        self._host_lock = host_lock
        self.services.custody.sweep("at start")

    def _audit_decision(self, ctx: TxnContext) -> None:
        """An audit record of a batch settlement, a reversal or a batch upload."""
        assert self._audit is not None
        code = ctx.response.get("39") if ctx.response is not None else None
        terminal = ctx.request.get("41") or "?"
        stan = ctx.request.get("11") or ""
        self._audit(f"terminal:{terminal}", f"acquirer.{ctx.group}", f"{terminal} {stan}".strip(),
                    f"answered {code or 'nothing'}")  # fmt: skip

    def _risk(self, config: AcquirerConfig, hsm: SoftHsm) -> AcquirerRisk:
        """The risk rules, their alerts in ``risk.db`` and audit records in ``audit.db``."""
        home = config.home
        audit = None
        if home is not None:
            audit = _Recorder(home / "audit.db", hsm)
            self._closing.append(audit)
        self._audit = audit
        risk = AcquirerRisk.open(
            home,
            hsm,
            self.services.registry,
            audit,
            mode=config.risk,
            rules_file=config.risk_rules,
        )
        self._closing.append(risk)
        if config.risk_webhook:
            secret = os.environ.get(WEBHOOK_SECRET_ENV, "")
            risk.send_alerts_to(config.risk_webhook, secret.encode())
        return risk

    @classmethod
    def open(
        cls,
        config: AcquirerConfig,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> AcquirerHost:
        """The host over ``config``'s database and key store (the LMK from the environment).

        The host that opens a key store on disk first holds its :class:`HostLock` and sweeps
        it; a second one on the same key store serves without sweeping (and says so).
        """
        store = open_key_store(config, environ)
        lock = None
        if store.path != ":memory:":
            lock = HostLock.acquire(Path(store.path).parent)
            if lock is None:
                log.warning(
                    "another acquirer host serves the key store %s: this one does not sweep "
                    "it for orphaned working keys",
                    store.path,
                )
        database: Database | None = None
        owned: list[Any] = []
        try:
            database = Database(config.db_path)
            hsm = SoftHsm(store, clock=clock)
            issuer, ledger = _card_side(config, hsm, owned)
            host = cls(
                config, database=database, hsm=hsm, clock=clock, host_lock=lock,
                sweeps=store.path == ":memory:" or lock is not None, issuer=issuer, ledger=ledger,
            )  # fmt: skip
            host._owned = owned
            return host
        except BaseException:
            for part in reversed(owned):
                part.close()
            if database is not None:
                database.close()
            store.close()
            if lock is not None:
                lock.release()
            raise

    @classmethod
    def in_memory(cls, config: AcquirerConfig | None = None) -> AcquirerHost:
        """A host that keeps everything in memory (tests, benchmarks)."""
        chosen = config or AcquirerConfig()
        hsm, owned = SoftHsm(KeyStore.in_memory()), list[Any]()
        issuer, ledger = _card_side(chosen, hsm, owned)
        host = cls(chosen, database=Database(), hsm=hsm, issuer=issuer, ledger=ledger)
        host._owned = owned
        return host

    def close(self) -> None:
        """Close the database, the key store and what the host opened; release the host lock."""
        for part in reversed([*self._owned, *self._closing]):
            part.close()
        self.database.close()
        self.services.hsm.store.close()
        if self._host_lock is not None:
            self._host_lock.release()

    # --- frames ---------------------------------------------------------------------------

    def handle(
        self,
        body: bytes,
        *,
        peer: str = "",
        received_at: datetime | None = None,
        started: float | None = None,
    ) -> Reply:
        """Answer one frame body (TPDU, header, message); see the module docstring."""
        return self.handle_many([Arrival(body, peer, received_at, started)])[0]

    def handle_many(self, arrivals: Sequence[Arrival]) -> list[Reply]:
        """Answer frames of any connections, in order: one reply per arrival.

        Every request row is journalled (one transaction) before any request is processed,
        and every response row (one transaction) before any reply is returned. A bug met on
        one frame closes that frame's connection and leaves the others answered.
        """
        jobs = [self._read(arrival) for arrival in arrivals]
        exchanges = self.journal.write([job.row for job in jobs])
        replies: list[Reply] = []
        rows: list[PendingRow] = []
        for job, exchange in zip(jobs, exchanges, strict=True):
            try:
                reply, row = self._answer(job, exchange)
            except Exception:
                log.exception("%s: the host failed on a frame: closing", job.peer)
                reply, row = Reply(None, close=True), None
            replies.append(reply)
            if row is not None:
                rows.append(row)
        self.journal.write(rows)
        return replies

    def _read(self, arrival: Arrival) -> _Job:
        """Split and decode one frame body; the job with its request (or error) and row."""
        body, peer = arrival.body, arrival.peer
        at = arrival.received_at or self.clock.now()
        begin = time.perf_counter() if arrival.started is None else arrival.started
        size = len(body) + 2
        try:
            frame = unframe_body(body)
            request = decode(frame.message, self.config.profile, offset_base=MESSAGE_OFFSET)
        except DecodeError as exc:
            return self._read_broken(body, exc, peer, at, begin)
        row = self.journal.in_row(
            request, peer=peer, at=at, size=size, tpdu=frame.tpdu, header=frame.header
        )
        return _Job(peer, at, begin, row, frame, request)

    def _read_broken(
        self, body: bytes, error: DecodeError, peer: str, at: datetime, begin: float
    ) -> _Job:
        """The job of an unreadable frame: what can be read of TPDU, header and MTI."""
        tpdu = Tpdu(body[:TPDU_SIZE].hex()) if len(body) >= TPDU_SIZE else None
        has_header = len(body) >= TPDU_SIZE + HEADER_SIZE
        header = Header(body[TPDU_SIZE : TPDU_SIZE + HEADER_SIZE].hex()) if has_header else None
        mti_bytes = body[TPDU_SIZE + HEADER_SIZE : TPDU_SIZE + HEADER_SIZE + 2]
        mti = mti_bytes.hex() if len(mti_bytes) == 2 and mti_bytes.hex().isdigit() else None
        row = self.journal.broken_row(
            peer=peer, at=at, size=len(body) + 2, error=str(error), mti=mti, tpdu=tpdu,
            header=header,
        )  # fmt: skip
        return _Job(peer, at, begin, row, error=error, broken=(tpdu, header, mti))

    def _answer(self, job: _Job, exchange: int) -> tuple[Reply, PendingRow | None]:
        """Run the pipeline on a journalled request; the reply and the response's row."""
        if job.error is not None:
            return self._broken(job, job.error, exchange)
        frame, request = job.frame, job.request
        assert frame is not None and request is not None
        if response_mti(request.mti) is None:
            log.info("%s sent a %s, which is not a request: not answered", job.peer, request.mti)
            return Reply(None), None
        ctx = TxnContext.start(frame, request, received_at=job.at, started=job.begin, peer=job.peer)
        self.pipeline.process(ctx)
        if self.services.risk is not None:
            self.services.risk.after(ctx)
        if ctx.group in AUDITED_GROUPS and self._audit is not None:
            self._audit_decision(ctx)
        response = ctx.response or _minimal(request.mti, Result.SYSTEM_ERROR, request)
        header = frame.header.with_requirement(ctx.processing_requirement)
        tpdu = frame.tpdu.reply()
        data = self._encode(response, tpdu, header, request)
        note = "; ".join(filter(None, [ctx.reason, *ctx.notes]))
        row = self.journal.out_row(
            response, exchange=exchange, peer=ctx.peer, at=self.clock.now(),
            duration_ms=(time.perf_counter() - ctx.started) * 1000, size=len(data),
            tpdu=tpdu, header=header, group=ctx.group, note=note,
        )  # fmt: skip
        return Reply(data), row

    def _encode(self, response: Message, tpdu: Tpdu, header: Header, request: Message) -> bytes:
        try:
            return encode_frame(response, tpdu, header, self.config.profile)
        except EncodeError as exc:
            log.error("response to %s cannot be encoded (%s): sending 96", request.mti, exc)
            fallback = _minimal(request.mti, Result.SYSTEM_ERROR, request)
            return encode_frame(fallback, tpdu, header, self.config.profile)

    def _broken(
        self, job: _Job, error: DecodeError, exchange: int
    ) -> tuple[Reply, PendingRow | None]:
        """A ``30`` response to an unreadable frame when one can be built, else close."""
        tpdu, header, mti = job.broken
        reply_mti = response_mti(mti) if mti else None
        if tpdu is None or header is None or mti is None or reply_mti is None:
            log.info("%s: unreadable frame (%s): closing the connection", job.peer, error)
            return Reply(None, close=True), None
        response = _minimal(mti, Result.FORMAT_ERROR)
        reply_header = header.with_requirement("0")
        data = encode_frame(response, tpdu.reply(), reply_header, self.config.profile)
        row = self.journal.out_row(
            response, exchange=exchange, peer=job.peer, at=self.clock.now(),
            duration_ms=(time.perf_counter() - job.begin) * 1000, size=len(data),
            tpdu=tpdu.reply(), header=reply_header, note=f"format error: {error}",
        )  # fmt: skip
        return Reply(data), row

    def journal_dropped(self, peer: str, size: int, error: str) -> None:
        """Journal a frame the server could not read off the stream (too long, cut short)."""
        self.journal.record_broken(peer=peer, at=self.clock.now(), size=size, error=error)


def _card_side(
    config: AcquirerConfig, hsm: SoftHsm, owned: list[Any]
) -> tuple[IssuerLink | None, Ledger | None]:
    """The in-process issuer and the ledger of a host that answers card payments."""
    if not config.card_payments:
        return None, None
    home = config.home
    ledger = Ledger.open(ledger_url(home) if home is not None else "sqlite://")
    owned.append(ledger)
    if config.issuer_address:
        name, _, number = config.issuer_address.rpartition(":")
        tls = None
        if config.issuer_tls:
            client = (
                "acquirer" if (Path(config.tls_folder) / "client-acquirer.pem").is_file() else None
            )
            tls = client_context(config.tls_folder, client)
        return RemoteIssuer((name, int(number)), tls=tls), ledger
    store = IssuerStore(issuer_home(home) / "issuer.db" if home is not None else ":memory:")
    issuer = Issuer(hsm, ledger, store)
    owned.append(issuer)
    return issuer, ledger


class Arrival(NamedTuple):
    """A frame body as the server read it: from whom, when, and its ``perf_counter`` start."""

    body: bytes
    peer: str = ""
    received_at: datetime | None = None
    started: float | None = None


class _Job(NamedTuple):
    """One frame between reading and answering: its request, or why it could not be read."""

    peer: str
    at: datetime
    begin: float
    row: PendingRow
    frame: Frame | None = None
    request: Message | None = None
    error: DecodeError | None = None
    broken: tuple[Tpdu | None, Header | None, str | None] = (None, None, None)


def _minimal(mti: str, result: Result, request: Message | None = None) -> Message:
    """A response with field 39 only, plus the terminal's ids and STAN when they are known."""
    fields = {"39": result.de39}
    if request is not None:
        fields.update({n: v for n in ("11", "41", "42") if (v := request.get(n)) is not None})
    return Message(response_mti(mti) or mti, fields)


class _Recorder:
    """Audit records of the host's decisions, one writer at a time; the trail (and its keys) is
    opened at the first record."""

    def __init__(self, path: Path, hsm: SoftHsm) -> None:
        self.path, self.hsm, self.lock = path, hsm, threading.Lock()
        self.trail: AuditTrail | None = None

    def __call__(self, actor: str, action: str, obj: str, outcome: str) -> None:
        with self.lock:
            if self.trail is None:
                self.trail = AuditTrail.open(self.path, self.hsm)
            self.trail.append(actor, action, obj, outcome, origin="acquirer")

    def close(self) -> None:
        with self.lock:
            if self.trail is not None:
                self.trail.close()
