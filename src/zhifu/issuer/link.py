"""The acquirer ↔ issuer link: what the acquirer asks of a card issuer, and what it answers.

One interface, two carriers: :class:`~zhifu.issuer.Issuer` answers in-process (``make run``),
and the POS dialect over TCP carries the same requests to an issuer host (``zhifu issuer run``)
or to a user's own. The acquirer holds an :class:`IssuerLink` and nothing else of the issuer.

Every request carries a caller-chosen :attr:`AuthorizationRequest.transaction_id`, derived by
the acquirer from terminal, batch and STAN (:func:`transaction_id`): the same id again gets
the stored answer and never a second posting. Requests that refer to an earlier transaction
(void, completion, refund, reversal) name it by that id in ``original_id``.

Money moves on the issuer's books as :mod:`docs/issuer.md <zhifu.issuer>` describes: an
approved purchase is one posted transfer, cardholder account → the issuer's card clearing
account; a pre-authorisation is a pending transfer that completion posts (for at most the
held amount) and void or expiry releases; void and refund are new transfers the other way;
a reversal undoes exactly what its original did, once.

>>> transaction_id("10000001", "000001", "000123")
'10000001-000001-000123'
>>> Kind.PURCHASE.reversible, Kind.BALANCE.reversible, Kind.REFUND.reversible
(True, False, False)
>>> Decision.APPROVED.approved, Decision.INSUFFICIENT_FUNDS.approved
(True, False)
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Protocol

from zhifu.security.keys import KeyHandle

__all__ = [
    "AuthorizationRequest",
    "AuthorizationResponse",
    "Decision",
    "IssuerLink",
    "Kind",
    "PinData",
    "ReversalRequest",
    "ReversalResponse",
    "transaction_id",
]


def transaction_id(terminal_id: str, batch: str, stan: str) -> str:
    """The id of a terminal's transaction: terminal (41), batch (60.2) and STAN (11)."""
    return f"{terminal_id}-{batch}-{stan}"


class Kind(enum.Enum):
    """What the acquirer asks; the value is the transaction's name in logs and documents."""

    BALANCE = "balance"
    PURCHASE = "purchase"
    PURCHASE_VOID = "purchase-void"
    REFUND = "refund"
    PREAUTH = "preauth"
    PREAUTH_VOID = "preauth-void"
    COMPLETION = "completion"
    COMPLETION_VOID = "completion-void"
    ECASH_LOAD = "ecash-load"
    ECASH_LOAD_VOID = "ecash-load-void"
    OFFLINE_SALE = "offline-sale"

    @property
    def reversible(self) -> bool:
        """True for the kinds a 0400 may undo (docs/standards/iso8583-cup.md §4.1)."""
        return self not in (Kind.BALANCE, Kind.REFUND, Kind.OFFLINE_SALE)

    @property
    def refers_to_original(self) -> bool:
        """True for the kinds that name an earlier transaction in ``original_id``."""
        return self in _REFERRING


_REFERRING = frozenset(
    {
        Kind.PURCHASE_VOID,
        Kind.REFUND,
        Kind.PREAUTH_VOID,
        Kind.COMPLETION,
        Kind.COMPLETION_VOID,
        Kind.ECASH_LOAD_VOID,
    }
)


class Decision(enum.Enum):
    """The issuer's decision with its reason; ``field_39`` of each is in one table
    (:data:`zhifu.issuer.decisions.FIELD_39`)."""

    APPROVED = "approved"
    INSUFFICIENT_FUNDS = "insufficient funds"
    EXPIRED_CARD = "expired card"
    LOST_CARD = "lost card"
    STOLEN_CARD = "stolen card"
    INVALID_CARD = "invalid card number"
    OVER_LIMIT = "exceeds amount limit"
    NOT_PERMITTED_CARDHOLDER = "transaction not permitted to the cardholder"
    RESTRICTED_CARD = "restricted card"
    WRONG_PIN = "incorrect PIN"
    PIN_TRIES_EXCEEDED = "PIN tries exceeded"
    CRYPTOGRAM_FAILED = "ARQC verification failed or ATC replayed"
    CVN_FAILED = "the stripe's card verification value is wrong"
    ORIGINAL_NOT_FOUND = "original transaction not found"
    AMOUNT_MISMATCH = "amount differs from the original"
    INVALID_AMOUNT = "invalid amount"
    INVALID_TRANSACTION = "invalid related transaction"
    SECURITY_FAILED = "security processing failed"
    DUPLICATE = "duplicate transmission with different content"
    SYSTEM_ERROR = "issuer system error"

    @property
    def approved(self) -> bool:
        """True for an approval."""
        return self is Decision.APPROVED


@dataclasses.dataclass(frozen=True, repr=False)
class PinData:
    """An online PIN: the block as it arrived, under the acquirer's zone PIN key.

    The acquirer translates the terminal's block (under its PIK/TPK) to the zone key before
    asking; the issuer verifies inside its security module. Never printed.
    """

    block: bytes
    zone_key: KeyHandle
    block_format: int = 0

    def __repr__(self) -> str:
        return "PinData(<masked>)"


@dataclasses.dataclass(frozen=True, repr=False)
class AuthorizationRequest:
    """One financial request (0100/0200/0220 family) as the issuer needs it.

    ``pan``, ``expiry`` (YYMM), ``psn`` and ``service_code`` come from fields 2/35, 14, 23 and
    35; ``icc`` is field 55 as tag → value (empty for magstripe); ``amount`` is in fen (0 for a
    balance inquiry) with ``currency`` the ISO 4217 numeric code (field 49).
    """

    kind: Kind
    transaction_id: str
    pan: str
    amount: int
    currency: str = "156"
    expiry: str | None = None
    psn: str | None = None
    service_code: str | None = None
    pos_entry_mode: str = "051"
    icc: Mapping[int, bytes] = dataclasses.field(default_factory=dict)
    pin: PinData | None = None
    original_id: str | None = None
    original_auth_code: str | None = None
    merchant_id: str = ""
    terminal_id: str = ""
    rrn: str = ""
    discretionary: str = ""
    """Track 2's discretionary data (with the stripe's CVN): for this decision only."""

    def __repr__(self) -> str:
        return (
            f"AuthorizationRequest(kind={self.kind.value!r}, id={self.transaction_id!r}, "
            f"amount={self.amount}, pan=<masked>)"
        )


@dataclasses.dataclass(frozen=True)
class AuthorizationResponse:
    """The issuer's answer. ``field_39`` is the code of ``decision`` from the one table.

    ``icc`` is what goes back in field 55: the ARPC (tag 91) when the request carried an ARQC,
    and issuer scripts (tags 71/72) when the issuer has any. Balances are in fen, given for a
    balance inquiry and a decline for funds; ``None`` otherwise.
    """

    transaction_id: str
    decision: Decision
    field_39: str
    auth_code: str = ""
    icc: Mapping[int, bytes] = dataclasses.field(default_factory=dict)
    available: int | None = None
    ledger: int | None = None
    reason: str = ""

    @property
    def approved(self) -> bool:
        """True when the issuer approved."""
        return self.decision.approved


@dataclasses.dataclass(frozen=True)
class ReversalRequest:
    """A 0400 for the transaction ``original_id``; ``reason`` is the terminal's field 39."""

    original_id: str
    reason: str = "98"
    amount: int | None = None


@dataclasses.dataclass(frozen=True)
class ReversalResponse:
    """What a reversal did: ``undone`` True when it undid a posting or a hold now;
    ``found`` False when the issuer knows no approved original (nothing posted)."""

    original_id: str
    field_39: str
    undone: bool
    found: bool


class IssuerLink(Protocol):
    """What the acquirer calls. Implementations are thread-safe and idempotent per id."""

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        """Decide and, when approved, move the money (see the module text)."""
        ...

    def reverse(self, request: ReversalRequest) -> ReversalResponse:
        """Undo the original's effect at most once; unknown or declined originals post nothing."""
        ...

    def advise(self, transaction_id: str, icc: Mapping[int, bytes]) -> None:
        """Record a script result or an offline TC (field 55) for a transaction."""
        ...
