"""Public vectors shared by the barcode tests (docs/standards/barcode.md §6), as fixtures."""

from __future__ import annotations

import pytest

# docs/standards/barcode.md §6.1 M1: EMVCo MPM v1.1 Annex B (also mvallim/emv-qrcode
# Crc16ValidatorTest.java)
M1 = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
    "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京"
    "540523.7253031565502016233030412340603***0708A60086670902ME"
    "91320016A0112233449988770708123456786304A13A"
)
# docs/standards/barcode.md §6.1 M5: Banco Central do Brasil BR Code manual example
M5 = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
# docs/standards/barcode.md §6.3 C1 / C2: EMVCo CPM v1.1 Annex B.1 / B.2
C1 = "hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8="
C2 = (
    "hQVDUFYwMWETTwegAAAAVVVVUAhQcm9kdWN0MWETTwegAAAAZmZmUAhQcm9kdWN0MmJJWggSNFZ4kBI0WF8gDkNB"
    "UkRIT0xERVIvRU1WXy0IcnVlc2RlZW5kIZ8QBwYBCgMAAACfJghYT9OF+iNLzJ82AgABnzcEbVjvEw=="
)


@pytest.fixture
def m1() -> str:
    return M1


@pytest.fixture
def m5() -> str:
    return M5


@pytest.fixture
def c1() -> str:
    return C1


@pytest.fixture
def c2() -> str:
    return C2
