"""Authorisation: the checks in order, the money, the answer (``docs/issuer.md``).

Order of checks: a recorded answer for the id (a duplicate: the same answer again, ``94`` when
the content differs) → a reversal that came first (``12``) → the card (``14``), its status
(``41``/``43``/``62``) and expiry (``54``) → the ARQC with the ATC rule (``34``) → the PIN
(``55``, then ``75`` at the try limit) → the amount and the funds of the kind (``13``, ``61``,
``51``, ``25``, ``64``). An approval is posted before its answer row is written, so a crash in
between is found by the posting and answered as approved.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from zhifu.core.clock import SHANGHAI
from zhifu.issuer import cryptogram, funds
from zhifu.issuer.decisions import FIELD_39, decision_of
from zhifu.issuer.link import AuthorizationRequest, AuthorizationResponse, Decision, Kind
from zhifu.issuer.products import PRODUCTS
from zhifu.issuer.store import Answer, CardRecord
from zhifu.ledger import CreateTransferResult, Transfer
from zhifu.ledger.ids import derive_id

if TYPE_CHECKING:
    from zhifu.issuer.service import Issuer

__all__ = ["SINGLE_LIMIT", "Authorizer", "auth_code"]

SINGLE_LIMIT: Final = 5_000_000
"""The largest single card transaction, in fen (50,000.00 yuan): above it, ``61``."""
_STATUS: Final = {"lost": Decision.LOST_CARD, "stolen": Decision.STOLEN_CARD,
                  "blocked": Decision.RESTRICTED_CARD}  # fmt: skip
_FUNDS: Final = {
    CreateTransferResult.EXCEEDS_CREDITS: Decision.INSUFFICIENT_FUNDS,
    CreateTransferResult.EXCEEDS_DEBITS: Decision.INSUFFICIENT_FUNDS,
}
_ORIGINAL_KINDS: Final = {
    Kind.PURCHASE_VOID: (Kind.PURCHASE,),
    Kind.REFUND: (Kind.PURCHASE, Kind.COMPLETION, Kind.OFFLINE_SALE),
    Kind.PREAUTH_VOID: (Kind.PREAUTH,),
    Kind.COMPLETION: (Kind.PREAUTH,),
    Kind.COMPLETION_VOID: (Kind.COMPLETION,),
    Kind.ECASH_LOAD_VOID: (Kind.ECASH_LOAD,),
}


def auth_code(transaction_id: str) -> str:
    """The 6-digit authorisation code of an approval (derived, so a replay gives the same)."""
    return f"{derive_id('issuer', 'auth-code', transaction_id) % 1_000_000:06d}"


@dataclasses.dataclass
class _Case:
    """One request while it is decided."""

    request: AuthorizationRequest
    pan_key: str
    card: CardRecord | None = None
    original: Answer | None = None
    atc: int | None = None
    arqc_ok: bool = False
    pin_failures: int | None = None
    scripts: bytes = b""
    offline_atc: int | None = None


class Authorizer:
    """The decision logic of :class:`~zhifu.issuer.service.Issuer`."""

    def __init__(self, issuer: Issuer, pin_try_limit: int) -> None:
        self.issuer = issuer
        self.pin_try_limit = pin_try_limit
        self._money: dict[Kind, Callable[[_Case], Decision]] = {
            Kind.BALANCE: lambda case: Decision.APPROVED,
            Kind.PURCHASE: self._purchase,
            Kind.OFFLINE_SALE: self._offline_sale,
            Kind.PREAUTH: self._preauth,
            Kind.COMPLETION: self._completion,
            Kind.PREAUTH_VOID: self._preauth_void,
            Kind.PURCHASE_VOID: self._void,
            Kind.COMPLETION_VOID: self._void,
            Kind.REFUND: self._refund,
            Kind.ECASH_LOAD: self._ecash_load,
            Kind.ECASH_LOAD_VOID: self._ecash_void,
        }

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        issuer = self.issuer
        case = _Case(request, issuer.pan_key(request.pan))
        with issuer.locked(request.transaction_id, case.pan_key):
            earlier = issuer.store.answer(request.transaction_id)
            if earlier is not None:
                return self._replay(case, earlier)
            decision = self._decide(case)
            if decision is Decision.APPROVED:
                decision = self._money[request.kind](case)
            code = FIELD_39[decision]
            answer = Answer(
                request.transaction_id, request.kind.value, case.pan_key, request.amount,
                request.original_id, code, auth_code(request.transaction_id) if code == "00"
                else "",
                decision.value, 0,
            )  # fmt: skip
            atc = case.atc if case.arqc_ok else None
            offline_atc = case.offline_atc if code == "00" else None
            if not issuer.store.record(
                answer, atc=atc, pin_failures=case.pin_failures, offline_atc=offline_atc
            ):  # another process answered this id first (its decision stands; our postings
                # had the same ids, so they did not move money twice)
                first = issuer.store.answer(request.transaction_id)
                assert first is not None
                return self._replay(case, first)
            return self._response(case, decision)

    # ------------------------------------------------------------------ checks

    def _decide(self, case: _Case) -> Decision:  # noqa: PLR0911 - one return per check
        request, store = case.request, self.issuer.store
        if store.reversal(request.transaction_id) is not None:
            return Decision.INVALID_TRANSACTION
        card = case.card = store.card(case.pan_key)
        if card is None:
            return Decision.INVALID_CARD
        if card.status in _STATUS:
            return _STATUS[card.status]
        today = self.issuer.clock.now().astimezone(SHANGHAI).strftime("%y%m")
        expiry = self.issuer.expiry_of(card)
        if expiry < today or (request.expiry and request.expiry != expiry):
            return Decision.EXPIRED_CARD
        if PRODUCTS[card.product].stripe and not self._cvn_ok(request, card, expiry):
            return Decision.CVN_FAILED
        if not self._cryptogram_ok(case, card):
            return Decision.CRYPTOGRAM_FAILED
        if request.pin is not None:
            decision = self._pin(case, card)
            if decision is not Decision.APPROVED:
                return decision
        if request.kind is not Kind.BALANCE and not request.amount > 0:
            return Decision.INVALID_AMOUNT
        if request.amount > SINGLE_LIMIT:
            return Decision.OVER_LIMIT
        if request.kind.refers_to_original:
            return self._original(case)
        return Decision.APPROVED

    def _cryptogram_ok(self, case: _Case, card: CardRecord) -> bool:
        """An upload's TC, or the ARQC with its ATC rule (nothing to check without 9F26)."""
        request = case.request
        if request.kind is Kind.OFFLINE_SALE:
            return self._offline_tc(case, card)
        if 0x9F26 not in request.icc:
            return True
        check = cryptogram.check_arqc(
            self.issuer.keys, request.icc, pan=request.pan, psn=card.psn, last_atc=card.last_atc
        )
        case.atc, case.arqc_ok = check.atc, check.ok
        return check.ok

    def _cvn_ok(self, request: AuthorizationRequest, card: CardRecord, expiry: str) -> bool:
        """A stripe card's CVN (the first three digits of track 2's discretionary data, zhifu's
        layout) under the issuer's CVK; a request without track 2 has none to check."""
        if not request.service_code:
            return False
        return self.issuer.keys.hsm.verify_cvn(
            self.issuer.keys.handle("issuer/cvk"), pan=request.pan, expiry=expiry,
            service_code=request.service_code, cvn=request.discretionary[:3],
        )  # fmt: skip

    def _offline_tc(self, case: _Case, card: CardRecord) -> bool:
        """An upload's TC verifies and its ATC was not uploaded before (a replayed upload)."""
        request = case.request
        check = cryptogram.check_tc(self.issuer.keys, request.icc, pan=request.pan, psn=card.psn)
        if not check.ok or self.issuer.store.offline_tc(case.pan_key, check.atc) is not None:
            return False
        case.atc, case.arqc_ok, case.offline_atc = check.atc, True, check.atc
        return True

    def _pin(self, case: _Case, card: CardRecord) -> Decision:
        pin = case.request.pin
        assert pin is not None
        if card.pin_failures >= self.pin_try_limit:
            return Decision.PIN_TRIES_EXCEEDED
        try:
            ok = self.issuer.verify_pin(card, case.request.pan, pin)
        except Exception:
            return Decision.SECURITY_FAILED
        if ok:
            case.pin_failures = 0 if card.pin_failures else None
            return Decision.APPROVED
        case.pin_failures = card.pin_failures + 1
        if case.pin_failures >= self.pin_try_limit:
            return Decision.PIN_TRIES_EXCEEDED
        return Decision.WRONG_PIN

    def _original(self, case: _Case) -> Decision:
        request, store = case.request, self.issuer.store
        original = store.answer(request.original_id or "")
        kinds = _ORIGINAL_KINDS[request.kind]
        if (
            original is None
            or original.field_39 != "00"
            or original.pan_key != case.pan_key
            or Kind(original.kind) not in kinds
            or store.reversal(original.id) is not None
        ):
            return Decision.ORIGINAL_NOT_FOUND
        case.original = original
        return Decision.APPROVED

    # ------------------------------------------------------------------ money

    def _post(self, transfer: Transfer) -> Decision:
        result = funds.post(self.issuer.ledger, transfer)
        if result is CreateTransferResult.OK:
            return Decision.APPROVED
        return _FUNDS.get(result, Decision.INVALID_TRANSACTION)

    def _credit_room(self, case: _Case) -> bool:
        card = case.card
        assert card is not None
        if not card.credit_limit:
            return True
        return self.issuer.balances_of(card).available >= case.request.amount

    def _purchase(self, case: _Case) -> Decision:
        card, request = case.card, case.request
        assert card is not None
        if not self._credit_room(case):
            return Decision.INSUFFICIENT_FUNDS
        route = (card.account, funds.ISSUER_CLEARING, funds.CODE_PURCHASE)
        return self._post(funds.movement("purchase", request.transaction_id, route, request.amount))

    def _offline_sale(self, case: _Case) -> Decision:
        """An offline approval uploaded: from the e-cash pool when the card spent its e-cash
        (9F74, the e-cash issuer authorisation code), else from the account like a purchase
        (the floor limit's offline approvals)."""
        card, request = case.card, case.request
        assert card is not None
        if 0x9F74 not in request.icc:
            return self._purchase(case)
        route = (card.ecash_account, funds.ISSUER_CLEARING, funds.CODE_PURCHASE)
        return self._post(funds.movement("purchase", request.transaction_id, route, request.amount))

    def _preauth(self, case: _Case) -> Decision:
        card, request = case.card, case.request
        assert card is not None
        if not self._credit_room(case):
            return Decision.INSUFFICIENT_FUNDS
        return self._post(funds.hold(request.transaction_id, card.account, request.amount))

    def _completion(self, case: _Case) -> Decision:
        request, original = case.request, case.original
        assert original is not None
        if request.amount > original.amount:
            return Decision.AMOUNT_MISMATCH
        return self._post(funds.settle_hold("completion", request.transaction_id, original.id,
                                            request.amount, post_it=True))  # fmt: skip

    def _preauth_void(self, case: _Case) -> Decision:
        request, original = case.request, case.original
        assert original is not None
        return self._post(funds.settle_hold("preauth-void", request.transaction_id, original.id,
                                            0, post_it=False))  # fmt: skip

    def _give_back(self, case: _Case, *, whole: bool) -> Decision:
        card, request, original = case.card, case.request, case.original
        assert card is not None and original is not None
        if whole and (request.amount != original.amount or original.refunded):
            return Decision.AMOUNT_MISMATCH
        if original.refunded + request.amount > original.amount:
            return Decision.INVALID_AMOUNT
        route = (funds.ISSUER_CLEARING, card.account, funds.CODE_RETURN)
        decision = self._post(
            funds.movement("return", request.transaction_id, route, request.amount)
        )
        if decision is Decision.APPROVED:
            self.issuer.store.add_refunded(original.id, request.amount)
        return decision

    def _void(self, case: _Case) -> Decision:
        return self._give_back(case, whole=True)

    def _refund(self, case: _Case) -> Decision:
        return self._give_back(case, whole=False)

    def _ecash_load(self, case: _Case) -> Decision:
        card, request = case.card, case.request
        assert card is not None
        if not case.arqc_ok:
            return Decision.INVALID_TRANSACTION
        route = (card.account, card.ecash_account, funds.CODE_ECASH)
        return self._post(funds.movement("ecash", request.transaction_id, route, request.amount))

    def _ecash_void(self, case: _Case) -> Decision:
        card, request, original = case.card, case.request, case.original
        assert card is not None and original is not None
        if request.amount != original.amount or original.refunded:
            return Decision.AMOUNT_MISMATCH
        route = (card.ecash_account, card.account, funds.CODE_ECASH)
        txn = request.transaction_id
        decision = self._post(funds.movement("ecash-void", txn, route, request.amount))
        if decision is Decision.APPROVED:
            self.issuer.store.add_refunded(original.id, request.amount)
        return decision

    # ------------------------------------------------------------------ answers

    def _response(self, case: _Case, decision: Decision) -> AuthorizationResponse:
        request, card = case.request, case.card
        code = FIELD_39[decision]
        icc: dict[int, bytes] = {}
        if case.arqc_ok and card is not None:
            keys = self.issuer.keys
            icc[0x91] = cryptogram.arpc(keys, request.icc, pan=request.pan, psn=card.psn, arc=code)
            if decision is Decision.APPROVED and request.kind is Kind.ECASH_LOAD:
                before = request.icc.get(0x9F79)
                current = int(before.hex()) if before else 0
                icc[0x72] = cryptogram.ecash_load_script(
                    keys, request.icc, pan=request.pan, psn=card.psn,
                    new_balance=current + request.amount,
                )  # fmt: skip
        available = ledger = None
        wanted = request.kind is Kind.BALANCE or decision is Decision.INSUFFICIENT_FUNDS
        if card is not None and wanted:
            balances = self.issuer.balances_of(card)
            available, ledger = balances.available, balances.ledger
        return AuthorizationResponse(
            request.transaction_id, decision, code,
            auth_code(request.transaction_id) if code == "00" else "", icc, available, ledger,
            decision.value,
        )  # fmt: skip

    def _replay(self, case: _Case, earlier: Answer) -> AuthorizationResponse:
        request = case.request
        same = (
            earlier.pan_key == case.pan_key
            and earlier.amount == request.amount
            and earlier.kind == request.kind.value
        )
        if not same:
            decision = Decision.DUPLICATE
            reason = "the id was used for another transaction"
            return AuthorizationResponse(
                request.transaction_id, decision, FIELD_39[decision], reason=reason
            )
        case.card = self.issuer.store.card(case.pan_key)
        decision = decision_of(earlier.field_39)
        case.arqc_ok = (
            0x9F26 in request.icc
            and case.card is not None
            and decision is not Decision.CRYPTOGRAM_FAILED
        )
        return self._response(case, decision)
