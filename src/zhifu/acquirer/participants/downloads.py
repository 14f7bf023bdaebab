"""Parameter and key downloads: CA public keys (372/373 query, 370 download, 371 end) and IC
parameters (382 query, 380 download, 381 end), served from :mod:`zhifu.acquirer.tables`.

Field 62 as :mod:`zhifu.iso8583.fields_62` lays it out (``docs/acquirer.md``):

* query request ``1`` + 2-digit start index; response: ``0`` nothing left, ``1`` the list ends
  in this page, ``2`` more follow, then at most ``page_size`` short records. The terminal asks
  again from ``start + records received`` while the status is ``2``;
* download request: the record's key as TLV (9F06 + 9F22 for a CA key, 9F06 for an AID);
  response ``1`` + the whole record, or ``0`` when the host has no such record;
* download end: no field 62; the host records the table version the terminal now holds.

>>> ParameterQuery.__doc__
'Answer one page of a CAPK or AID query.'
"""

from __future__ import annotations

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.acquirer.services import Services
from zhifu.core.errors import DecodeError
from zhifu.iso8583.fields_62 import (
    build_download_response,
    build_query_response,
    parse_download_request,
    parse_query_request,
)

__all__ = ["DownloadEnd", "ParameterDownload", "ParameterQuery"]


def _field_62(ctx: TxnContext) -> bytes | None:
    try:
        return bytes.fromhex(ctx.request.get("62") or "")
    except ValueError:
        return None


class ParameterQuery(BaseParticipant):
    """Answer one page of a CAPK or AID query."""

    def __init__(self, services: Services, kind: str, pk_algorithm: int | None = None) -> None:
        self._services = services
        self._kind = kind
        self._pk_algorithm = pk_algorithm

    @property
    def name(self) -> str:
        """``ParameterQuery(capk)``."""
        return f"ParameterQuery({self._kind})"

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Put the page in the response's field 62."""
        raw = _field_62(ctx)
        try:
            start = parse_query_request(raw if raw is not None else b"")
        except DecodeError:
            ctx.fail(Result.FORMAT_ERROR, "field 62 is not a query request ('1' + 2 digits)")
            return Verdict.ABORTED
        status, records = self._services.tables.query(
            self._kind,
            start=start,
            page_size=self._services.config.page_size,
            pk_algorithm=self._pk_algorithm,
        )
        ctx.response_fields["62"] = build_query_response(status, records).hex().upper()
        ctx.note(f"{self._kind} query from {start}: status {status}, {len(records)} records")
        return Verdict.NO_JOIN


class ParameterDownload(BaseParticipant):
    """Answer a download request with the whole record (or ``0`` when unknown)."""

    def __init__(self, services: Services, kind: str) -> None:
        self._services = services
        self._kind = kind

    @property
    def name(self) -> str:
        """``ParameterDownload(aid)``."""
        return f"ParameterDownload({self._kind})"

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Put the record in the response's field 62."""
        raw = _field_62(ctx)
        try:
            key = parse_download_request(raw if raw is not None else b"")
        except DecodeError:
            ctx.fail(Result.FORMAT_ERROR, "field 62 is not a TLV download key")
            return Verdict.ABORTED
        record = self._services.tables.download(self._kind, key)
        ctx.response_fields["62"] = build_download_response(record).hex().upper()
        ctx.note(f"{self._kind} download: {'found' if record else 'none'}")
        return Verdict.NO_JOIN


class DownloadEnd(BaseParticipant):
    """Record that the terminal holds the current version of the table."""

    def __init__(self, services: Services, kind: str) -> None:
        self._services = services
        self._kind = kind

    @property
    def name(self) -> str:
        """``DownloadEnd(capk)``."""
        return f"DownloadEnd({self._kind})"

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Join the commit."""
        return Verdict.PREPARED

    def commit(self, ctx: TxnContext) -> None:
        """Store the version; the context's terminal is refreshed for the response header."""
        registry = self._services.registry
        assert ctx.terminal is not None, "CheckTerminal runs first"
        terminal_id = ctx.terminal.terminal_id
        version = self._services.tables.version(self._kind)
        registry.record_download(terminal_id, self._kind, version)
        ctx.terminal = registry.terminal(terminal_id) or ctx.terminal
        ctx.note(f"{self._kind} download complete at version {version}")
