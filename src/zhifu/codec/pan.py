"""Primary account numbers (ISO/IEC 7812-1): Luhn check digit, BIN, masking, test PANs; and
the meaning of the three service-code digits (ISO/IEC 7813, docs/standards/card-terminal.md §4).

Error messages name the argument (``pan``) and never repeat its digits.

>>> luhn_check_digit("622800010000111")
'7'
>>> is_luhn_valid("6228000100001117")
True
>>> validate_pan("6228 0001 0000 1117".replace(" ", ""))
'6228000100001117'
>>> bin_of("6228000100001117")
'622800'
>>> mask_pan("6228000100001117")
'622800******1117'
>>> from zhifu.core.rng import SeededRandom
>>> is_luhn_valid(generate_pan("622800", random=SeededRandom(1)))
True
>>> describe_service_code("201")
('international, chip present', 'normal authorisation', 'no restrictions')
"""

from __future__ import annotations

from typing import Final

from zhifu.core.errors import UsageError
from zhifu.core.rng import RandomSource, SystemRandomSource

__all__ = [
    "PAN_MAX_DIGITS",
    "PAN_MIN_DIGITS",
    "SERVICE_CODE_DIGITS",
    "bin_of",
    "describe_service_code",
    "generate_pan",
    "is_luhn_valid",
    "luhn_check_digit",
    "mask_pan",
    "validate_pan",
]

PAN_MIN_DIGITS = 12
PAN_MAX_DIGITS = 19


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _luhn_sum(digits: str, *, double_first: bool) -> int:
    total = 0
    double = double_first
    for char in reversed(digits):
        value = ord(char) - 48
        if double:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
        double = not double
    return total


def luhn_check_digit(digits: str) -> str:
    """The Luhn (ISO/IEC 7812-1 Annex B) check digit to append to ``digits``."""
    if not digits or not _is_digits(digits):
        raise UsageError("must be a non-empty string of digits", argument="digits")
    return str(-_luhn_sum(digits, double_first=True) % 10)


def is_luhn_valid(pan: str) -> bool:
    """Whether ``pan`` (digits, check digit last) passes the Luhn check; never raises."""
    if not isinstance(pan, str) or len(pan) < 2 or not _is_digits(pan):
        return False
    return _luhn_sum(pan, double_first=False) % 10 == 0


def validate_pan(pan: str) -> str:
    """Return ``pan`` if it has 12 to 19 digits and a good check digit, else raise UsageError."""
    if not isinstance(pan, str) or not _is_digits(pan):
        raise UsageError("must contain digits only", argument="pan")
    if not PAN_MIN_DIGITS <= len(pan) <= PAN_MAX_DIGITS:
        raise UsageError(
            f"must have {PAN_MIN_DIGITS} to {PAN_MAX_DIGITS} digits, not {len(pan)}",
            argument="pan",
        )
    if not is_luhn_valid(pan):
        raise UsageError("fails the Luhn check", argument="pan")
    return pan


def bin_of(pan: str, length: int = 6) -> str:
    """The bank identification number: the first 6 (or, with ``length=8``, 8) digits."""
    if length not in (6, 8):
        raise UsageError("must be 6 or 8", argument="length")
    if not isinstance(pan, str) or not _is_digits(pan) or len(pan) < length + 4:
        raise UsageError(f"must be at least {length + 4} digits", argument="pan")
    return pan[:length]


def mask_pan(pan: str, mask: str = "*") -> str:
    """Keep the first 6 and last 4 digits (PCI DSS 3.4) and mask the rest.

    Values of 10 characters or fewer are masked entirely.

    >>> mask_pan("1234")
    '****'
    """
    if len(pan) <= 10:
        return mask * len(pan)
    return pan[:6] + mask * (len(pan) - 10) + pan[-4:]


def generate_pan(
    bin_prefix: str,
    length: int = 16,
    random: RandomSource | None = None,
) -> str:
    """A Luhn-valid PAN of ``length`` digits starting with ``bin_prefix`` (random middle digits)."""
    if not PAN_MIN_DIGITS <= length <= PAN_MAX_DIGITS:
        raise UsageError(f"must be {PAN_MIN_DIGITS} to {PAN_MAX_DIGITS}", argument="length")
    if not bin_prefix or not _is_digits(bin_prefix) or len(bin_prefix) >= length:
        raise UsageError(f"must be 1 to {length - 1} digits", argument="bin_prefix")
    source = random if random is not None else SystemRandomSource()
    body = bin_prefix + "".join(str(source.below(10)) for _ in range(length - 1 - len(bin_prefix)))
    return body + luhn_check_digit(body)


# Service code digits (ISO/IEC 7813; docs/standards/card-terminal.md §4): position -> digit ->
# meaning.
SERVICE_CODE_DIGITS: Final[dict[int, dict[str, str]]] = {
    1: {
        "1": "international",
        "2": "international, chip present",
        "5": "national only",
        "6": "national only, chip present",
        "7": "private, no interchange",
        "9": "test",
    },
    2: {
        "0": "normal authorisation",
        "2": "contact issuer (online)",
        "4": "contact issuer except under bilateral agreement",
    },
    3: {
        "0": "no restrictions, PIN required",
        "1": "no restrictions",
        "2": "goods and services only",
        "3": "ATM only, PIN required",
        "4": "cash only",
        "5": "goods and services only, PIN required",
        "6": "no restrictions, PIN if PED present",
        "7": "goods and services only, PIN if PED present",
    },
}


def describe_service_code(code: str) -> tuple[str, str, str]:
    """The meaning of each of the three service-code digits (``'reserved'`` when unassigned)."""
    if len(code) != 3 or not (code.isascii() and code.isdigit()):
        raise UsageError("must be 3 digits", argument="service_code")
    first, second, third = (
        SERVICE_CODE_DIGITS[i + 1].get(d, "reserved") for i, d in enumerate(code)
    )
    return first, second, third
