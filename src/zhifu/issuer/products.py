"""Card products as data: which ledger account a card's money sits in, and how it is limited.

``debit``: a deposit account (chart 20111, never below zero, enforced by the ledger);
``credit``: a credit card account (chart 13031, what the cardholder owes; the limit is checked
by the issuer); ``magstripe``: a debit card with a magnetic stripe only (tracks 2 and 3, the
CVN on track 2, service code 120: online authorisation, PIN required). Every card also has
an e-cash pool account (chart 20113) that designated-account loads move money into: the money
then sits on the chip.

>>> PRODUCTS["debit"].chart_code, PRODUCTS["credit"].credit
(20111, True)
"""

from __future__ import annotations

import dataclasses
from typing import Final

from zhifu.ledger.chart import BY_KEY

__all__ = ["ECASH_POOL_CODE", "PRODUCTS", "Product"]


@dataclasses.dataclass(frozen=True)
class Product:
    """A card product: its name, the card profile it is personalised with, its account."""

    name: str
    profile: str
    chart_code: int
    credit: bool
    stripe: bool = False
    """A magnetic-stripe card only (a ``zhifu-stripe/1`` file, service code 120), no chip."""


PRODUCTS: Final[dict[str, Product]] = {
    "debit": Product("debit", "debit", BY_KEY["customer_deposits"].code, credit=False),
    "credit": Product("credit", "credit", BY_KEY["credit_card_accounts"].code, credit=True),
    "magstripe": Product(
        "magstripe", "", BY_KEY["customer_deposits"].code, credit=False, stripe=True
    ),
}
"""Product name -> product."""

ECASH_POOL_CODE: Final = BY_KEY["card_ecash_pool"].code
