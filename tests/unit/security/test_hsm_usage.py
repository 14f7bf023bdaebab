"""Every operation refuses a key of the wrong usage with KeyUsageError naming the handle and the
usage it needs (PCI PIN control objective 5: keys used only for their purpose)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from zhifu.security.errors import KeyUsageError, SecurityModuleError
from zhifu.security.hsm.soft import MacAlgorithm, PinBlockFormat, SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage
from zhifu.security.secrets import Pin

PAN = "6225881234566789"
F0 = PinBlockFormat.ISO_0
Keys = dict[str, KeyHandle]


@pytest.fixture
def keys(hsm: SoftHsm) -> Keys:
    tdes = KeyAlgorithm.TDES
    return {
        "pin": hsm.generate_key(KeyUsage.PIN, tdes),
        "mac": hsm.generate_key(KeyUsage.MAC, tdes),
        "data": hsm.generate_key(KeyUsage.DATA, tdes),
        "kek": hsm.generate_key(KeyUsage.KEK, tdes),
        "pvk": hsm.generate_key(KeyUsage.PVK, tdes),
        "cvk": hsm.generate_key(KeyUsage.CVK, tdes),
        "imk": hsm.generate_key(KeyUsage.CARD_MASTER, tdes),
        "signing": hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2),
    }


Operation = Callable[[SoftHsm, Keys, KeyHandle], object]

# (name, operation given the wrong key, the usage the message must name)
CASES: list[tuple[str, Operation, str]] = [
    ("encrypt_data", lambda h, k, w: h.encrypt_data(w, bytes(8)), "DATA"),
    ("decrypt_data", lambda h, k, w: h.decrypt_data(w, bytes(8)), "DATA"),
    ("generate_mac", lambda h, k, w: h.generate_mac(w, b"m"), "MAC"),
    ("verify_mac", lambda h, k, w: h.verify_mac(w, b"m", bytes(8)), "MAC"),
    (
        "generate_mac cup",
        lambda h, k, w: h.generate_mac(w, b"m", MacAlgorithm.CUP_ECB),
        "MAC",
    ),
    ("encrypt_pin_block", lambda h, k, w: h.encrypt_pin_block(Pin("1234"), w, PAN), "PIN"),
    (
        "translate source",
        lambda h, k, w: h.translate_pin_block(
            bytes(8),
            source_key=w,
            source_format=F0,
            target_key=k["pin"],
            target_format=F0,
            pan=PAN,
        ),
        "PIN",
    ),
    (
        "translate target",
        lambda h, k, w: h.translate_pin_block(
            bytes(8),
            source_key=k["pin"],
            source_format=F0,
            target_key=w,
            target_format=F0,
            pan=PAN,
        ),
        "PIN",
    ),
    (
        "pvv pin key",
        lambda h, k, w: h.generate_pin_verification_value(bytes(8), w, pan=PAN, pvk=k["pvk"]),
        "PIN",
    ),
    (
        "pvv pvk",
        lambda h, k, w: h.generate_pin_verification_value(bytes(8), k["pin"], pan=PAN, pvk=w),
        "PVK",
    ),
    (
        "verify_pin pvk",
        lambda h, k, w: h.verify_pin(bytes(8), k["pin"], pan=PAN, pvv=bytes(8), pvk=w),
        "PVK",
    ),
    (
        "import kek",
        lambda h, k, w: h.import_key_wrapped(
            bytes(16), w, KeyUsage.PIN, KeyAlgorithm.TDES, kcv="000000"
        ),
        "KEK",
    ),
    ("export kek", lambda h, k, w: h.export_key_wrapped(k["pin"], w), "KEK"),
    ("derive_card_key", lambda h, k, w: h.derive_card_key(w, PAN, "00"), "CARD_MASTER"),
    (
        "verify_arqc",
        lambda h, k, w: h.verify_arqc(w, pan=PAN, psn="00", atc=1, data=b"d", arqc=bytes(8)),
        "CARD_MASTER or CARD",
    ),
    (
        "generate_arpc",
        lambda h, k, w: h.generate_arpc(w, pan=PAN, psn="00", atc=1, arqc=bytes(8), arc=b"00"),
        "CARD_MASTER or CARD",
    ),
    (
        "verify_arqc_and_generate_arpc",
        lambda h, k, w: h.verify_arqc_and_generate_arpc(
            w, pan=PAN, psn="00", atc=1, data=b"d", arqc=bytes(8), arc=b"00"
        ),
        "CARD_MASTER or CARD",
    ),
    (
        "generate_cvn",
        lambda h, k, w: h.generate_cvn(w, pan=PAN, expiry="3012", service_code="120"),
        "CVK",
    ),
    (
        "verify_cvn",
        lambda h, k, w: h.verify_cvn(w, pan=PAN, expiry="3012", service_code="120", cvn="123"),
        "CVK",
    ),
    ("sign", lambda h, k, w: h.sign(w, b"m"), "SIGNING"),
    ("get_public_key", lambda h, k, w: h.get_public_key(w), "SIGNING or VERIFICATION"),
    (
        "verify_signature",
        lambda h, k, w: h.verify_signature(w, b"m", bytes(64)),
        "SIGNING or VERIFICATION",
    ),
]


def _wrong_keys(keys: Keys, expected: str) -> list[str]:
    """Every key whose usage is not among those the operation accepts."""
    accepted = {
        "DATA": {"data"},
        "MAC": {"mac"},
        "PIN": {"pin"},
        "PVK": {"pvk"},
        "CVK": {"cvk"},
        "KEK": {"kek"},
        "CARD_MASTER": {"imk"},
        "CARD_MASTER or CARD": {"imk"},
        "SIGNING": {"signing"},
        "SIGNING or VERIFICATION": {"signing"},
    }[expected]
    return [name for name in keys if name not in accepted]


@pytest.mark.parametrize(("name", "operation", "expected"), CASES, ids=[c[0] for c in CASES])
def test_wrong_usage_is_refused(
    hsm: SoftHsm, keys: Keys, name: str, operation: Operation, expected: str
) -> None:
    for wrong in _wrong_keys(keys, expected):
        handle = keys[wrong]
        if name == "export kek" and wrong == "pin":
            continue  # the key and the KEK would be the same key: refused for that reason
        before = len(hsm.list_keys())
        with pytest.raises(KeyUsageError) as info:
            operation(hsm, keys, handle)
        err = info.value
        assert isinstance(err, SecurityModuleError)
        assert err.handle == handle.id
        assert err.expected == expected
        assert str(err) == (
            f"key {handle.id} has usage {handle.usage.name}; this operation needs usage {expected}"
        )
        assert len(hsm.list_keys()) == before
