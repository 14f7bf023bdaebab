"""The card issuer: issuing PBOC cards, authorising their transactions, holding their accounts.

:mod:`~zhifu.issuer.link` is the interface the acquirer calls (in-process or over TCP in the
POS dialect); ``docs/issuer.md`` describes the package, its storage and its decisions.
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
