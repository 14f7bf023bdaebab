"""The barcode platform assembled: database, directory, three institutions with their own
ledgers, the switch, the flows, signed API requests (authentication, nonces, idempotency:
:attr:`BarcodeSystem.requests`) and notifications.

``BarcodeSystem.open()`` keeps everything in memory (tests, examples); ``open(home)`` keeps it
in a directory::

    home/                       mode 0700 when created here; every file in it 0600
    home/barcode.db             orders, payments, refunds, keys, nonces... (SQLite, WAL)
    home/ledger-<id>.db         each institution's own ledger (SQLite, FULL sync), unless
                                ``ledger_urls`` names other databases (PostgreSQL...)
    home/<id>-master.key.sealed the institution's master key for device secrets (hex, 0600)
    home/<id>-notify.pem.sealed the institution's SM2 key signing notifications (0600)

The key files are sealed by the ``sealer`` given to :meth:`BarcodeSystem.open` (the servers
and the command line give the LMK's, ``zhifu.security.sealing.LmkSealer``); clear files of an
earlier version are sealed and removed on open. Without a sealer (tests, examples) they are
kept in clear as ``<id>-master.key`` and ``<id>-notify.pem``.

The enrolment methods (merchants, their keys and static codes, wallets, devices, top-ups) are
the back office's: the HTTP API serves merchants and institutions, not enrolment.

>>> system = BarcodeSystem.open()
>>> sorted(system.nodes)
['huanyu', 'qingniao', 'zhifu']
>>> m = system.add_merchant("M100001", "zhifu", "Noodles")
>>> system.issue_static_code("M100001").startswith("https://pay.zhifu.test/qr/m/")
True
>>> system.close()
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from zhifu.barcode.api.auth import Authenticator
from zhifu.barcode.api.signing import PublicKey, SigningKey, VerifyingKey, load_private_key
from zhifu.barcode.codes.collection_code import collection_url, new_token
from zhifu.barcode.codes.payment_code import CodePolicy, PaymentCodeGenerator
from zhifu.barcode.institution import LAYOUTS, InstitutionNode
from zhifu.barcode.model import Merchant, Obligation, PayeeKind
from zhifu.barcode.platform.db import Database
from zhifu.barcode.platform.directory import Directory
from zhifu.barcode.platform.flows import Flows
from zhifu.barcode.platform.guards import Idempotency, Nonces, SqliteUsedCodes
from zhifu.barcode.platform.notify import BACKOFF_SECONDS, Notifier
from zhifu.barcode.platform.orderbook import OrderBook
from zhifu.barcode.platform.refunds import recover
from zhifu.barcode.platform.requests import SignedRequests
from zhifu.barcode.platform.sealing import KeyFiles, SecretSealer
from zhifu.barcode.registry import CollectionKind
from zhifu.barcode.switch import Switch
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError
from zhifu.core.files import private_folder
from zhifu.core.rng import RandomSource, SystemRandomSource
from zhifu.crypto import sm2
from zhifu.ledger import Ledger

INSTITUTIONS = tuple(LAYOUTS)
SWEEP_SECONDS: Final = 30.0  # how often the running server looks for interrupted payments
STALE_SECONDS: Final = 60  # a payment under way this long has lost its request
_log = logging.getLogger("zhifu.barcode")


class BarcodeSystem:
    """Every part of the barcode platform, wired together (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        nodes: Mapping[str, InstitutionNode],
        *,
        clock: Clock,
        rng: RandomSource,
        backoff: tuple[float, ...] = BACKOFF_SECONDS,
    ) -> None:
        self.db = db
        self.clock = clock
        self.business_check: Callable[[str], bool] = lambda _institution: True
        self.rng = rng
        self.nodes = dict(nodes)
        self.directory = next(iter(self.nodes.values())).directory
        self.book = OrderBook(db)
        self.switch = Switch(self.nodes, self.book)
        keys = {inst: node.signing_key for inst, node in self.nodes.items()}
        self.notifier = Notifier(db, self.directory, keys, backoff=backoff)
        self.flows = Flows(
            self.directory,
            self.book,
            self.switch,
            clock=clock,
            rng=rng,
            on_event=self.notifier.wake,
        )
        self.auth = Authenticator(
            self.directory, Nonces(db), now=lambda: self.clock.now().timestamp()
        )
        self.idempotency = Idempotency(db, clock)
        self.requests = SignedRequests(self)
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.sweep_seconds: float = SWEEP_SECONDS
        self.stale_seconds: float = STALE_SECONDS

    @classmethod
    def open(
        cls,
        home: str | os.PathLike[str] | None = None,
        *,
        ledger_urls: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        rng: RandomSource | None = None,
        policy: CodePolicy | None = None,
        backoff: tuple[float, ...] = BACKOFF_SECONDS,
        synchronous: str = "NORMAL",
        sealer: SecretSealer | None = None,
    ) -> BarcodeSystem:
        """Open (creating on first use) the platform in ``home``, or in memory without one;
        its key files sealed by ``sealer`` (:mod:`~zhifu.barcode.platform.sealing`)."""
        clock = clock or SystemClock()
        rng = rng or SystemRandomSource()
        folder = None if home is None else Path(home)
        if folder is not None:
            private_folder(folder)
        db = Database(
            ":memory:" if folder is None else str(folder / "barcode.db"), synchronous=synchronous
        )
        directory = Directory(db)
        used = SqliteUsedCodes(db, clock)
        nodes = {}
        for inst in INSTITUTIONS:
            url = (ledger_urls or {}).get(inst)
            if url is None:
                url = "sqlite://" if folder is None else f"sqlite:///{folder / f'ledger-{inst}.db'}"
            keys = None if folder is None else KeyFiles(folder, sealer)
            master, signer = cls._keys(keys, inst, rng)
            nodes[inst] = InstitutionNode(
                inst,
                Ledger.open(url, clock=clock),
                directory,
                master,
                used,
                signer,
                clock=clock,
                policy=policy,
            )
        return cls(db, nodes, clock=clock, rng=rng, backoff=backoff)

    @staticmethod
    def _keys(keys: KeyFiles | None, inst: str, rng: RandomSource) -> tuple[bytes, SigningKey]:
        key_id = f"{inst}-notify-1"
        if keys is None:
            return rng.bytes(32), SigningKey(key_id, "SM2-SM3", sm2.generate_keypair()[0])
        master_hex = keys.get(f"{inst}-master.key", lambda: rng.bytes(32).hex().encode())
        master = bytes.fromhex(master_hex.decode())
        pem = keys.get(
            f"{inst}-notify.pem",
            lambda: sm2.private_key_to_pem(sm2.generate_keypair()[0]).encode(),
        )
        algorithm, private = load_private_key(pem)
        return master, SigningKey(key_id, algorithm, private)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> tuple[int, int]:
        """Finish interrupted payments and refunds, then start delivering notifications and
        the sweeper that finishes, every :data:`SWEEP_SECONDS`, a payment or refund left under
        way for more than :data:`STALE_SECONDS` (its request died half-way: a crash of the
        ledger connection, a cancelled task) while the server runs."""
        done = recover(self.flows)
        released = self.idempotency.release_orphans()  # their orders are finished now
        if released:
            _log.warning("released %d idempotency keys of stopped processes", released)
        self.notifier.start()
        if self._sweeper is None:
            self._sweeper = threading.Thread(target=self._sweep, name="zhifu-recover", daemon=True)
            self._sweeper.start()
        return done

    def _sweep(self) -> None:
        while not self._stopping.wait(self.sweep_seconds):
            try:
                payments, refunds = recover(self.flows, timedelta(seconds=self.stale_seconds))
            except Exception:  # keep sweeping; what is due stays due
                _log.exception("recovery sweep failed")
                continue
            if payments or refunds:
                _log.warning("finished %d interrupted payments, %d refunds", payments, refunds)

    def close(self) -> None:
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.join()
            self._sweeper = None
        self.requests.close()
        self.notifier.stop()
        self.auth.close()
        for node in self.nodes.values():
            node.ledger.close()
        self.db.close()

    # -- enrolment (back office) ----------------------------------------------------------------

    def node(self, institution: str) -> InstitutionNode:
        if institution not in self.nodes:
            raise UsageError(f"unknown institution {institution!r}", argument="institution")
        return self.nodes[institution]

    def add_merchant(
        self,
        merchant_id: str,
        institution: str,
        name: str,
        *,
        kind: PayeeKind | str = PayeeKind.MERCHANT,
        fee_bp: int = 38,
        notify_url: str | None = None,
        mcc: str = "5812",
    ) -> Merchant:
        """Sign a merchant (or a personal payee) up at its acquiring institution."""
        merchant = Merchant(
            merchant_id, institution, name, PayeeKind(kind), mcc, fee_bp, notify_url
        )
        self.node(institution).open_merchant(merchant_id)
        self.directory.add_merchant(merchant)
        return merchant

    def add_key(self, principal: str, key_id: str, public_key: PublicKey) -> VerifyingKey:
        """Register a merchant's or institution's public key for signed requests."""
        algorithm = "SM2-SM3" if isinstance(public_key, sm2.Sm2PublicKey) else "RSA-SHA256"
        key = VerifyingKey(key_id, principal, algorithm, public_key)
        self.directory.add_key(key)
        return key

    def issue_static_code(self, merchant_id: str) -> str:
        """A new static collection code (URL) for a merchant or a personal payee."""
        merchant = self.directory.merchant(merchant_id)
        if merchant is None:
            raise UsageError(f"unknown merchant {merchant_id!r}", argument="merchant_id")
        kind = (
            CollectionKind.STATIC_PERSONAL
            if merchant.kind is PayeeKind.PERSONAL
            else CollectionKind.STATIC_MERCHANT
        )
        token = new_token(self.rng, 20)
        self.directory.add_collection_code(merchant.institution, token, merchant_id, kind)
        return collection_url(kind, token, institution=merchant.institution)

    def open_wallet(
        self, institution: str, customer_id: str, account_id: str, *, agreed_limit: int = 2_000_000
    ) -> int:
        """Open a customer's payment account at an institution; its ledger id."""
        return self.node(institution).open_wallet(customer_id, account_id, agreed_limit)

    def top_up(self, institution: str, account_id: str, amount: int, reference: str) -> None:
        result = self.node(institution).top_up(account_id, amount, reference)
        if result.name not in ("OK", "EXISTS"):
            raise UsageError(f"top-up refused: {result.name}", argument="amount")

    def enroll_device(
        self, institution: str, customer_id: str, account_id: str, *, grade: str = "C",
        step_up: str = "",
    ) -> tuple[str, bytes]:  # fmt: skip
        """Enrol a phone; (handle, device secret) to provision on it. A customer's second
        device needs ``step_up``: the code of :meth:`start_binding`."""
        return self.node(institution).enroll_device(
            customer_id, account_id, grade=grade, rng=self.rng, step_up=step_up,
            now=self.clock.now().timestamp(),
        )  # fmt: skip

    def start_binding(self, institution: str, customer_id: str) -> str:
        """The one-time code to send to a customer who binds another device."""
        return self.node(institution).start_binding(
            customer_id, now=self.clock.now().timestamp(), rng=self.rng
        )

    def phone(
        self, institution: str, handle: str, secret: bytes, clock: Clock | None = None
    ) -> PaymentCodeGenerator:
        """The code generator of an enrolled phone (its own clock, offline)."""
        node = self.node(institution)
        return PaymentCodeGenerator(node.layout, handle, secret, clock or self.clock, node.policy)

    # -- queries -----------------------------------------------------------------------------

    def in_business(self, principal: str) -> bool:
        """Whether the institution behind a signer (``merchant:<id>``, ``institution:<id>``)
        may do business now, by :attr:`business_check` (set by whoever keeps the licences:
        :mod:`zhifu.compliance` through the web app; without one, every institution may)."""
        kind, _, who = principal.partition(":")
        if kind == "merchant":
            merchant = self.directory.merchant(who)
            who = merchant.institution if merchant is not None else who
        return self.business_check(who)

    def platform_keys(self) -> list[VerifyingKey]:
        """The public keys that sign notifications, one per institution."""
        return [
            VerifyingKey(
                n.signing_key.key_id,
                f"platform:{inst}",
                n.signing_key.algorithm,
                n.signing_key.private_key.public_key,
            )
            for inst, n in self.nodes.items()
        ]

    def obligations(self, day: date | None = None) -> list[Obligation]:
        """The interbank obligations of one Asia/Shanghai business date (for clearing)."""
        return self.switch.obligations(day)
