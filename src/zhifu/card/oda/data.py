"""TEST-ONLY certification authority keys for emulated cards. Never use them for anything real.

Generated once for zhifu with :func:`zhifu.crypto.rsa.generate_rsa_key` (1024 bits, e = 3) and
:func:`zhifu.crypto.sm2.generate_keypair`; they are public, so anything signed with them proves
nothing. :func:`zhifu.card.oda.methods.builtin_test_ca` wraps them as ``CaKey`` objects (RID
``A000000333``, index ``80`` for RSA and ``81`` for SM2, a zhifu choice).

>>> TEST_CA_RSA_E
3
>>> len(TEST_CA_SM2_D)
64
"""

from __future__ import annotations

__all__ = [
    "TEST_CA_RSA_E",
    "TEST_CA_RSA_INDEX",
    "TEST_CA_RSA_P",
    "TEST_CA_RSA_Q",
    "TEST_CA_SM2_D",
    "TEST_CA_SM2_INDEX",
]

TEST_CA_RSA_INDEX = 0x80  # the reference card's 8F (docs/standards/card-terminal.md §1.9)
TEST_CA_RSA_E = 3
TEST_CA_RSA_P = int(
    "f80de88c827a72b2a3a37ae9d160ad25cdf693acdd654d9f647102b89b79a86f"
    "283550dd8d8d8382714c0e2632b3135695ead275dd9f60fbcfd6758511c94e9b",
    16,
)
TEST_CA_RSA_Q = int(
    "de655fb0308d51866858c785a1623f0e5df6421adfc18c6db1908961633fafb4"
    "6a5ac8631bdb116dacbb6b8864d806dce3bcaee92061ddf7185a7385edf14525",
    16,
)

TEST_CA_SM2_INDEX = 0x81  # zhifu's choice: RSA and SM2 test CA keys share the RID
TEST_CA_SM2_D = "6545A2DDAEA0AEE6E73C52F7CD77462617410999A75DDD4347D2CBB2AB57F5C1"
