"""Canary (sentinel) scan, docs/standards/security.md R15/R21 and A.3: plant recognisable key
components, a PIN
and a PAN, run many operations (successes and refusals) with DEBUG logging captured by caplog
and by a file handler, then search every return value, every exception, every log record, the
log file, the audit trail and the raw bytes of the key store for them — in raw bytes, hex
(upper and lower case), base64 and (PIN) packed BCD. Nothing may be found.

No log redaction is installed here: the module itself must not leak, whatever the logging setup.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from zhifu.crypto import emv, pinblock
from zhifu.crypto.cipher import Cipher, encrypt_ecb, xor
from zhifu.security.hsm.soft import KeyComponent, MacAlgorithm, PinBlockFormat, SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage, compute_kcv, with_odd_parity
from zhifu.security.secrets import KeyMaterial, Pan, Pin
from zhifu.security.store import KeyStore

CANARY_PIN = "987123"
CANARY_PAN = "6225889871230017"
F0, F1, F3, F4 = (
    PinBlockFormat.ISO_0,
    PinBlockFormat.ISO_1,
    PinBlockFormat.ISO_3,
    PinBlockFormat.ISO_4,
)

# Recognisable component values: CAFE... and DEAD... patterns, one pair per key.
_COMPONENT_PAIRS = {
    "tpk": ("CAFEBABECAFEBABE", "DEADBEEFDEADBEEF"),
    "zpk_sm4": ("CAFEF00DCAFEF00D", "DEADC0DEDEADC0DE"),
    "zpk_aes": ("CAFED00DCAFED00D", "DEADFA11DEADFA11"),
    "kek": ("CAFE1234CAFE1234", "DEAD5678DEAD5678"),
    "mak": ("CAFE4321CAFE4321", "DEAD8765DEAD8765"),
    "mak_des": ("CAFE7777", "DEAD9999"),
    "tdk": ("CAFE2468CAFE2468", "DEAD1357DEAD1357"),
    "pvk": ("CAFEACE5CAFEACE5", "DEADBA5EDEADBA5E"),
    "imk_sm4": ("CAFEFACECAFEFACE", "DEADFEEDDEADFEED"),
    "imk_tdes": ("CAFE0FF1CAFE0FF1", "DEADF1A5DEADF1A5"),
}
_USAGES = {
    "tpk": (KeyUsage.PIN, KeyAlgorithm.TDES),
    "zpk_sm4": (KeyUsage.PIN, KeyAlgorithm.SM4),
    "zpk_aes": (KeyUsage.PIN, KeyAlgorithm.AES),
    "kek": (KeyUsage.KEK, KeyAlgorithm.SM4),
    "mak": (KeyUsage.MAC, KeyAlgorithm.TDES),
    "mak_des": (KeyUsage.MAC, KeyAlgorithm.DES),
    "tdk": (KeyUsage.DATA, KeyAlgorithm.SM4),
    "pvk": (KeyUsage.PVK, KeyAlgorithm.AES),
    "imk_sm4": (KeyUsage.CARD_MASTER, KeyAlgorithm.SM4),
    "imk_tdes": (KeyUsage.CARD_MASTER, KeyAlgorithm.TDES),
}


def _pair(name: str) -> tuple[bytes, bytes]:
    """Two components, CAFE...‖DEAD... and DEAD...‖(CAFE... reversed): key halves differ."""
    one, two = (bytes.fromhex(h) for h in _COMPONENT_PAIRS[name])
    return one + two, two + one[::-1]


def _clear(name: str) -> bytes:
    one, two = _pair(name)
    key = xor(one, two)
    algorithm = _USAGES[name][1]
    return with_odd_parity(key) if algorithm in (KeyAlgorithm.DES, KeyAlgorithm.TDES) else key


def _canary_bytes() -> list[bytes]:
    """Every planted secret byte string: components, formed keys, PIN field, PIN and PAN."""
    values: list[bytes] = []
    for name in _COMPONENT_PAIRS:
        values += [*_pair(name), _clear(name)]
    values.append(bytes.fromhex(f"06{CANARY_PIN}"))  # the PIN field of formats 0/3, BCD
    return values


def _needles() -> tuple[list[str], list[bytes]]:
    """(text needles, binary needles) in every encoding searched."""
    text: list[str] = [CANARY_PIN, CANARY_PAN]
    binary: list[bytes] = [CANARY_PIN.encode(), CANARY_PAN.encode()]
    for value in _canary_bytes():
        encodings = [value.hex().upper(), value.hex(), base64.b64encode(value).decode()]
        text += encodings
        binary += [value, *(e.encode() for e in encodings)]
        binary.append(value.hex().upper().encode("utf-16-le"))
    return text, binary


def _flatten(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, tuple | list):
        for item in value:
            yield from _flatten(item)


class Recorder:
    """Runs operations, keeps every return value and every exception raised."""

    def __init__(self) -> None:
        self.results: list[Any] = []
        self.errors: list[BaseException] = []
        self.log = logging.getLogger("zhifu.test.canary")

    def __call__(self, operation: Callable[[], Any]) -> Any:
        try:
            result = operation()
        except Exception as exc:  # every refusal is kept for the scan
            self.errors.append(exc)
            self.log.debug("operation refused: %r", exc, exc_info=True)
            return None
        self.results.append(result)
        self.log.debug("operation result: %r / %s", result, result)
        return result


def _form(hsm: SoftHsm, name: str) -> KeyHandle:
    usage, algorithm = _USAGES[name]
    parts = [KeyComponent(KeyMaterial(p), compute_kcv(algorithm, p)) for p in _pair(name)]
    return hsm.form_key_from_components(parts, usage, algorithm)


def _run_operations(hsm: SoftHsm, run: Recorder) -> None:
    keys = {name: run(partial(_form, hsm, name)) for name in _COMPONENT_PAIRS}
    pin, pan = Pin(CANARY_PIN), Pan(CANARY_PAN)
    tpk, zpk_sm4, zpk_aes, kek = keys["tpk"], keys["zpk_sm4"], keys["zpk_aes"], keys["kek"]

    block = run(lambda: hsm.encrypt_pin_block(pin, tpk, pan))
    block_3 = run(lambda: hsm.encrypt_pin_block(pin, tpk, pan, format=F3))
    run(lambda: hsm.encrypt_pin_block(pin, tpk, None, format=F1))
    sm4_block = run(
        lambda: hsm.translate_pin_block(
            block, source_key=tpk, source_format=F0, target_key=zpk_sm4, target_format=F3, pan=pan
        )
    )
    aes_block = run(
        lambda: hsm.translate_pin_block(
            sm4_block,
            source_key=zpk_sm4,
            source_format=F3,
            target_key=zpk_aes,
            target_format=F4,
            pan=pan,
        )
    )
    run(
        lambda: hsm.translate_pin_block(
            aes_block,
            source_key=zpk_aes,
            source_format=F4,
            target_key=tpk,
            target_format=F0,
            pan=pan,
        )
    )
    run(
        lambda: hsm.translate_pin_block(
            block_3, source_key=tpk, source_format=F0, target_key=tpk, target_format=F0, pan=pan
        )
    )
    run(
        lambda: hsm.translate_pin_block(
            block, source_key=tpk, source_format=F0, target_key=tpk, target_format=F1, pan=pan
        )
    )
    run(
        lambda: hsm.translate_pin_block(
            block, source_key=zpk_sm4, source_format=F0, target_key=tpk, target_format=F0, pan=pan
        )
    )
    pvv = run(lambda: hsm.generate_pin_verification_value(block, tpk, pan=pan, pvk=keys["pvk"]))
    run(lambda: hsm.verify_pin(block, tpk, pan=pan, pvv=pvv, pvk=keys["pvk"]))
    other = encrypt_ecb(
        Cipher.TDES, _clear("tpk"), pinblock.encode_pinblock_iso_0("987124", CANARY_PAN)
    )
    run(lambda: hsm.verify_pin(other, tpk, pan=pan, pvv=pvv, pvk=keys["pvk"]))
    run(lambda: hsm.verify_pin(bytes(8), tpk, pan=pan, pvv=pvv, pvk=keys["pvk"]))
    run(lambda: hsm.verify_pin(block, keys["mak"], pan=pan, pvv=pvv, pvk=keys["pvk"]))

    for mac_algorithm, mak in [
        (MacAlgorithm.X9_19, keys["mak"]), (MacAlgorithm.ISO9797_1_ALG_3, keys["mak"]),
        (MacAlgorithm.CUP_ECB, keys["mak"]), (MacAlgorithm.PBOC, keys["mak"]),
        (MacAlgorithm.X9_9, keys["mak_des"]), (MacAlgorithm.ISO9797_1_ALG_1, keys["mak_des"]),
        (MacAlgorithm.X9_9, keys["mak"]),
    ]:  # fmt: skip
        mac = run(partial(hsm.generate_mac, mak, b"0200 MAB", mac_algorithm))
        if mac is not None:
            run(partial(hsm.verify_mac, mak, b"0200 MAB", mac, mac_algorithm))

    cipher_text = run(lambda: hsm.encrypt_data(keys["tdk"], bytes(32)))
    run(lambda: hsm.decrypt_data(keys["tdk"], cipher_text))
    run(lambda: hsm.encrypt_data(tpk, bytes(8)))

    wrapped = run(lambda: hsm.export_key_wrapped(tpk, kek))
    run(lambda: hsm.export_key_wrapped(tpk, kek, kcv_length=4))
    run(
        lambda: hsm.import_key_wrapped(
            wrapped.key_block, kek, KeyUsage.PIN, KeyAlgorithm.TDES, kcv=wrapped.kcv
        )
    )
    run(
        lambda: hsm.import_key_wrapped(
            wrapped.key_block, kek, KeyUsage.PIN, KeyAlgorithm.TDES, kcv="000000"
        )
    )
    run(lambda: hsm.export_key_wrapped(keys["imk_sm4"], kek))
    run(
        lambda: hsm.form_key_from_components(
            [
                KeyComponent(KeyMaterial(_pair("kek")[0]), "000000"),
                KeyComponent(KeyMaterial(_pair("kek")[1]), "000000"),
            ],
            KeyUsage.KEK,
            KeyAlgorithm.SM4,
        )
    )
    run(lambda: hsm.generate_key_components(KeyUsage.KEK, KeyAlgorithm.TDES, count=3))

    for name, cipher in (("imk_sm4", Cipher.SM4), ("imk_tdes", Cipher.TDES)):
        udk = emv.derive_icc_mk_a(cipher, _clear(name), CANARY_PAN, "01")
        sk = emv.derive_pboc_session_key(cipher, udk, b"\x00\x07")
        arqc = emv.generate_ac(cipher, sk, b"CDOL1 data")
        imk = keys[name]
        run(
            partial(
                hsm.verify_arqc_and_generate_arpc,
                imk,
                pan=pan,
                psn="01",
                atc=7,
                data=b"CDOL1 data",
                arqc=arqc,
                arc=b"00",
            )
        )
        run(
            partial(
                hsm.verify_arqc_and_generate_arpc,
                imk,
                pan=pan,
                psn="01",
                atc=7,
                data=b"CDOL1 data",
                arqc=bytes(8),
                arc=b"00",
            )
        )
        card = run(partial(hsm.derive_card_key, imk, pan, "01"))
        run(partial(hsm.verify_arqc, card, pan=pan, psn="01", atc=7, data=b"CDOL1 data", arqc=arqc))
    run(lambda: hsm.derive_card_key(tpk, pan, "01"))

    signer = run(lambda: hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2))
    run(lambda: hsm.sign(signer, CANARY_PAN.encode()))
    run(lambda: hsm.get_public_key(signer))
    run(lambda: hsm.sign(tpk, b"x"))
    for handle in keys.values():
        run(partial(hsm.key_info, handle))
    run(hsm.list_keys)
    run(lambda: hsm.delete_key(keys["mak_des"]))
    run(lambda: hsm.key_info(keys["mak_des"]))
    run(hsm.store.audit_trail)


@pytest.fixture
def file_log(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("zhifu")
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(previous)
    handler.close()


def test_no_canary_anywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, file_log: Path
) -> None:
    db = tmp_path / "keys.db"
    environ = {"ZHIFU_LMK": "5A" * 32}
    run = Recorder()
    with caplog.at_level(logging.DEBUG):
        store = KeyStore.open(db, environ=environ)
        _run_operations(SoftHsm(store), run)
        store.close()
        reopened = SoftHsm(KeyStore.open(db, environ=environ))
        run(reopened.list_keys)
        reopened.store.close()

    # The run really exercised the module: successes, refusals, log lines, a store file.
    assert len(run.results) > 60
    assert len(run.errors) >= 10
    assert len(caplog.records) > 100

    texts: list[str] = [caplog.text, file_log.read_text(encoding="utf-8")]
    texts += [r.getMessage() for r in caplog.records]
    binaries: list[bytes] = [db.read_bytes()]
    binaries += [p.read_bytes() for p in tmp_path.glob("keys.db-*")]
    for result in run.results:
        for item in _flatten(result):
            texts += [repr(item), str(item)]
            if isinstance(item, bytes | bytearray):
                binaries.append(bytes(item))
    for exc in run.errors:
        texts += [repr(exc), str(exc), repr(exc.args)]

    text_needles, binary_needles = _needles()
    for text in texts:
        for needle in text_needles:
            assert needle not in text, f"canary ({len(needle)} chars) found in text output"
    for blob in binaries:
        for raw in binary_needles:
            assert raw not in blob, f"canary ({len(raw)} bytes) found in binary output"
