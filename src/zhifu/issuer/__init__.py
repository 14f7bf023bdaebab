"""The card issuer: issuing PBOC cards, authorising their transactions, holding their accounts.

:class:`Issuer` issues emulated cards (keys from its security module, accounts in the ledger,
a PIN verification value and never the PIN) and answers the acquirer through
:class:`~zhifu.issuer.link.IssuerLink`: ARQC and ATC, PIN, status, expiry, funds, holds,
voids, refunds, reversals and e-cash loads. ``docs/issuer.md`` describes the package.
"""

from zhifu.issuer.link import (
    AuthorizationRequest,
    AuthorizationResponse,
    Decision,
    IssuerLink,
    Kind,
    PinData,
    ReversalRequest,
    ReversalResponse,
    transaction_id,
)
from zhifu.issuer.service import Balances, IssuedCard, Issuer

__all__ = [
    "AuthorizationRequest",
    "AuthorizationResponse",
    "Balances",
    "Decision",
    "IssuedCard",
    "Issuer",
    "IssuerLink",
    "Kind",
    "PinData",
    "ReversalRequest",
    "ReversalResponse",
    "transaction_id",
]
