"""A magnetic-stripe card (tracks 2 and 3 in a stripe file) swiped at the terminal: the
transactions a stripe card does, its CVN checked by the issuer (59 when altered), a stripe card
inserted or tapped refused by the terminal, and track data never left in clear."""

from __future__ import annotations

import json
from pathlib import Path

from zhifu.card.stripe import StripeCard
from zhifu.codec.tracks import Track2

from .conftest import Bank
from .test_card_payments import balanced

PIN = "1234"


def _stripe(bank: Bank, balance: int = 100_000) -> Path:
    return bank.card(balance, product="magstripe")


def test_a_stripe_card_pays_checks_voids_and_settles(bank: Bank) -> None:
    card, term = _stripe(bank), bank.terminal()
    stripe = StripeCard.load(card)
    assert stripe.track2.service_code == "120" and stripe.track3 is not None
    sale = term.transact("purchase", card, pin=PIN, amount=88_88, swipe=True)
    assert (sale.response_code, sale.entry) == ("00", "swipe"), sale.message
    assert bank.available(card) == 100_000 - 88_88
    (row,) = bank.host.database.query(
        "SELECT fields FROM journal WHERE mti = '0200' AND direction = 'in' ORDER BY seq DESC "
        "LIMIT 1"
    )
    fields = json.loads(row[0])
    assert fields["22"] == "021" and "36" in fields and "55" not in fields
    assert stripe.track2.pan not in row[0]  # the journal keeps tracks redacted
    balance = term.transact("balance", card, pin=PIN, swipe=True)
    assert balance.approved and balance.balance == 100_000 - 88_88
    void = term.transact("void", card, pin=PIN, original=sale.stan, swipe=True)
    assert void.approved and bank.available(card) == 100_000
    assert term.transact("purchase", card, pin="9999", amount=100, swipe=True).response_code == "55"
    assert term.settle()["balanced"] is True
    assert balanced(bank)


def test_an_altered_cvn_is_59_and_a_stripe_card_must_be_swiped(bank: Bank, tmp_path: Path) -> None:
    card, term = _stripe(bank), bank.terminal()
    stripe = StripeCard.load(card)
    cvn = stripe.cvn
    other = f"{(int(cvn) + 1) % 1000:03d}"
    t2 = stripe.track2
    forged = StripeCard(Track2(t2.pan, t2.expiry, t2.service_code, other + t2.discretionary[3:]))
    copy = forged.save(tmp_path / "skimmed.json")
    result = term.transact("purchase", copy, pin=PIN, amount=100, swipe=True)
    assert result.response_code == "59" and bank.available(card) == 100_000
    inserted = term.transact("purchase", card, pin=PIN, amount=100)
    assert not inserted.answered and "swipe it" in inserted.message
    tapped = term.transact("purchase", card, amount=100, tap=True)
    assert not tapped.answered and "swipe it" in tapped.message
    assert bank.available(card) == 100_000


def test_an_unbalanced_batch_uploads_the_stripe_records_in_field_48(bank: Bank) -> None:
    card, term = _stripe(bank), bank.terminal()
    first = term.transact("purchase", card, pin=PIN, amount=10_00, swipe=True)
    second = term.transact("purchase", card, pin=PIN, amount=20_00, swipe=True)
    assert first.approved and second.approved
    term.state.log[-1]["amount"] = 19_99  # the terminal's record disagrees with the host's
    settled = term.settle()
    assert settled["balanced"] is False and settled["uploaded"] == 1  # one 0320 with both
    assert settled["upload_refused"] == [{"stan": settled["upload_refused"][0]["stan"],
                                          "code": "64"}]  # fmt: skip
    rows = bank.host.database.query(
        "SELECT fields FROM journal WHERE mti = '0320' AND direction = 'in' ORDER BY seq"
    )
    uploads = [json.loads(row[0]) for row in rows]
    assert [u["60"][-3:] for u in uploads] == ["201", "207"]
    assert uploads[0]["48"].startswith("02") and uploads[1]["48"] == "0002"
    assert StripeCard.load(card).track2.pan not in rows[0][0]  # the journal masks the PAN
