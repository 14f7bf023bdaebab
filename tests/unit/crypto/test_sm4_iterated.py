"""docs/standards/card-terminal.md T04 / GB/T 32907-2016 Annex A example 2: SM4 applied 1,000,000
times."""

from __future__ import annotations

from zhifu.crypto.cipher import Cipher, encrypt_ecb

KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_sm4_encrypt_one_million_times() -> None:
    block = KEY
    for _ in range(1_000_000):
        block = encrypt_ecb(Cipher.SM4, KEY, block)
    assert block.hex().upper() == "595298C7C6FD271F0402F804C33D3F66"
