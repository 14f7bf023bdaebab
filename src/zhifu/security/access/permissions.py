"""Roles, permissions and the route table: who may call what, as data. Everything not granted
here is denied.

A *role* is what a person does (a security administrator, an operator of the bank or the
acquirer, an auditor, a compliance officer, a merchant's staff); privileged roles must give a
TOTP code when they sign in. A *permission* is a named ability (``audit.read``); each role is
granted a set of them. The *route table* says, for every HTTP route of the web app, what opens
it: ``public`` (anyone), ``signed`` (a request signed with a key registered by an institution,
a merchant or a clearing participant — the barcode and clearing APIs check that signature
themselves), or a permission. An API key carries scopes, a subset of the permissions chosen
when it is made. A route missing from the table is refused to everybody.

>>> allows(Principal("li", "auditor", "session"), "audit.read")
True
>>> allows(Principal("li", "auditor", "session"), "users.manage")
False
>>> allows(Principal("ci", "", "api-key", frozenset({"ledger.read"})), "ledger.read")
True
>>> route_access("GET", "/healthz"), route_access("GET", "/v1/orders/{order_id:str}")
('public', 'signed')
>>> route_access("PUT", "/x") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "PERMISSIONS",
    "PUBLIC",
    "PUBLIC_PREFIXES",
    "ROLES",
    "ROUTES",
    "SIGNED",
    "Principal",
    "Role",
    "allows",
    "route_access",
]

_TYPED: Final = re.compile(r"\{(\w+):[^}]*\}")
PUBLIC: Final = "public"
SIGNED: Final = "signed"


@dataclass(frozen=True, slots=True)
class Role:
    """A role: whether it must give a second factor, and what it is for."""

    name: str
    privileged: bool
    description: str


ROLES: Final[Mapping[str, Role]] = {
    r.name: r
    for r in (
        Role("admin", True, "security administrator: users, API keys, blocks, PAN unmasking"),
        Role("operator", True, "operations of the bank or the acquirer: transactions, books"),
        Role("auditor", True, "reads the audit trail and the books; changes nothing"),
        Role("compliance", True, "institutions, fee schedules, complaints, reserve funds"),
        Role("merchant", False, "a merchant's staff: the merchant's own payments"),
    )
}
"""The roles; a privileged role signs in with a password and a TOTP code."""

PERMISSIONS: Final[Mapping[str, tuple[str, frozenset[str]]]] = {
    "session.read": ("see one's own session", frozenset(ROLES)),
    "users.manage": ("add users, unlock them, list them", frozenset({"admin"})),
    "apikeys.manage": ("make, list and revoke API keys", frozenset({"admin"})),
    "audit.read": ("read and verify the audit trail", frozenset({"admin", "auditor"})),
    "pan.unmask": ("see a whole card number or other C2 value (audited)", frozenset({"admin"})),
    "compliance.read": (
        "institutions, their licences and histories",
        frozenset({"admin", "auditor", "compliance"}),
    ),
    "compliance.manage": (
        "move an institution's licence (review, register, suspend...)",
        frozenset({"compliance"}),
    ),
    "keys.ceremony": ("enter a key component under dual control", frozenset({"admin", "operator"})),
    "risk.read": ("see alerts and blocks", frozenset({"admin", "operator", "auditor"})),
    "risk.manage": ("lift a block", frozenset({"admin"})),
    "ledger.read": ("accounts and balances", frozenset({"operator", "auditor", "compliance"})),
    "transactions.read": (
        "the dashboard, card and barcode transactions, their messages (masked)",
        frozenset({"admin", "operator", "auditor"}),
    ),
    "clearing.read": (
        "the BEPS day, positions, queues, results",
        frozenset({"operator", "auditor"}),
    ),
    "clearing.operate": ("close a clearing round now", frozenset({"operator"})),
    "terminal.use": ("drive the virtual mPOS terminal", frozenset({"operator", "merchant"})),
    "wallet.use": ("drive a demo customer's wallet", frozenset({"operator"})),
    "checkout.use": ("show a merchant's collection code", frozenset({"operator", "merchant"})),
}
"""Each permission: what it allows, and the roles granted it."""

ROUTES: Final[Mapping[tuple[str, str], str]] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/errors"): PUBLIC,
    ("POST", "/v1/session"): PUBLIC,
    ("GET", "/console/sign-in"): PUBLIC,
    ("POST", "/console/sign-in"): PUBLIC,
    ("GET", "/console"): "session.read",
    ("POST", "/console/sign-out"): "session.read",
    ("GET", "/console/audit"): "audit.read",
    ("GET", "/console/risk"): "risk.read",
    ("GET", "/console/institutions"): "compliance.read",
    ("GET", "/console/dashboard"): "transactions.read",
    ("GET", "/console/transactions"): "transactions.read",
    ("GET", "/console/transactions/{seq}"): "transactions.read",
    ("GET", "/console/terminal"): "terminal.use",
    ("GET", "/console/terminal/state"): "terminal.use",
    ("POST", "/console/terminal/key"): "terminal.use",
    ("POST", "/console/terminal/card"): "terminal.use",
    ("GET", "/console/wallet"): "wallet.use",
    ("GET", "/console/wallet/code"): "wallet.use",
    ("POST", "/console/wallet/scan"): "wallet.use",
    ("POST", "/console/wallet/pay"): "wallet.use",
    ("GET", "/console/checkout"): "checkout.use",
    ("POST", "/console/checkout"): "checkout.use",
    ("GET", "/console/checkout/{order_id}"): "checkout.use",
    ("GET", "/console/clearing"): "clearing.read",
    ("GET", "/console/clearing/csv/{report}"): "clearing.read",
    ("POST", "/console/clearing/close-round"): "clearing.operate",
    ("GET", "/console/ledger"): "ledger.read",
    ("GET", "/console/ledger/{account}"): "ledger.read",
    ("GET", "/console/compliance"): "compliance.read",
    ("GET", "/v1/session"): "session.read",
    ("DELETE", "/v1/session"): "session.read",
    ("GET", "/v1/users"): "users.manage",
    ("POST", "/v1/users"): "users.manage",
    ("POST", "/v1/users/{name}/unlock"): "users.manage",
    ("GET", "/v1/api-keys"): "apikeys.manage",
    ("POST", "/v1/api-keys"): "apikeys.manage",
    ("DELETE", "/v1/api-keys/{key_id}"): "apikeys.manage",
    ("GET", "/v1/audit"): "audit.read",
    ("GET", "/v1/risk/alerts"): "risk.read",
    ("GET", "/v1/risk/blocks"): "risk.read",
    ("DELETE", "/v1/risk/blocks/{kind}/{subject}"): "risk.manage",
    ("GET", "/metrics"): "risk.read",
    ("GET", "/v1/compliance/institutions"): "compliance.read",
    ("POST", "/v1/compliance/institutions"): "compliance.manage",
    ("POST", "/v1/compliance/institutions/{code}/actions"): "compliance.manage",
    ("GET", "/v1/keys"): PUBLIC,
    ("POST", "/v1/micropay"): SIGNED,
    ("GET", "/v1/orders"): SIGNED,
    ("POST", "/v1/orders"): SIGNED,
    ("GET", "/v1/orders/{order_id}"): SIGNED,
    ("POST", "/v1/orders/{order_id}/close"): SIGNED,
    ("GET", "/v1/orders/{order_id}/refunds"): SIGNED,
    ("POST", "/v1/orders/{order_id}/refunds"): SIGNED,
    ("POST", "/v1/wallet/resolve"): SIGNED,
    ("POST", "/v1/wallet/payments"): SIGNED,
    ("GET", "/v1/wallet/history"): SIGNED,
    ("GET", "/v1/switch/obligations"): SIGNED,
    ("POST", "/clearing/messages"): SIGNED,
    ("GET", "/clearing/inbox/{bank}"): SIGNED,
    ("GET", "/clearing/reconciliation/{bank}"): SIGNED,
    ("GET", "/clearing/status"): PUBLIC,
}
"""What opens each route (method, path template as the OpenAPI document writes it)."""

PUBLIC_PREFIXES: Final = ("/schema", "/static/")
"""Path prefixes open to anyone: the OpenAPI document and UI, the package's static files."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is from: a person's session (its role) or an API key (its scopes)."""

    name: str
    role: str
    kind: str
    scopes: frozenset[str] = field(default_factory=frozenset)


def allows(principal: Principal, permission: str) -> bool:
    """Whether ``principal`` holds ``permission`` (through its role, or its key's scopes)."""
    if permission not in PERMISSIONS:
        return False
    if principal.kind == "api-key":
        return permission in principal.scopes
    return principal.role in PERMISSIONS[permission][1]


def route_access(method: str, template: str) -> str | None:
    """``public``, ``signed``, a permission name, or None (the route is refused).

    ``template`` is the path as the OpenAPI document writes it (``/v1/orders/{order_id}``) or
    as the router does (``/v1/orders/{order_id:str}``).
    """
    template = _TYPED.sub(r"{\1}", template)
    if method == "OPTIONS" or (method in {"GET", "HEAD"} and template.startswith(PUBLIC_PREFIXES)):
        return PUBLIC
    return ROUTES.get((method, template))
