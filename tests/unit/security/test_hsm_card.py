"""Card keys, ARQC verification and ARPC generation: the module's answers equal zhifu.crypto.emv
computed independently with the known IMK (and pyemv, as an outside oracle, for EMV 3DES)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pyemv import ac as pyemv_ac
from pyemv import kd as pyemv_kd

from zhifu.core.errors import UsageError
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher, decrypt_ecb
from zhifu.security.errors import KeyUsageError
from zhifu.security.hsm.soft import ArpcResult, SessionKeyMethod, SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyOrigin, KeyUsage, compute_kcv

KnownKey = Callable[..., KeyHandle]

IMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
PAN, PSN = "6225881234566789", "01"
ATC = bytes.fromhex("001C")
ARC = b"00"  # "00" approved, as ASCII (3030)
DATA = emv.build_ac_data_pboc(
    tag_9f02=bytes.fromhex("000000001000"),
    tag_9f03=bytes(6),
    tag_9f1a=bytes.fromhex("0156"),
    tag_95=bytes(5),
    tag_5f2a=bytes.fromhex("0156"),
    tag_9a=bytes.fromhex("261125"),
    tag_9c=bytes(1),
    tag_9f37=bytes.fromhex("12345678"),
    tag_82=bytes.fromhex("7C00"),
    tag_9f36=ATC,
    tag_9f10=bytes.fromhex("07010103A00000010A01000000000000000000"),
)


def _card_side(cipher: Cipher, session: SessionKeyMethod) -> tuple[bytes, bytes]:
    """The card's ARQC and the expected ARPC, computed with zhifu.crypto.emv alone."""
    udk = emv.derive_icc_mk_a(cipher, IMK, PAN, PSN)
    if session is SessionKeyMethod.PBOC:
        sk = emv.derive_pboc_session_key(cipher, udk, ATC)
    else:
        sk = emv.derive_common_session_key(udk, ATC + bytes(6))
    arqc = emv.generate_ac(cipher, sk, DATA)
    return arqc, emv.generate_arpc_method_1(cipher, sk, arqc, ARC)


CASES = [
    (KeyAlgorithm.TDES, SessionKeyMethod.PBOC),
    (KeyAlgorithm.SM4, SessionKeyMethod.PBOC),
    (KeyAlgorithm.TDES, SessionKeyMethod.EMV_CSK),
]


@pytest.mark.parametrize(("algorithm", "session"), CASES)
def test_verify_arqc_and_generate_arpc_from_the_imk(
    hsm: SoftHsm, known_key: KnownKey, algorithm: KeyAlgorithm, session: SessionKeyMethod
) -> None:
    imk = known_key(KeyUsage.CARD_MASTER, algorithm, IMK)
    arqc, arpc = _card_side(algorithm.cipher, session)
    common: dict[str, Any] = {"pan": PAN, "psn": PSN, "atc": ATC, "session": session}
    assert hsm.verify_arqc(imk, data=DATA, arqc=arqc, **common)
    result = hsm.verify_arqc_and_generate_arpc(imk, data=DATA, arqc=arqc, arc=ARC, **common)
    assert result == ArpcResult(True, arpc)
    assert hsm.generate_arpc(imk, arqc=arqc, arc=ARC, **common) == arpc
    # The ATC may be given as an integer.
    assert hsm.verify_arqc(imk, pan=PAN, psn=PSN, atc=0x1C, data=DATA, arqc=arqc, session=session)


@pytest.mark.parametrize(("algorithm", "session"), CASES)
def test_wrong_arqc_gives_no_arpc(
    hsm: SoftHsm, known_key: KnownKey, algorithm: KeyAlgorithm, session: SessionKeyMethod
) -> None:
    imk = known_key(KeyUsage.CARD_MASTER, algorithm, IMK)
    arqc, _ = _card_side(algorithm.cipher, session)
    common: dict[str, Any] = {"pan": PAN, "psn": PSN, "atc": ATC, "session": session}
    bad = bytes([arqc[0] ^ 0x01]) + arqc[1:]
    assert hsm.verify_arqc_and_generate_arpc(
        imk, data=DATA, arqc=bad, arc=ARC, **common
    ) == ArpcResult(False, None)
    assert not hsm.verify_arqc(imk, data=DATA + b"\x00", arqc=arqc, **common)
    assert not hsm.verify_arqc(
        imk, pan=PAN, psn="02", atc=ATC, data=DATA, arqc=arqc, session=session
    )


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_emv_tdes_path_agrees_with_pyemv(hsm: SoftHsm, known_key: KnownKey) -> None:
    imk = known_key(KeyUsage.CARD_MASTER, KeyAlgorithm.TDES, IMK)
    mk = pyemv_kd.derive_icc_mk_a(IMK, PAN, PSN)
    sk = pyemv_kd.derive_common_sk(mk, ATC + bytes(6))
    arqc = pyemv_ac.generate_ac(sk, DATA)
    arpc = pyemv_ac.generate_arpc_1(sk, arqc, ARC)
    result = hsm.verify_arqc_and_generate_arpc(
        imk, pan=PAN, psn=PSN, atc=ATC, data=DATA, arqc=arqc, arc=ARC,
        session=SessionKeyMethod.EMV_CSK,
    )  # fmt: skip
    assert result == ArpcResult(True, arpc)


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.TDES, KeyAlgorithm.SM4])
def test_derived_card_key(hsm: SoftHsm, known_key: KnownKey, algorithm: KeyAlgorithm) -> None:
    imk = known_key(KeyUsage.CARD_MASTER, algorithm, IMK)
    card = hsm.derive_card_key(imk, PAN, PSN)
    udk = emv.derive_icc_mk_a(algorithm.cipher, IMK, PAN, PSN)
    info = hsm.key_info(card)
    assert (info.usage, info.origin, info.exportable) == (KeyUsage.CARD, KeyOrigin.DERIVED, False)
    assert card.kcv == compute_kcv(algorithm, udk)
    arqc, arpc = _card_side(algorithm.cipher, SessionKeyMethod.PBOC)
    # A CARD key needs no PAN derivation (the PAN/PSN given are not used).
    result = hsm.verify_arqc_and_generate_arpc(
        card, pan=PAN, psn=None, atc=ATC, data=DATA, arqc=arqc, arc=ARC
    )
    assert result == ArpcResult(True, arpc)


def test_card_key_exported_wrapped_for_personalisation(hsm: SoftHsm, known_key: KnownKey) -> None:
    kek_clear = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    kek = known_key(KeyUsage.KEK, KeyAlgorithm.SM4, kek_clear)
    imk = known_key(KeyUsage.CARD_MASTER, KeyAlgorithm.SM4, IMK)
    with pytest.raises(KeyUsageError, match="export attribute"):
        hsm.export_key_wrapped(hsm.derive_card_key(imk, PAN, PSN), kek)
    card = hsm.derive_card_key(imk, PAN, PSN, exportable=True)
    block, _ = hsm.export_key_wrapped(card, kek)
    assert decrypt_ecb(Cipher.SM4, kek_clear, block) == emv.derive_icc_mk_a(
        Cipher.SM4, IMK, PAN, PSN
    )


def test_card_arguments_are_checked(hsm: SoftHsm) -> None:
    imk = hsm.generate_key(KeyUsage.CARD_MASTER, KeyAlgorithm.SM4)
    with pytest.raises(UsageError, match="3DES"):
        hsm.verify_arqc(
            imk, pan=PAN, psn=PSN, atc=ATC, data=DATA, arqc=bytes(8),
            session=SessionKeyMethod.EMV_CSK,
        )  # fmt: skip
    with pytest.raises(UsageError) as info:
        hsm.verify_arqc(imk, pan=PAN, psn=PSN, atc=b"\x01", data=DATA, arqc=bytes(8))
    assert info.value.argument == "atc"
    with pytest.raises(UsageError) as too_big:
        hsm.verify_arqc(imk, pan=PAN, psn=PSN, atc=70000, data=DATA, arqc=bytes(8))
    assert too_big.value.argument == "atc"
    with pytest.raises(UsageError) as pan:
        hsm.verify_arqc(imk, pan="1234", psn=PSN, atc=ATC, data=DATA, arqc=bytes(8))
    assert pan.value.argument == "pan"
    assert "1234" not in str(pan.value)
