"""The stripe's CVN: the published vector, the decimalisation, and the security module's
generate/verify under a CVK it holds."""

from __future__ import annotations

import pytest

from zhifu.core.errors import UsageError
from zhifu.crypto.cvn import card_verification_value, decimalise
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

CVK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_the_published_vector_and_its_neighbours() -> None:
    assert card_verification_value(CVK, "4123456789012345", "8701", "101") == "561"
    others = {card_verification_value(CVK, "4123456789012345", "8701", code)
              for code in ("000", "101", "120", "201", "220")}  # fmt: skip
    assert len(others) >= 4  # the service code is signed
    assert card_verification_value(CVK, "4123456789012345", "8702", "101") != "561"


def test_decimalisation_takes_digits_then_letters() -> None:
    assert decimalise(bytes.fromhex("AB12CD"), 3) == "120"
    assert decimalise(bytes.fromhex("ABCDEF"), 3) == "012"


@pytest.mark.parametrize(
    ("key", "pan", "expiry", "code", "argument"),
    [
        (CVK[:8], "4123456789012345", "8701", "101", "cvk"),
        (CVK, "41234567890", "8701", "101", "pan"),
        (CVK, "4123456789012345", "871", "101", "expiry"),
        (CVK, "4123456789012345", "8701", "1O1", "service_code"),
    ],
)
def test_bad_inputs_name_the_argument(
    key: bytes, pan: str, expiry: str, code: str, argument: str
) -> None:
    with pytest.raises(UsageError) as caught:
        card_verification_value(key, pan, expiry, code)
    assert caught.value.argument == argument


def test_the_security_module_computes_the_same_cvn_and_verifies_it() -> None:
    hsm = SoftHsm(KeyStore.in_memory())
    handle = hsm.generate_key(KeyUsage.CVK, KeyAlgorithm.TDES)
    cvn = hsm.generate_cvn(handle, pan="6228000100001117", expiry="3012", service_code="120")
    assert len(cvn) == 3 and cvn.isdigit()
    assert hsm.verify_cvn(handle, pan="6228000100001117", expiry="3012", service_code="120",
                          cvn=cvn)  # fmt: skip
    wrong = f"{(int(cvn) + 1) % 1000:03d}"
    assert not hsm.verify_cvn(handle, pan="6228000100001117", expiry="3012",
                              service_code="120", cvn=wrong)  # fmt: skip
