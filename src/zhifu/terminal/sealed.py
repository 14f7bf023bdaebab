"""The PIN pad's seal: a keypad outside the secure module sends each PIN digit enciphered.

A real mini terminal's PIN pad sits inside its secure module. When the keypad is elsewhere —
the virtual terminal of the web console, whose keys are on a phone or PC screen — each digit
travels enciphered to the module: the module makes a fresh RSA-2048 key pair for each PIN entry
(:class:`KeypadSeal`), the keypad gets the public key (DER SubjectPublicKeyInfo) and sends, for
the n-th digit, ``RSA-OAEP(SHA-256)("n:d")``. Only the module holds the private key, and it
dies with the entry. The count ``n`` makes each ciphertext good once: a replayed or reordered
one is refused (:class:`SealError`), and the digit never exists in clear outside the module.
Web browsers encipher this with Web Crypto (``crypto.subtle.encrypt`` with ``RSA-OAEP``).

>>> seal = KeypadSeal()
>>> sealed = seal_digit(seal.public_der(), 1, "7")
>>> seal.open(sealed)
'7'
>>> seal.open(sealed)
Traceback (most recent call last):
...
zhifu.terminal.sealed.SealError: sealed digit: expected digit 2, got 1 (replayed or out of order)
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from zhifu.core.errors import ZhifuError

__all__ = ["KeypadSeal", "SealError", "seal_digit"]

_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class SealError(ZhifuError):
    """A sealed digit the module cannot take (not its key, damaged, replayed)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"sealed digit: {message}")


class KeypadSeal:
    """One PIN entry's key pair, and the count of digits opened so far."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = secrets.token_hex(8)
        self.opened = 0

    def __repr__(self) -> str:
        return f"KeypadSeal({self.key_id}, {self.opened} digits opened)"

    def public_der(self) -> bytes:
        """The public key the keypad enciphers under (DER SubjectPublicKeyInfo)."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def open(self, sealed: bytes) -> str:
        """The digit of the next sealed press (SealError when it is not exactly that)."""
        try:
            plain = self._key.decrypt(sealed, _OAEP)
        except ValueError:
            raise SealError("not enciphered under this PIN entry's key") from None
        count, _, digit = plain.decode("ascii", "replace").partition(":")
        expected = self.opened + 1
        if count != str(expected):
            raise SealError(f"expected digit {expected}, got {count} (replayed or out of order)")
        if len(digit) != 1 or not digit.isdigit():
            raise SealError("not a digit")
        self.opened = expected
        return digit


def seal_digit(public_der: bytes, count: int, digit: str) -> bytes:
    """What a keypad sends for its ``count``-th digit (tests and Python keypads)."""
    key = serialization.load_der_public_key(public_der)
    assert isinstance(key, rsa.RSAPublicKey)
    return key.encrypt(f"{count}:{digit}".encode("ascii"), _OAEP)
