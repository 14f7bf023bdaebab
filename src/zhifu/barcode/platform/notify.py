"""Asynchronous notifications to the merchant's URL: signed, retried with back-off, de-duplicable.

The flows write each event into the ``events`` outbox in the same transaction as the state
change it reports (``payment.succeeded``, ``refund.succeeded``), so an event exists exactly
when the change happened. :class:`Notifier` delivers the outbox at least once:

- ``POST`` to the merchant's ``notify_url`` with the JSON payload ``{"id", "type",
  "created_at", "data"}``, the header ``Zhifu-Event-Id`` (the same ``id``: the merchant keeps
  the ids it has processed and ignores a repeat) and the four signature headers of
  :mod:`zhifu.barcode.api.signing`, signed by the acquiring institution's key (its public key is
  served at ``GET /v1/keys``); the merchant checks them as the API checks requests (5-minute
  window, nonce not seen before: :class:`NotificationVerifier`);
- any 2xx answer acknowledges the event; anything else (another status, a refused connection,
  no answer within ``timeout`` seconds) schedules a retry after the next delay of
  :data:`BACKOFF_SECONDS`; after the last one the event is marked ``failed`` (bounded).

>>> BACKOFF_SECONDS
(1, 2, 4, 8, 16, 32, 64, 128)
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final
from urllib.parse import urlsplit

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.signing import (
    H_EVENT_ID,
    SigningKey,
    VerifyingKey,
    canonical_request,
    check_timestamp,
    parse_headers,
    sign_headers,
)
from zhifu.barcode.platform.db import Database
from zhifu.barcode.platform.directory import Directory

BACKOFF_SECONDS: Final = (1, 2, 4, 8, 16, 32, 64, 128)
TIMEOUT_SECONDS: Final = 5.0
BATCH: Final = 50
DELIVERY_WORKERS: Final = 8  # deliveries under way at once
_log = logging.getLogger("zhifu.barcode.platform.notify")


def new_nonce() -> str:
    """A fresh 32-character nonce."""
    return secrets.token_urlsafe(24)


def post_signed(
    url: str, body: bytes, key: SigningKey, *, timeout: float, extra: Mapping[str, str]
) -> int:
    """POST ``body`` to ``url`` with signature headers; the HTTP status (raises OSError)."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = sign_headers(key, "POST", path, body, timestamp=int(time.time()), nonce=new_nonce())
    headers.update(extra)
    headers["Content-Type"] = "application/json"
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Notifier:
    """Delivers the outbox (see the module docstring): one background thread finds what is due
    and hands each delivery to a pool of :data:`DELIVERY_WORKERS` threads, so a merchant that
    answers slowly (or never, until the timeout) does not hold back the others' events."""

    def __init__(
        self,
        db: Database,
        directory: Directory,
        keys: Mapping[str, SigningKey],
        *,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
        now: Callable[[], float] = time.time,
        workers: int = DELIVERY_WORKERS,
    ) -> None:
        self.db = db
        self.directory = directory
        self.keys = dict(keys)
        self.backoff = tuple(backoff)
        self.timeout = timeout
        self._now = now
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: set[str] = set()
        self._flight_lock = threading.Lock()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="zhifu-notify-send")
            self._thread = threading.Thread(target=self._run, name="zhifu-notify", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None
        if self._pool is not None:  # deliveries under way finish (each within the timeout)
            self._pool.shutdown(wait=True)
            self._pool = None

    def wake(self) -> None:
        """New events were written: deliver now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # keep the thread alive; the event stays due
                _log.exception("notification pass failed")
            self._wake.wait(timeout=self._next_wait())
            self._wake.clear()

    def _next_wait(self) -> float:
        row = self.db.one("SELECT MIN(next_us) FROM events WHERE status = 'pending'")
        if row is None or row[0] is None:
            return 1.0
        return min(1.0, max(0.0, int(row[0]) / 1e6 - self._now()))

    def deliver_due(self) -> int:
        """Send every event that is due once; the number sent (acknowledged or not). Once
        :meth:`start` has run, the deliveries go to the pool and this returns without waiting
        for them; before, they are made here, one after the other."""
        now_us = int(self._now() * 1_000_000)
        rows = self.db.all(
            "SELECT event_id, merchant_id, url, payload, attempts, next_us FROM events"
            " WHERE status = 'pending' AND next_us <= ? ORDER BY next_us LIMIT ?",
            (now_us, BATCH),
        )
        sent = 0
        for event_id, merchant_id, url, payload, attempts, due in rows:
            with self._flight_lock:
                if event_id in self._in_flight:  # its lease ran out while it is still sent
                    continue
            if not self._claim(event_id, due, now_us):
                continue
            job = (event_id, merchant_id, url, bytes(payload), attempts)
            sent += 1
            if self._pool is None:
                self._deliver(*job)
                continue
            with self._flight_lock:
                self._in_flight.add(event_id)
            self._pool.submit(self._deliver_in_pool, *job)
        return sent

    def _deliver_in_pool(self, event_id: str, *job: Any) -> None:
        try:
            self._deliver(event_id, *job)
        except Exception:  # the event stays claimed until its lease ends, then it is due again
            _log.exception("notification delivery failed")
        finally:
            with self._flight_lock:
                self._in_flight.discard(event_id)

    def _claim(self, event_id: str, due: int, now_us: int) -> bool:
        """Take the event for one delivery (another process serving the same database may
        be looking at it too): move its due time past the delivery's timeout."""
        lease = now_us + int((self.timeout + 1) * 1_000_000)

        def unit(cur: sqlite3.Cursor) -> bool:
            cur.execute(
                "UPDATE events SET next_us = ? WHERE event_id = ? AND status = 'pending'"
                " AND next_us = ?",
                (lease, event_id, due),
            )
            return cur.rowcount == 1

        return self.db.run(unit)

    def _deliver(self, event_id: str, merchant_id: str, url: str, body: bytes, n: int) -> None:
        merchant = self.directory.merchant(merchant_id)
        key = self.keys.get(merchant.institution) if merchant is not None else None
        error = None
        if key is None:
            error = "no signing key for the merchant's institution"
        else:
            try:
                status = post_signed(
                    url, body, key, timeout=self.timeout, extra={H_EVENT_ID: event_id}
                )
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}"
        attempts = n + 1
        if error is None:
            state, next_us = "delivered", 0
        elif attempts > len(self.backoff):
            state, next_us = "failed", 0
        else:
            state = "pending"
            next_us = int((self._now() + self.backoff[attempts - 1]) * 1_000_000)
        self.db.run(
            lambda cur: cur.execute(
                "UPDATE events SET status = ?, attempts = ?, next_us = ?, last_error = ?"
                " WHERE event_id = ?",
                (state, attempts, next_us, error, event_id),
            )
        )

    def status(self, event_id: str) -> tuple[str, int] | None:
        """(status, attempts) of an event: pending, delivered or failed."""
        row = self.db.one("SELECT status, attempts FROM events WHERE event_id = ?", (event_id,))
        return None if row is None else (str(row[0]), int(row[1]))


class NotificationVerifier:
    """The merchant's side: check a notification's signature, window and nonce, and tell a
    repeated event (same id) from a new one."""

    def __init__(self, keys: Mapping[str, VerifyingKey], *, window_seconds: int = 300) -> None:
        self.keys = dict(keys)
        self.window_seconds = window_seconds
        self._nonces: set[tuple[str, str]] = set()
        self.seen_events: set[str] = set()
        self._lock = threading.Lock()

    def verify(
        self, path: str, headers: Mapping[str, str], body: bytes, now: float | None = None
    ) -> tuple[dict[str, Any], bool]:
        """(the event, True if it is new); a :class:`BarcodeError` if it is not authentic."""
        parts = parse_headers(headers)
        key = self.keys.get(parts.key_id)
        if key is None:
            raise BarcodeError("key_unknown")
        check_timestamp(parts.timestamp, time.time() if now is None else now, self.window_seconds)
        message = canonical_request("POST", path, key.key_id, parts.timestamp, parts.nonce, body)
        if parts.algorithm != key.algorithm or not key.verify(message, parts.signature):
            raise BarcodeError("signature_invalid")
        event: dict[str, Any] = json.loads(body)
        with self._lock:
            if (key.key_id, parts.nonce) in self._nonces:
                raise BarcodeError("nonce_reused")
            self._nonces.add((key.key_id, parts.nonce))
            new = event.get("id") not in self.seen_events
            self.seen_events.add(str(event.get("id")))
        return event, new
