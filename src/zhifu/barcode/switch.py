"""The interconnection switch (互联互通): route a code to its institution, move the money
through each institution's ledger, and record the interbank obligations for clearing.

Routing never guesses (docs/standards/barcode.md §2, §5): a payment code goes to the institution
whose prefix
*and* length match in :data:`~zhifu.barcode.registry.PREFIXES`; a collection code to the
institution of its scheme and host in :data:`~zhifu.barcode.registry.HOSTS` (look-alike hosts
refused). Real-world institutions (WeChat Pay, Alipay, UnionPay) are recognised but not
connected, and refused with ``auth_code_issuer_not_connected``.

A payment between two institutions clears through the switch (银发〔2017〕296号): the issuer's
ledger owes the switch (``issuer_clearing``), the acquirer's ledger is owed by it
(``acquirer_clearing``), and the switch records an :class:`~zhifu.barcode.model.Obligation`
(payer institution -> payee institution, amount, order, Shanghai business date) that the
clearing engine nets. :meth:`Switch.obligations` returns a day's obligations.

>>> route_payment_code("120061098828009406", {"zhifu"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.barcode.api.errors.BarcodeError: auth_code_issuer_not_connected: ...
>>> route_payment_code("910000000000000000", {"zhifu"})
'zhifu'
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.codes.collection_code import CollectionCode, Refusal, classify_url
from zhifu.barcode.codes.emvqr.parse import parse_mpm
from zhifu.barcode.institution import InstitutionNode
from zhifu.barcode.model import Obligation
from zhifu.barcode.platform.limits import business_date
from zhifu.barcode.platform.orderbook import OrderBook
from zhifu.barcode.platform.postings import Leg
from zhifu.barcode.registry import PREFIXES, CollectionKind, institution_for_gui
from zhifu.ledger import CreateTransferResult as R


def route_payment_code(code: str, connected: Collection[str]) -> str:
    """The institution that issued a payment code (by prefix and length)."""
    text = code.strip() if isinstance(code, str) else ""
    if not (text.isascii() and text.isdigit() and 16 <= len(text) <= 24):
        raise BarcodeError("auth_code_malformed")
    rule = PREFIXES.lookup(text)
    if rule is None:
        raise BarcodeError("auth_code_unknown_issuer")
    if rule.institution not in connected:
        raise BarcodeError("auth_code_issuer_not_connected")
    return rule.institution


def route_collection_code(url: str, connected: Collection[str]) -> CollectionCode:
    """The recognised collection code (its institution is connected), or a refusal: a URL, or
    an EMVCo merchant-presented payload of zhifu's own form (see :func:`route_mpm`)."""
    text = url.strip() if isinstance(url, str) else ""
    if text.startswith("0002"):
        return route_mpm(text, connected)
    found = classify_url(text)
    if isinstance(found, Refusal):
        raise BarcodeError("collection_code_refused", f"refused: {found.reason.value}")
    if found.institution not in connected or not found.own:
        raise BarcodeError("collection_code_refused", "its institution is not connected")
    return found


def route_mpm(payload: str, connected: Collection[str]) -> CollectionCode:
    """An EMVCo MPM collection code of a connected institution [A]: a merchant account
    template (26-51) whose 00 is the institution's GUI (``test.<id>.pay``) and whose 01 is the
    code's token; 01 (point of initiation) ``12`` is an order's dynamic code, ``11`` a static
    one. A payload with any error (CRC, lengths, ...) is refused."""
    parsed = parse_mpm(payload)
    if parsed.errors:
        raise BarcodeError("collection_code_refused", f"EMVCo: {parsed.errors[0].code.value}")
    for obj in parsed.tree:
        gui, token = obj.child("00"), obj.child("01")
        if not ("26" <= obj.id <= "51") or gui is None or token is None:
            continue
        institution = institution_for_gui(gui.value)
        if institution is not None and institution in connected:
            dynamic = parsed.value("01") == "12"
            kind = CollectionKind.DYNAMIC_ORDER if dynamic else CollectionKind.STATIC_MERCHANT
            return CollectionCode(
                payload, institution, "emvco", "", kind, token.value.upper(), own=True
            )
    raise BarcodeError("collection_code_refused", "no connected institution in the payload")


class Outcome(Enum):
    """How a transfer chain went in one ledger."""

    DONE = "done"  # OK, or a chain sent before (exactly once)
    DECLINED = "declined"  # the debited account cannot cover it (its ids are burnt)
    EXISTED = "existed"  # EXISTS on the first link fails the rest: look the chain up


_DECLINED = frozenset({R.EXCEEDS_CREDITS, R.ID_ALREADY_FAILED})


def outcome_of(results: list[R]) -> Outcome:
    """Read a chain's results: done, declined, or sent before.

    As in TigerBeetle, ``EXISTS`` counts as a failure inside a linked chain: a chain sent again
    answers ``EXISTS`` for its first transfer and ``LINKED_EVENT_FAILED`` for the others, so
    such an answer means "look the transfers up" (:meth:`Switch.post` does).
    """
    if all(r is R.OK for r in results) or results == [R.EXISTS]:
        return Outcome.DONE
    rest = set(results) - {R.LINKED_EVENT_FAILED}
    if rest and rest <= _DECLINED:
        return Outcome.DECLINED
    if rest == {R.EXISTS}:
        return Outcome.EXISTED
    raise RuntimeError(f"ledger refused a barcode chain: {[r.name for r in results]}")


@dataclass(frozen=True, slots=True)
class Posted:
    """The result of posting a payment's or refund's legs."""

    outcome: Outcome
    declined_at: str | None = None  # the institution whose ledger declined


class Switch:
    """Routes codes and posts legs across the institutions (see the module docstring)."""

    def __init__(self, nodes: Mapping[str, InstitutionNode], book: OrderBook) -> None:
        self.nodes = dict(nodes)
        self.book = book

    def node(self, institution_id: str) -> InstitutionNode:
        return self.nodes[institution_id]

    def issuer_of(self, code: str) -> InstitutionNode:
        return self.nodes[route_payment_code(code, self.nodes)]

    def collection(self, url: str) -> tuple[InstitutionNode, CollectionCode]:
        found = route_collection_code(url, self.nodes)
        return self.nodes[found.institution], found

    def post(self, legs: tuple[Leg, ...]) -> Posted:
        """Apply the legs in order; stop at the first that is declined (the later legs were
        never sent, the earlier ones are complete). Every chain is idempotent by its ids."""
        for leg in legs:
            declined = self._judge(leg, self.nodes[leg.institution].apply(leg.transfers))
            if declined is not None:
                return declined
        return Posted(Outcome.DONE)

    async def post_async(self, legs: tuple[Leg, ...]) -> Posted:
        """:meth:`post` for an event loop: awaits each ledger's group commit instead of
        holding a thread while it syncs."""
        for leg in legs:
            results = await self.nodes[leg.institution].ledger.create_transfers_async(leg.transfers)
            declined = self._judge(leg, results)
            if declined is not None:
                return declined
        return Posted(Outcome.DONE)

    def _judge(self, leg: Leg, results: list[R]) -> Posted | None:
        """None when the leg is (now or already) complete; the decline otherwise."""
        outcome = outcome_of(results)
        if outcome is Outcome.DECLINED:
            return Posted(Outcome.DECLINED, leg.institution)
        if outcome is Outcome.EXISTED:
            ids = [t.id for t in leg.transfers]
            if len(self.nodes[leg.institution].ledger.lookup_transfers(ids)) != len(ids):
                raise RuntimeError("a barcode chain exists only in part")
        return None

    @staticmethod
    def obligation(
        *, payer: str, payee: str, amount: int, order_id: str, reference: str, when: datetime
    ) -> Obligation | None:
        """The obligation of a movement between two institutions (None within one)."""
        if payer == payee:
            return None
        return Obligation(
            f"OB-{reference}", payer, payee, amount, order_id, reference, business_date(when), when
        )

    def obligations(self, day: date | None = None) -> list[Obligation]:
        """The obligations of one Asia/Shanghai business date (every one without a date)."""
        return self.book.obligations(day)
