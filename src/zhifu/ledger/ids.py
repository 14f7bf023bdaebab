"""Ledger ids from names: one account or transfer id per meaning, the same in every process.

A caller that derives its ids from what the movement *is* (the card transaction
``10000001-000001-000123``'s purchase leg) gets idempotency for free: a retry, a second host
process or a restart computes the same id, and the ledger answers ``EXISTS`` instead of posting
twice. The id is the first 16 bytes of SHA-256 over the parts joined by ``|`` (never 0 nor
:data:`~zhifu.ledger.model.ID_MAX`).

>>> derive_id("issuer", "purchase", "10000001-000001-000123") == derive_id(
...     "issuer", "purchase", "10000001-000001-000123")
True
>>> derive_id("issuer", "purchase", "t") != derive_id("acquirer", "purchase", "t")
True
>>> 0 < derive_id("x") < 2**128 - 1
True
"""

from __future__ import annotations

import hashlib

from zhifu.ledger.model import ID_MAX

__all__ = ["derive_id"]


def derive_id(*parts: str) -> int:
    """A 128-bit ledger id from the parts (namespace first: ``"issuer", "card", pan_hash``)."""
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).digest()
    value = int.from_bytes(digest[:16], "big")
    return value if 0 < value < ID_MAX else 1 + value % (ID_MAX - 1)
