"""The security module's issuer-script MAC is the PBOC MAC under the card's SMI session key."""

from __future__ import annotations

from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher, decrypt_ecb
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

PAN, PSN = "6228000000000011", "01"


def test_script_mac_is_the_pboc_mac_under_the_smi_session_key() -> None:
    hsm = SoftHsm(KeyStore.in_memory())
    imk = hsm.generate_key(KeyUsage.CARD_MASTER, KeyAlgorithm.TDES)
    card_key = hsm.derive_card_key(imk, PAN, PSN, exportable=True)
    kek = hsm.generate_key_components(KeyUsage.KEK, KeyAlgorithm.TDES)
    parts = [c.material.reveal() for c in kek.components]
    clear_kek = bytes(a ^ b for a, b in zip(*parts, strict=True))
    wrapped = hsm.export_key_wrapped(card_key, kek.handle).key_block
    udk = decrypt_ecb(Cipher.TDES, clear_kek, wrapped)
    header, data, arqc = bytes.fromhex("04DA9F790A"), bytes(6), bytes(range(8))
    args = {"pan": PAN, "psn": PSN, "atc": 7, "arqc": arqc, "header": header, "data": data}
    mac = hsm.generate_script_mac(imk, **args)  # type: ignore[arg-type]
    sk = emv.derive_pboc_session_key(Cipher.TDES, udk, b"\x00\x07")
    atc = b"\x00\x07"
    assert mac == emv.generate_script_mac(Cipher.TDES, sk, header, atc=atc, arqc=arqc, data=data)
    assert hsm.generate_script_mac(card_key, **args) == mac  # type: ignore[arg-type]
