"""Issuing a card: personalise the emulated chip, open its accounts, keep its record.

The chip gets its keys through :meth:`~zhifu.issuer.keys.IssuerKeyring.card_keys` (wrapped
export from the security module) and the cardholder's PIN as its offline PIN; the issuer keeps
the PIN verification value only.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from zhifu.card.image.model import CardImage, KeySet
from zhifu.card.issuer import IssuerKeys
from zhifu.card.issuing import issue_card as personalise_card
from zhifu.card.stripe import StripeCard
from zhifu.codec.pan import luhn_check_digit, mask_pan
from zhifu.codec.tracks import Track2, Track3, track2_equivalent_decode
from zhifu.core.errors import UsageError
from zhifu.core.rng import RandomSource, SystemRandomSource
from zhifu.crypto.pinblock import encode_pinblock_iso_2
from zhifu.issuer.keys import IssuerKeyring
from zhifu.issuer.products import Product

__all__ = ["ChipData", "choose_pan", "personalise"]

_ZERO = KeySet(bytes(16), bytes(16), bytes(16))


@dataclasses.dataclass(frozen=True, repr=False)
class _Personaliser(IssuerKeys):
    """The card package's issuer-key interface, answered by the security module."""

    keyring: IssuerKeyring | None = None

    def card_keys(self, family: str, pan: str, psn: str) -> KeySet:
        assert self.keyring is not None
        return self.keyring.card_keys(family, pan, psn)


@dataclasses.dataclass(frozen=True, repr=False)
class ChipData:
    """What the issuer reads back from the personalised chip."""

    pan: str
    psn: str
    expiry: str
    service_code: str

    def __repr__(self) -> str:
        return f"ChipData({mask_pan(self.pan)}, psn={self.psn})"


def choose_pan(bin_: str, random: RandomSource | None = None) -> str:
    """A Luhn-valid 16-digit PAN under ``bin_``."""
    source = random or SystemRandomSource()
    body = bin_ + "".join(str(source.below(10)) for _ in range(15 - len(bin_)))
    return body + luhn_check_digit(body)


def personalise(
    keyring: IssuerKeyring,
    product: Product,
    pan: str,
    pin: str,
    out: Path | str,
    *,
    profile: str | None = None,
    today: date | None = None,
) -> ChipData:
    """Write the chip file ``out`` for ``pan`` with ``pin`` as its PIN; what it holds."""
    personaliser = _Personaliser({"tdes": _ZERO, "sm4": _ZERO}, 20130101, keyring)
    image = personalise_card(
        profile or product.profile, pan, None, issuer=personaliser, today=today
    )
    block = encode_pinblock_iso_2(pin)
    for app in image.applications:
        if app.pin_block is not None:
            app.pin_block = block
    image.save(out)
    return _chip_data(image)


STRIPE_SERVICE_CODE = "120"
"""Magnetic-stripe cards: international, online authorisation by the issuer, PIN required."""


def stripe_card(
    keyring: IssuerKeyring, pan: str, out: Path | str, *, today: date | None = None
) -> ChipData:
    """Write the stripe file ``out``: track 2 with the CVN, track 3 (ISO 4909) beside it."""
    day = today or date.today()
    expiry = f"{(day.year + 5) % 100:02d}{day.month:02d}"
    cvn = keyring.hsm.generate_cvn(
        keyring.handle("issuer/cvk"), pan=pan, expiry=expiry, service_code=STRIPE_SERVICE_CODE
    )
    track2 = Track2(pan, expiry, STRIPE_SERVICE_CODE, cvn + "0000")
    track3 = Track3("99", pan, country_code="156", currency_code="156", expiry=expiry)
    StripeCard(track2, track3).save(out)
    return ChipData(pan, "00", expiry, STRIPE_SERVICE_CODE)


def _chip_data(image: CardImage) -> ChipData:
    app = image.applications[0]
    track = app.internal(0x57)
    if track is None:
        raise UsageError(
            "the profile gives the card no track 2 equivalent (57)", argument="profile"
        )
    parsed = track2_equivalent_decode(track)
    psn = (app.internal(0x5F34) or b"\x00").hex()
    return ChipData(parsed.pan, psn, parsed.expiry or "", parsed.service_code or "")
