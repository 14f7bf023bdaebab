"""Crypto-core benchmarks: zhifu beside the pure-Python baselines (gmssl, pyemv, psec).

The table: SM2 sign and verify, SM4 and 3DES MAC over 1 KiB, PIN block encode, ARQC
generation. Target: SM2 verify at least 20x the gmssl baseline.
"""

from __future__ import annotations

import warnings

from bench.harness import Row, ops_per_second, print_table
from zhifu.crypto import emv, mac, pinblock, sm2
from zhifu.crypto.cipher import Cipher

K2 = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
KIB = bytes(range(256)) * 4
PAN = "6225880123456789"


def _sm2_rows(seconds: float) -> list[Row]:
    from gmssl import sm2 as gm_sm2  # noqa: PLC0415 - baseline, test-only dependency

    private_key, public_key = sm2.generate_keypair()
    message = b"zhifu benchmark message " * 4
    gm = gm_sm2.CryptSM2(
        private_key=private_key.to_bytes().hex(), public_key=public_key.to_bytes("xy").hex()
    )
    k_hex = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
    gm_sig = gm.sign_with_sm3(message, k_hex)
    ours = sm2.sign(private_key, message)
    assert sm2.verify(public_key, message, bytes.fromhex(gm_sig)), "interop: gmssl -> zhifu"
    assert gm.verify_with_sm3(ours.hex(), message), "interop: zhifu -> gmssl"
    return [
        Row(
            "SM2 sign (100 B)",
            ops_per_second(lambda: sm2.sign(private_key, message), seconds=seconds),
            "gmssl 3.2.2",
            ops_per_second(lambda: gm.sign_with_sm3(message, k_hex), seconds=seconds),
        ),
        Row(
            "SM2 verify (100 B)",
            ops_per_second(lambda: sm2.verify(public_key, message, ours), seconds=seconds),
            "gmssl 3.2.2",
            ops_per_second(lambda: gm.verify_with_sm3(gm_sig, message), seconds=seconds),
            target=20,
        ),
    ]


def _sm4_mac_row(seconds: float) -> Row:
    from gmssl.sm4 import SM4_ENCRYPT, CryptSM4  # noqa: PLC0415 - baseline

    gm = CryptSM4()
    gm.set_key(K2, SM4_ENCRYPT)
    padded = mac.pad_iso9797_1_method_2(KIB, 16)

    def gm_mac() -> bytes:
        out: bytes = gm.crypt_cbc(bytes(16), padded)  # gmssl appends a PKCS#7 block: skip it
        return out[-32:-24]

    assert gm_mac() == mac.mac_pboc(Cipher.SM4, K2, KIB, 8), "SM4 MAC differs from gmssl"
    return Row(
        "SM4 CBC-MAC, 1 KiB (PBOC)",
        ops_per_second(lambda: mac.mac_pboc(Cipher.SM4, K2, KIB, 8), seconds=seconds),
        "gmssl 3.2.2 SM4-CBC",
        ops_per_second(gm_mac, seconds=seconds),
    )


def _emv_rows(seconds: float) -> list[Row]:
    from psec import pinblock as psec_pinblock  # noqa: PLC0415 - baselines
    from pyemv import ac as pyemv_ac  # noqa: PLC0415
    from pyemv import kd as pyemv_kd  # noqa: PLC0415
    from pyemv import mac as pyemv_mac  # noqa: PLC0415

    kl, kr = K2[:8], K2[8:]
    r = bytes.fromhex("1234567890123456")
    data = bytes.fromhex("0123456789ABCDEF") * 4 + bytes(5)

    def ours_arqc() -> bytes:
        return emv.generate_ac(Cipher.TDES, emv.derive_common_session_key(K2, r), data)

    def pyemv_arqc() -> bytes:
        out: bytes = pyemv_ac.generate_ac(pyemv_kd.derive_common_sk(K2, r), data)
        return out

    assert ours_arqc() == pyemv_arqc(), "ARQC differs from pyemv"
    assert mac.mac_x9_19(K2, KIB) == pyemv_mac.mac_iso9797_3(kl, kr, KIB, 1)
    return [
        Row(
            "3DES retail MAC (X9.19), 1 KiB",
            ops_per_second(lambda: mac.mac_x9_19(K2, KIB), seconds=seconds),
            "pyemv 1.5.0",
            ops_per_second(lambda: pyemv_mac.mac_iso9797_3(kl, kr, KIB, 1), seconds=seconds),
        ),
        Row(
            "PIN block ISO 0 encode",
            ops_per_second(lambda: pinblock.encode_pinblock_iso_0("123456", PAN), seconds=seconds),
            "psec 1.3.0",
            ops_per_second(
                lambda: psec_pinblock.encode_pinblock_iso_0("123456", PAN), seconds=seconds
            ),
        ),
        Row(
            "ARQC generation (CSK + AC, 3DES)",
            ops_per_second(ours_arqc, seconds=seconds),
            "pyemv 1.5.0",
            ops_per_second(pyemv_arqc, seconds=seconds),
        ),
        Row(
            "ARQC generation (PBOC SK + AC, SM4)",
            ops_per_second(
                lambda: emv.generate_ac(
                    Cipher.SM4, emv.derive_pboc_session_key(Cipher.SM4, K2, b"\x00\x01"), data
                ),
                seconds=seconds,
            ),
        ),
    ]


def run(seconds: float = 0.3) -> None:
    """Measure and print the crypto table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the baselines use cryptography's deprecated key forms
        rows = [*_sm2_rows(seconds), _sm4_mac_row(seconds), *_emv_rows(seconds)]
    print_table("Cryptography core: zhifu vs pure-Python baselines (ops/s, same run)", rows)
