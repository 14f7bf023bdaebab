"""Secret value types: PAN, PIN, PIN block, track 2, CVN, expiry date and key material.

Each wraps one sensitive value so that the usual ways values escape (``repr``, ``str``,
f-strings, ``%`` formatting, logging, pickling, ``json.dumps``) show a masked form or fail;
the clear value comes out only through an explicit ``reveal()``. A PAN shows at most its first
6 and last 4 digits (PCI DSS 3.4.1); everything else shows nothing but its kind (and, for byte
values, their length).

>>> pan = Pan("6225881234566789")
>>> pan
Pan('622588******6789')
>>> f"card {pan}"
'card 622588******6789'
>>> pan.reveal()
'6225881234566789'
>>> Pin("987123")
Pin('<redacted>')
>>> KeyMaterial(bytes(16))
KeyMaterial('<16 bytes redacted>')
>>> mask_pan("paid with 6225881234566789 at 12:00, RRN 123456789012")
'paid with 622588******6789 at 12:00, RRN 123456789012'

Equality compares the clear values in constant time without revealing them; secret values are
deliberately unhashable (a hash is a function of the value) and cannot be pickled.

>>> Pan("6225881234566789") == Pan("6225881234566789")
True
"""

from __future__ import annotations

import contextlib
import hmac
import re
from typing import Any, ClassVar, NoReturn

from zhifu.codec import pan as card_pan
from zhifu.codec.tracks import TrackError, track2_equivalent_decode
from zhifu.core.errors import UsageError

__all__ = [
    "Cvn",
    "ExpiryDate",
    "KeyMaterial",
    "Pan",
    "Pin",
    "PinBlock",
    "Secret",
    "Track2",
    "mask_pan",
]

_REDACTED = "<redacted>"

# A run of 13 or more digits not touching other digits, or a PAN written in groups of four
# with spaces or dashes (4-4-4-1..7, optionally one more group of up to 3).
_PAN_RUN = re.compile(r"(?<!\d)\d{13,}(?!\d)")
_PAN_GROUPED = re.compile(r"(?<!\d)\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}(?:\1\d{1,3})?(?!\d)")


def _mask_found(found: re.Match[str]) -> str:
    """The PAN found, masked by :func:`zhifu.codec.pan.mask_pan`, its separators kept."""
    text = found.group(0)
    masked = iter(card_pan.mask_pan("".join(ch for ch in text if ch.isdigit())))
    return "".join(next(masked) if ch.isdigit() else ch for ch in text)


def mask_pan(text: str) -> str:
    """Mask every PAN-like run of digits in free text to first 6 + last 4.

    A PAN-like run is 13 or more consecutive ASCII digits (longer runs are masked too: they
    may hide a PAN), or 13 to 19 digits written in groups of four separated by spaces or
    dashes. Shorter numbers (STAN, RRN, amounts, dates) are left alone. Luhn is not checked:
    a PAN with a wrong check digit is still a PAN.

    >>> mask_pan("6225 8812 3456 6789 and 4321-9876-5432-10987")
    '6225 88** **** 6789 and 4321-98**-****-*0987'
    >>> mask_pan("track 6225881234566789=25122011234567890000")
    'track 622588******6789=251220**********0000'
    """
    return _PAN_RUN.sub(_mask_found, _PAN_GROUPED.sub(_mask_found, text))


def _is_digits(text: object, low: int, high: int) -> bool:
    return isinstance(text, str) and low <= len(text) <= high and all("0" <= c <= "9" for c in text)


class Secret:
    """Base of the secret types: masked ``repr``/``str``/``format``, explicit ``reveal()``.

    Subclasses override :meth:`masked` and add a typed ``reveal()``. Instances are immutable by
    convention, compare in constant time, are unhashable and refuse pickling.
    """

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = bytearray(value)

    def _raw(self) -> bytes:
        return bytes(self._value)

    def masked(self) -> str:
        """The display form: never more than policy allows."""
        return _REDACTED

    def wipe(self) -> None:
        """Overwrite the held value with zeros (best effort: Python may keep other copies)."""
        for i in range(len(self._value)):
            self._value[i] = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.masked()!r})"

    def __str__(self) -> str:
        return self.masked()

    def __format__(self, spec: str) -> str:
        return format(self.masked(), spec)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Secret)
        return hmac.compare_digest(self._raw(), other._raw())

    __hash__ = None  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(
            f"{type(self).__name__} values cannot be pickled or serialised; "
            "call reveal() explicitly where the clear value is really needed"
        )

    def __reduce__(self) -> NoReturn:
        self.__reduce_ex__(2)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


class _TextSecret(Secret):
    """A secret held as ASCII text."""

    __slots__ = ()

    def __init__(self, text: str) -> None:
        super().__init__(text.encode("ascii"))

    def reveal(self) -> str:
        """The clear text. Use only where the clear value is really needed."""
        return self._raw().decode("ascii")


class _DigitsSecret(_TextSecret):
    """A secret of ``_digits`` (low, high) ASCII digits; anything else is ``_refusal``."""

    __slots__ = ()

    _digits: ClassVar[tuple[int, int]]
    _argument: ClassVar[str]
    _refusal: ClassVar[str]

    def __init__(self, digits: str) -> None:
        low, high = self._digits
        if not _is_digits(digits, low, high) or not self._valid(digits):
            raise UsageError(self._refusal, argument=self._argument)
        super().__init__(digits)

    @staticmethod
    def _valid(digits: str) -> bool:
        """A further check of the digits (none by default)."""
        return True


class Pan(_TextSecret):
    """A primary account number (12 to 19 digits); shown as first 6 + last 4.

    >>> str(Pan("622588123456789012"))
    '622588********9012'
    >>> Pan("6225-8812")
    Traceback (most recent call last):
    ...
    zhifu.core.errors.UsageError: pan: a PAN is 12 to 19 digits (got 9 characters)
    """

    __slots__ = ()

    def __init__(self, digits: str) -> None:
        if not _is_digits(digits, card_pan.PAN_MIN_DIGITS, card_pan.PAN_MAX_DIGITS):
            size = len(digits) if isinstance(digits, str) else 0
            raise UsageError(f"a PAN is 12 to 19 digits (got {size} characters)", argument="pan")
        super().__init__(digits)

    def masked(self) -> str:
        return card_pan.mask_pan(self.reveal())

    @property
    def last4(self) -> str:
        """The last four digits (safe to show)."""
        return self.reveal()[-4:]


class Pin(_DigitsSecret):
    """A cardholder PIN of 4 to 12 digits; shows nothing, not even its length.

    >>> f"{Pin('1234'):>12}"
    '  <redacted>'
    """

    __slots__ = ()
    _digits = (4, 12)
    _argument, _refusal = "pin", "a PIN is 4 to 12 digits"


class Cvn(_DigitsSecret):
    """A card verification number (CVN2/CVV2/CVC2, 3 or 4 digits); never shown."""

    __slots__ = ()
    _digits = (3, 4)
    _argument, _refusal = "cvn", "a CVN is 3 or 4 digits"


class ExpiryDate(_DigitsSecret):
    """A card expiry date ``YYMM``; never shown (JR/T 0171 treats it as sensitive).

    >>> ExpiryDate("2512")
    ExpiryDate('<redacted>')
    """

    __slots__ = ()
    _digits = (4, 4)
    _argument, _refusal = "expiry", "an expiry date is YYMM with month 01 to 12"

    @staticmethod
    def _valid(digits: str) -> bool:
        return 1 <= int(digits[2:]) <= 12


class Track2(_TextSecret):
    """Track 2 data as ISO 8583 field 35 and tag 57 carry it; shows only the masked PAN.

    PAN (12 to 19 digits), ``=`` or ``D``, YYMM, service code, discretionary digits and an
    ``F`` pad, 37 characters at most, as :mod:`zhifu.codec.tracks` reads the track 2
    equivalent. Shown as the masked PAN, the separator and ``<redacted>``.

    >>> t2 = Track2("6225881234566789=25122011234567890000")
    >>> t2
    Track2('622588******6789=<redacted>')
    >>> t2.pan
    Pan('622588******6789')
    >>> t2.service_code
    '201'
    """

    __slots__ = ()

    def __init__(self, text: str) -> None:
        _track2_parts(text)
        super().__init__(text)

    def masked(self) -> str:
        text = self.reveal()
        pan = _track2_parts(text)[0]
        return f"{card_pan.mask_pan(pan)}{text[len(pan)]}{_REDACTED}"

    @property
    def pan(self) -> Pan:
        """The PAN, as a :class:`Pan`."""
        return Pan(_track2_parts(self.reveal())[0])

    @property
    def expiry(self) -> ExpiryDate:
        """The expiry date ``YYMM``, as an :class:`ExpiryDate`."""
        return ExpiryDate(_track2_parts(self.reveal())[1])

    @property
    def service_code(self) -> str:
        """The three-digit service code (not secret: it says chip/PIN/usage rules)."""
        return _track2_parts(self.reveal())[2]


def _track2_parts(text: object) -> tuple[str, str, str]:
    """PAN, expiry and service code of track 2 ``text``; a UsageError never echoes it."""
    found = None
    if isinstance(text, str):
        with contextlib.suppress(TrackError):
            found = track2_equivalent_decode(text.replace("=", "D"))
    if (
        found is None
        or len(found.pan) < card_pan.PAN_MIN_DIGITS
        or found.expiry is None
        or found.service_code is None
    ):
        raise UsageError(
            "track 2 data is PAN (12-19 digits), '=' or 'D', YYMM, service code, "
            "discretionary digits (37 characters at most)",
            argument="track2",
        )
    return found.pan, found.expiry, found.service_code


class _BytesSecret(Secret):
    """A secret held as bytes; shows only its length."""

    __slots__ = ()

    def masked(self) -> str:
        return f"<{len(self._value)} bytes redacted>"

    def reveal(self) -> bytes:
        """The clear bytes. Use only where the clear value is really needed."""
        return self._raw()

    def __len__(self) -> int:
        return len(self._value)


class PinBlock(_BytesSecret):
    """An (enciphered) ISO 9564 PIN block: 8 bytes (DES/3DES), 16 bytes (AES format 4, SM4).

    Even enciphered, a PIN block is sensitive authentication data (PCI DSS 3.3.1.3).

    >>> PinBlock.from_hex("0412AC89ABCDEF67")
    PinBlock('<8 bytes redacted>')
    """

    __slots__ = ()

    def __init__(self, block: bytes) -> None:
        if not isinstance(block, bytes | bytearray) or len(block) not in (8, 16):
            raise UsageError("a PIN block is 8 or 16 bytes", argument="block")
        super().__init__(bytes(block))

    @classmethod
    def from_hex(cls, text: str) -> PinBlock:
        """A PIN block from 16 or 32 hex digits."""
        try:
            return cls(bytes.fromhex(text))
        except (ValueError, TypeError):
            raise UsageError("a PIN block is 16 or 32 hex digits", argument="block") from None


class KeyMaterial(_BytesSecret):
    """Clear key bytes (a key, a key component, a private key encoding); shows only its length."""

    __slots__ = ()

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or not key:
            raise UsageError("key material is a non-empty byte string", argument="key")
        super().__init__(bytes(key))
