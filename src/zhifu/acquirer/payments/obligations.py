"""Settled card batches as interbank obligations, for BEPS clearing.

Each batch settled on a day makes one obligation: the card-issuing bank owes the acquiring
bank the batch's net (purchases and completions less voids and refunds), or the other way
round when the net is negative. :func:`zhifu.clearing.obligations.obligations_to_items` turns
them into ordinary credits (beps.121) sent by the bank that owes; the clearing centre nets
them in its rounds. The reference is ``C`` + terminal + batch.
"""

from __future__ import annotations

from datetime import date

from zhifu.acquirer.payments.store import PaymentStore
from zhifu.clearing.obligations import Obligation

__all__ = ["card_obligations"]


def card_obligations(
    store: PaymentStore, day: date, *, acquirer_bank: str, issuer_bank: str
) -> list[Obligation]:
    """The obligations of the batches settled on ``day`` (Shanghai time)."""
    rows = store.db.query(
        "SELECT terminal, batch, net FROM card_batches WHERE substr(created, 1, 10) = ? "
        "ORDER BY terminal, batch",
        (day.isoformat(),),
    )
    found = []
    for terminal, batch, net in rows:
        if not net:
            continue
        payer, payee = (issuer_bank, acquirer_bank) if net > 0 else (acquirer_bank, issuer_bank)
        found.append(Obligation(payer, payee, abs(int(net)), f"C{terminal}{batch}", day))
    return found
