"""``Issuer``: issues cards and answers the acquirer (:class:`~zhifu.issuer.link.IssuerLink`).

One request runs under two locks taken in order, the transaction id's then the card's, so a
retransmission, its reversal and another transaction of the same card never interleave; other
cards proceed in parallel. A duplicate id gets its recorded answer (an approval whose answer
row was lost in a crash is found by its posting). See ``docs/issuer.md``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from zhifu.codec.pan import mask_pan
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError
from zhifu.issuer import funds
from zhifu.issuer.authorize import Authorizer
from zhifu.issuer.cards import choose_pan, personalise, stripe_card
from zhifu.issuer.home import issuer_home
from zhifu.issuer.keys import IssuerKeyring
from zhifu.issuer.link import (
    AuthorizationRequest,
    AuthorizationResponse,
    PinData,
    ReversalRequest,
    ReversalResponse,
)
from zhifu.issuer.products import PRODUCTS
from zhifu.issuer.reversal import reverse
from zhifu.issuer.store import CardRecord, IssuerStore
from zhifu.ledger import Ledger
from zhifu.security.hsm.pin import PinBlockFormat
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.protect import DataProtector
from zhifu.security.secrets import Pin

__all__ = ["Balances", "IssuedCard", "Issuer"]

STATUSES = ("active", "lost", "stolen", "blocked")
_STRIPES = 64


@dataclasses.dataclass(frozen=True)
class IssuedCard:
    """A new card: where its chip file is, its masked PAN, product and account."""

    path: Path
    masked_pan: str
    product: str
    account: int


@dataclasses.dataclass(frozen=True)
class Balances:
    """A card's balances in fen: what it may spend now, and what is posted."""

    available: int
    ledger: int
    ecash_pool: int


class Issuer:
    """The card issuer over a security module, a ledger and its own database."""

    def __init__(self, hsm: SoftHsm, ledger: Ledger, store: IssuerStore, *,
                 clock: Clock | None = None, pin_try_limit: int = 3) -> None:  # fmt: skip
        self.keys = IssuerKeyring(hsm)
        self.protector = DataProtector(hsm)
        self.ledger = ledger
        self.store = store
        self.clock = clock or SystemClock()
        funds.open_system_accounts(ledger)
        self._pan_keys: dict[str, str] = {}
        self._expiries: dict[str, str] = {}
        self._txn_locks = [threading.Lock() for _ in range(_STRIPES)]
        self._card_locks = [threading.Lock() for _ in range(_STRIPES)]
        self._authorizer = Authorizer(self, pin_try_limit)

    @classmethod
    def open(cls, hsm: SoftHsm, ledger: Ledger, home: Path | str | None = None) -> Issuer:
        """The issuer with its database in ``home``'s issuer folder (the data directory)."""
        return cls(hsm, ledger, IssuerStore(issuer_home(home) / "issuer.db"))

    def close(self) -> None:
        """Close the database (the ledger and security module belong to the caller)."""
        self.store.close()

    # ----------------------------------------------------------------------- card data

    def pan_key(self, pan: str) -> str:
        """The keyed look-up hash of a PAN (MAC under the issuer's PAN-index key)."""
        key = self._pan_keys.get(pan)
        if key is None:
            data = pan.encode("ascii").ljust(24, b"F")
            mac = self.keys.hsm.generate_mac(self.keys.handle("issuer/pan-index"), data)
            key = self._pan_keys.setdefault(pan, mac.hex().upper())
        return key

    def _pan_enc(self, pan: str) -> str:
        return self.protector.seal("pan", pan)

    def _expiry_enc(self, expiry: str) -> str:
        return self.protector.seal("expiry", expiry)

    def expiry_of(self, card: CardRecord) -> str:
        """A card's expiry (YYMM), deciphered in the security module."""
        found = self._expiries.get(card.pan_key)
        if found is None and card.expiry_enc.startswith("d"):  # SM4-GCM, zhifu.security.protect
            found = self.protector.unseal("expiry", card.expiry_enc)
            self._expiries[card.pan_key] = found
        elif found is None:  # a record of an earlier release: TDES ECB under issuer/pan-data
            key = self.keys.handle("issuer/pan-data")
            clear = self.keys.hsm.decrypt_data(key, bytes.fromhex(card.expiry_enc))
            found = self._expiries.setdefault(card.pan_key, clear.rstrip(b"F").decode("ascii"))
        return found

    def rotate_data_keys(self) -> int:
        """New data and index keys (:meth:`DataProtector.rotate`), every card's sealed PAN and
        expiry moved under them (records of an earlier release too); the number of cards."""
        self.protector.rotate()
        cards = self.store.cards()
        for card in cards:
            expiry = self._expiry_enc(self.expiry_of(card))
            if card.pan_enc.startswith("d"):
                pan = self.protector.rewrap("pan", card.pan_enc)
            else:  # TDES ECB of an earlier release
                clear = self.keys.hsm.decrypt_data(self.keys.handle("issuer/pan-data"),
                                                   bytes.fromhex(card.pan_enc))  # fmt: skip
                pan = self._pan_enc(clear.rstrip(b"F").decode("ascii"))
            self.store.set_sealed(card.pan_key, pan, expiry)
        return len(cards)

    def card(self, pan: str) -> CardRecord | None:
        """The card record of a PAN, or None."""
        return self.store.card(self.pan_key(pan))

    @contextmanager
    def locked(self, transaction_id: str, pan_key: str) -> Iterator[None]:
        """Hold the transaction's lock, then the card's (always in that order)."""
        txn = self._txn_locks[hash(transaction_id) % _STRIPES]
        card = self._card_locks[hash(pan_key) % _STRIPES]
        with txn, card:
            yield

    # ----------------------------------------------------------------------- issuing

    def issue_card(
        self,
        product: str,
        opening_balance: int,
        pin: str,
        out: Path | str,
        *,
        profile: str | None = None,
        today: date | None = None,
    ) -> IssuedCard:
        """Issue a card: the chip file ``out``, the accounts, the record.

        ``opening_balance`` (fen) is the deposit of a debit card or the limit of a credit card.
        """
        chosen = PRODUCTS.get(product)
        if chosen is None:
            raise UsageError(
                f"no product {product!r} (choose from {sorted(PRODUCTS)})", argument="product"
            )
        if opening_balance < 0:
            raise UsageError("the opening balance may not be negative", argument="balance")
        secret = Pin(pin)
        pan = choose_pan("622800")
        if chosen.stripe:
            chip = stripe_card(self.keys, pan, out, today=today)
        else:
            chip = personalise(self.keys, chosen, pan, pin, out, profile=profile, today=today)
        pan_key = self.pan_key(chip.pan)
        block = self.keys.hsm.encrypt_pin_block(secret, self.keys.zpk, chip.pan)
        pvv = self.keys.hsm.generate_pin_verification_value(
            block, self.keys.zpk, pan=chip.pan, pvk=self.keys.handle("issuer/pvk")
        )
        funds.open_card_accounts(self.ledger, pan_key, chosen.chart_code, chosen.credit)
        record = CardRecord(
            pan_key, self._pan_enc(chip.pan), mask_pan(chip.pan), chip.psn,
            self._expiry_enc(chip.expiry),
            chip.service_code, "active", chosen.name, funds.card_account(pan_key),
            funds.ecash_account(pan_key), opening_balance if chosen.credit else 0, pvv, 0, 0,
        )  # fmt: skip
        self.store.add_card(record)
        if opening_balance and not chosen.credit:
            route = (funds.ISSUER_FUNDING, record.account, funds.CODE_OPENING)
            opening = funds.movement("opening", pan_key, route, opening_balance)
            result = funds.post(self.ledger, opening)
            if result.name != "OK":
                raise RuntimeError(f"the opening deposit was refused: {result.name}")
        return IssuedCard(Path(out), record.masked, chosen.name, record.account)

    def set_status(self, pan: str, status: str) -> None:
        """Mark a card active, lost, stolen or blocked."""
        if status not in STATUSES:
            raise UsageError(f"status is one of {', '.join(STATUSES)}", argument="status")
        if self.card(pan) is None:
            raise UsageError("this issuer has no such card", argument="card")
        self.store.set_status(self.pan_key(pan), status)

    def balances(self, pan: str) -> Balances:
        """A card's balances (UsageError when the issuer does not know the card)."""
        card = self.card(pan)
        if card is None:
            raise UsageError("this issuer has no such card", argument="card")
        return self.balances_of(card)

    def balances_of(self, card: CardRecord) -> Balances:
        """The balances of a card record."""
        account, pool = self.ledger.lookup_accounts([card.account, card.ecash_account])
        ecash = pool.credits_posted - pool.debits_posted
        if card.credit_limit and PRODUCTS[card.product].credit:
            owed_posted = account.debits_posted - account.credits_posted
            available = card.credit_limit - owed_posted - account.debits_pending
            return Balances(available, card.credit_limit - owed_posted, ecash)
        posted = account.credits_posted - account.debits_posted
        return Balances(posted - account.debits_pending, posted, ecash)

    # ----------------------------------------------------------------------- the link

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        """Decide, move the money when approved, record the answer (see ``docs/issuer.md``)."""
        return self._authorizer.authorize(request)

    def reverse(self, request: ReversalRequest) -> ReversalResponse:
        """Undo the original's effect at most once."""
        return reverse(self, request)

    def advise(self, transaction_id: str, icc: Mapping[int, bytes]) -> None:
        """Keep the script result (DF31) or the TC of an advice."""
        result = icc.get(0xDF31, b"") or icc.get(0x9F26, b"")
        self.store.record_advice(transaction_id, result.hex().upper())

    def verify_pin(self, card: CardRecord, pan: str, pin: PinData) -> bool:
        """Verify a PIN block under the zone key against the card's PVV, in the module."""
        return self.keys.hsm.verify_pin(
            pin.block,
            pin.zone_key,
            pan=pan,
            pvv=card.pvv,
            pvk=self.keys.handle("issuer/pvk"),
            format=PinBlockFormat(pin.block_format),
        )
