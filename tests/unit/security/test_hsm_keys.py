"""Key management: generation, components (dual control), wrapped import/export with KCV."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, decrypt_ecb, encrypt_ecb, xor
from zhifu.crypto.kcv import kcv
from zhifu.security.errors import KcvMismatchError, KeyUsageError
from zhifu.security.hsm.soft import KeyComponent, SoftHsm
from zhifu.security.keys import (
    KeyAlgorithm,
    KeyHandle,
    KeyOrigin,
    KeyUsage,
    compute_kcv,
    with_odd_parity,
)
from zhifu.security.secrets import KeyMaterial

KnownKey = Callable[..., KeyHandle]
MakeComponents = Callable[..., list[KeyComponent]]

# docs/standards/card-terminal.md T15: the classic double-length test key (odd parity), KCV 08D7B4.
TDES_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
SM4_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
AES_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
DES_KEY = bytes.fromhex("0123456789ABCDEF")


@pytest.mark.parametrize(
    ("algorithm", "length", "expected"),
    [
        (KeyAlgorithm.DES, None, 8),
        (KeyAlgorithm.TDES, None, 16),
        (KeyAlgorithm.TDES, 24, 24),
        (KeyAlgorithm.AES, None, 16),
        (KeyAlgorithm.AES, 32, 32),
        (KeyAlgorithm.SM4, None, 16),
    ],
)
def test_generate_key(
    hsm: SoftHsm, algorithm: KeyAlgorithm, length: int | None, expected: int
) -> None:
    handle = hsm.generate_key(KeyUsage.DATA, algorithm, length=length)
    info = hsm.key_info(handle)
    assert (info.usage, info.algorithm, info.length) == (KeyUsage.DATA, algorithm, expected)
    assert info.origin is KeyOrigin.GENERATED
    assert info.exportable
    assert len(handle.kcv) == 6
    # The handle string is enough to use the key.
    data = bytes(algorithm.cipher.block_size)
    assert hsm.decrypt_data(handle.id, hsm.encrypt_data(handle, data)) == data


def test_generate_refuses_nonsense(hsm: SoftHsm) -> None:
    with pytest.raises(UsageError, match="a pin key is DES or TDES or AES or SM4, not SM2"):
        hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.SM2)
    with pytest.raises(UsageError, match="a card-master key is TDES or SM4"):
        hsm.generate_key(KeyUsage.CARD_MASTER, KeyAlgorithm.AES)
    with pytest.raises(UsageError) as info:
        hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.TDES, length=12)
    assert info.value.argument == "length"
    with pytest.raises(UsageError, match="import_public_key"):
        hsm.generate_key(KeyUsage.VERIFICATION, KeyAlgorithm.SM2)


def test_default_export_attribute(hsm: SoftHsm) -> None:
    assert hsm.key_info(hsm.generate_key(KeyUsage.KEK, KeyAlgorithm.TDES)).exportable
    assert not hsm.key_info(hsm.generate_key(KeyUsage.CARD_MASTER, KeyAlgorithm.SM4)).exportable
    assert not hsm.key_info(hsm.generate_key(KeyUsage.PVK, KeyAlgorithm.AES)).exportable


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize(
    ("algorithm", "clear"),
    [(KeyAlgorithm.TDES, TDES_KEY), (KeyAlgorithm.SM4, SM4_KEY), (KeyAlgorithm.AES, AES_KEY)],
)
def test_form_key_from_components(
    hsm: SoftHsm, make_components: MakeComponents, count: int, algorithm: KeyAlgorithm, clear: bytes
) -> None:
    parts = make_components(algorithm, clear, count)
    handle = hsm.form_key_from_components(
        parts, KeyUsage.KEK, algorithm, kcv=compute_kcv(algorithm, clear)
    )
    assert handle.kcv == compute_kcv(algorithm, clear)
    assert hsm.key_info(handle).origin is KeyOrigin.COMPONENTS
    # The formed key really is the XOR: a block enciphered under it decrypts in the test.
    kek = hsm.form_key_from_components(
        make_components(algorithm, AES_KEY if algorithm is KeyAlgorithm.AES else TDES_KEY),
        KeyUsage.KEK,
        algorithm,
    )
    _, check = hsm.export_key_wrapped(handle, kek)
    assert check.hex().upper() == handle.kcv


def test_published_kcv_of_components(hsm: SoftHsm) -> None:
    # docs/standards/card-terminal.md T15: 0123..3210 has KCV 08D7B4; formed from two components.
    one = bytes.fromhex("1111111111111111" * 2)
    two = xor(TDES_KEY, one)
    parts = [
        KeyComponent.from_hex(one.hex(), compute_kcv(KeyAlgorithm.TDES, one)),
        KeyComponent(KeyMaterial(two), compute_kcv(KeyAlgorithm.TDES, two)),
    ]
    handle = hsm.form_key_from_components(parts, KeyUsage.KEK, KeyAlgorithm.TDES, kcv="08D7B4")
    assert handle.kcv == "08D7B4"


@pytest.mark.parametrize("bad", [0, 1, 2])
def test_component_with_wrong_kcv_is_refused(
    hsm: SoftHsm, make_components: MakeComponents, bad: int
) -> None:
    parts = make_components(KeyAlgorithm.TDES, TDES_KEY, 3)
    parts[bad] = KeyComponent(parts[bad].material, "000000")
    with pytest.raises(KcvMismatchError, match=f"component {bad + 1} does not match"):
        hsm.form_key_from_components(parts, KeyUsage.KEK, KeyAlgorithm.TDES)
    assert hsm.list_keys() == []
    assert hsm.store.audit_trail()[-1].event == "form refused"


def test_formed_key_with_wrong_kcv_is_refused(
    hsm: SoftHsm, make_components: MakeComponents
) -> None:
    parts = make_components(KeyAlgorithm.TDES, TDES_KEY)
    with pytest.raises(KcvMismatchError, match="formed key does not match"):
        hsm.form_key_from_components(parts, KeyUsage.KEK, KeyAlgorithm.TDES, kcv="08D7B5")
    assert hsm.list_keys() == []


def test_component_count_and_lengths(hsm: SoftHsm, make_components: MakeComponents) -> None:
    one = make_components(KeyAlgorithm.TDES, TDES_KEY, 2)
    with pytest.raises(UsageError, match="2 or 3 components"):
        hsm.form_key_from_components(one[:1], KeyUsage.KEK, KeyAlgorithm.TDES)
    mixed = [one[0], make_components(KeyAlgorithm.TDES, TDES_KEY + DES_KEY)[0]]
    with pytest.raises(UsageError, match="same length"):
        hsm.form_key_from_components(mixed, KeyUsage.KEK, KeyAlgorithm.TDES)
    same = [one[0], one[0]]
    with pytest.raises(Exception, match="degenerate"):
        hsm.form_key_from_components(same, KeyUsage.KEK, KeyAlgorithm.TDES)


@pytest.mark.parametrize("count", [2, 3])
def test_generate_key_components_for_printing(hsm: SoftHsm, count: int) -> None:
    handle, parts = hsm.generate_key_components(KeyUsage.KEK, KeyAlgorithm.TDES, count=count)
    assert len(parts) == count
    clear = parts[0].material.reveal()
    for part in parts[1:]:
        clear = xor(clear, part.material.reveal())
    assert compute_kcv(KeyAlgorithm.TDES, clear) == handle.kcv
    for part in parts:
        assert compute_kcv(KeyAlgorithm.TDES, part.material.reveal()) == part.kcv
        assert all(bin(b).count("1") % 2 for b in part.material.reveal())
        assert "redacted" in repr(part)
    audit = hsm.store.audit_trail()[-1]
    assert audit.event == "add"
    assert f"{count} components generated for printing" in audit.detail
    for part in parts:
        assert part.material.reveal().hex() not in audit.detail.lower()
    # The components re-form the same key (a terminal loads the TMK this way).
    again = hsm.form_key_from_components(parts, KeyUsage.KEK, KeyAlgorithm.TDES)
    assert again.kcv == handle.kcv


@pytest.mark.parametrize(
    "case",
    [
        (KeyAlgorithm.TDES, TDES_KEY, KeyAlgorithm.DES, DES_KEY),
        (KeyAlgorithm.TDES, TDES_KEY, KeyAlgorithm.TDES, with_odd_parity(bytes(range(16)))),
        (KeyAlgorithm.SM4, SM4_KEY, KeyAlgorithm.SM4, bytes(range(16, 32))),
        (KeyAlgorithm.AES, bytes(range(64, 96)), KeyAlgorithm.AES, bytes(range(32))),
        (KeyAlgorithm.AES, AES_KEY, KeyAlgorithm.TDES, TDES_KEY),
        (KeyAlgorithm.SM4, SM4_KEY, KeyAlgorithm.TDES, TDES_KEY),
    ],
)
def test_wrap_unwrap_round_trip(
    hsm: SoftHsm,
    known_key: KnownKey,
    case: tuple[KeyAlgorithm, bytes, KeyAlgorithm, bytes],
) -> None:
    kek_algorithm, kek_clear, key_algorithm, key_clear = case
    kek = known_key(KeyUsage.KEK, kek_algorithm, kek_clear)
    wrapped = encrypt_ecb(kek_algorithm.cipher, kek_clear, key_clear)
    expected_kcv = kcv(key_algorithm.cipher, key_clear)
    handle = hsm.import_key_wrapped(wrapped, kek, KeyUsage.PIN, key_algorithm, kcv=expected_kcv)
    assert handle.kcv == expected_kcv.hex().upper()
    assert hsm.key_info(handle).origin is KeyOrigin.IMPORTED

    block, check = hsm.export_key_wrapped(handle, kek)
    assert check == expected_kcv
    assert decrypt_ecb(kek_algorithm.cipher, kek_clear, block) == key_clear
    four = hsm.export_key_wrapped(handle, kek, kcv_length=4).kcv
    assert four == kcv(key_algorithm.cipher, key_clear, 4)


def test_sign_on_style_import_with_4_byte_check_value(hsm: SoftHsm, known_key: KnownKey) -> None:
    # docs/standards/card-terminal.md §2.9: field 62 carries PIK under TMK with CV = 4 bytes of
    # E(PIK, 0).
    tmk = known_key(KeyUsage.KEK, KeyAlgorithm.TDES, TDES_KEY)
    pik = bytes.fromhex("1C1C1C1C1C1C1C1C0101010101010101")
    field_62 = encrypt_ecb(Cipher.TDES, TDES_KEY, pik) + kcv(Cipher.TDES, pik, 4)
    handle = hsm.import_key_wrapped(
        field_62[:16], tmk, KeyUsage.PIN, KeyAlgorithm.TDES, kcv=field_62[16:]
    )
    assert handle.kcv == kcv(Cipher.TDES, pik).hex().upper()


def test_wrong_kcv_refused_and_nothing_stored(hsm: SoftHsm, known_key: KnownKey) -> None:
    kek = known_key(KeyUsage.KEK, KeyAlgorithm.TDES, TDES_KEY)
    before = [k.handle for k in hsm.list_keys()]
    wrapped = encrypt_ecb(Cipher.TDES, TDES_KEY, DES_KEY * 2)
    with pytest.raises(KcvMismatchError, match="nothing was stored"):
        hsm.import_key_wrapped(wrapped, kek, KeyUsage.MAC, KeyAlgorithm.TDES, kcv="000000")
    assert [k.handle for k in hsm.list_keys()] == before
    assert hsm.store.audit_trail()[-1].event == "import refused"


def test_import_checks(hsm: SoftHsm, known_key: KnownKey) -> None:
    kek = known_key(KeyUsage.KEK, KeyAlgorithm.SM4, SM4_KEY)
    with pytest.raises(UsageError, match="multiple of 16"):
        hsm.import_key_wrapped(bytes(8), kek, KeyUsage.PIN, KeyAlgorithm.DES, kcv="000000")
    with pytest.raises(UsageError) as info:
        hsm.import_key_wrapped(bytes(10), kek, KeyUsage.PIN, KeyAlgorithm.TDES, kcv="000000")
    assert info.value.argument == "wrapped"
    mak = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.SM4)
    with pytest.raises(KeyUsageError, match="needs usage KEK"):
        hsm.import_key_wrapped(bytes(16), mak, KeyUsage.PIN, KeyAlgorithm.SM4, kcv="000000")


def test_export_rules(hsm: SoftHsm) -> None:
    kek = hsm.generate_key(KeyUsage.KEK, KeyAlgorithm.TDES)
    weak_kek = hsm.generate_key(KeyUsage.KEK, KeyAlgorithm.DES)
    aes_pin = hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.AES)
    locked = hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.TDES, exportable=False)
    imk = hsm.generate_key(KeyUsage.CARD_MASTER, KeyAlgorithm.TDES)
    signer = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
    with pytest.raises(KeyUsageError, match="export attribute"):
        hsm.export_key_wrapped(locked, kek)
    with pytest.raises(KeyUsageError, match="export attribute"):
        hsm.export_key_wrapped(imk, kek)
    with pytest.raises(KeyUsageError, match="algorithm"):
        hsm.export_key_wrapped(signer, kek)
    with pytest.raises(UsageError, match="weaker"):
        hsm.export_key_wrapped(aes_pin, kek)
    with pytest.raises(UsageError, match="weaker"):
        hsm.export_key_wrapped(kek, weak_kek)
    with pytest.raises(UsageError, match="under itself"):
        hsm.export_key_wrapped(kek, kek)
    with pytest.raises(KeyUsageError, match="needs usage KEK"):
        hsm.export_key_wrapped(kek, aes_pin)
