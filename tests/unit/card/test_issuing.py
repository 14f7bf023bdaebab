"""Issuing: profiles, PANs, card keys by option A, issuer key files, magic cards, card files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from zhifu.card import personalise
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import CardImage
from zhifu.card.issuing import IssuerKeys, issue_card
from zhifu.card.profile import builtin_profiles, load_profile
from zhifu.codec import tlv
from zhifu.codec.pan import is_luhn_valid
from zhifu.core.errors import DecodeError, UsageError
from zhifu.core.rng import SeededRandom
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher

TODAY = date(2026, 11, 25)
SELECT_DEBIT = bytes.fromhex("00A4040008A00000033301010100")


def _pan(image: CardImage) -> str:
    item = tlv.find(tlv.decode(image.applications[0].records[(3, 1)]), 0x5A)
    assert item is not None
    return item.value.hex().upper().rstrip("F")


def test_builtin_profiles() -> None:
    assert set(builtin_profiles()) >= {
        "pboc-reference",
        "debit",
        "credit",
        "ecash",
        "expired",
        "blocked",
        "pin-blocked",
        "ecash-full",
    }


@pytest.mark.parametrize(
    ("profile", "bin_"), [("debit", "622800"), ("credit", "622801"), ("ecash", "622802")]
)
def test_pan_from_the_test_bin(profile: str, bin_: str) -> None:
    image = issue_card(profile, None, None, random=SeededRandom(3), today=TODAY)
    pan = _pan(image)
    assert pan.startswith(bin_) and len(pan) == 16 and is_luhn_valid(pan)
    track2 = image.applications[0].qpboc_data[0x57].hex().upper()
    assert track2.startswith(pan + "D3111")  # expiry +5 years: 2031-11


@pytest.mark.parametrize("pan", ["6228000000000012", "62280000000000A1", "1234"])
def test_bad_pan_is_refused(pan: str) -> None:
    with pytest.raises(UsageError) as caught:
        issue_card("debit", pan, None, today=TODAY)
    assert caught.value.argument == "pan" and pan not in str(caught.value)


def test_a_profile_with_fixed_keys_keeps_its_pan() -> None:
    with pytest.raises(UsageError, match="fixes its card keys"):
        issue_card("pboc-reference", "6228000000000011", None, today=TODAY)
    assert _pan(issue_card("pboc-reference", "6228000100001117", None, today=TODAY)) == (
        "6228000100001117"
    )


@pytest.mark.parametrize("family", ["tdes", "sm4"])
def test_card_keys_are_option_a_of_the_issuer_master_keys(family: str) -> None:
    issuer = IssuerKeys.generate(SeededRandom(9))
    image = issue_card("debit", "6228000000000011", None, issuer=issuer, today=TODAY)
    keys = image.applications[0].keys[family]
    cipher = Cipher.SM4 if family == "sm4" else Cipher.TDES
    imk = issuer.imk[family]
    assert keys.mk_ac == emv.derive_icc_mk_a(cipher, imk.mk_ac, "6228000000000011", "01")
    assert keys.mk_smi == emv.derive_icc_mk_a(cipher, imk.mk_smi, "6228000000000011", "01")
    assert keys.mk_smc == emv.derive_icc_mk_a(cipher, imk.mk_smc, "6228000000000011", "01")


def test_issuer_key_file(tmp_path: Path) -> None:
    issuer = IssuerKeys.generate(SeededRandom(1))
    path = tmp_path / "issuer.json"
    issuer.save(path)
    again = IssuerKeys.load(path)
    assert again.to_json() == issuer.to_json() and again.oda_seed == issuer.oda_seed
    assert "masked" in repr(issuer) and issuer.imk["tdes"].mk_ac.hex() not in repr(issuer)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    path.write_text('{"format": "something else"}')
    with pytest.raises(DecodeError):
        IssuerKeys.load(path)
    with pytest.raises(UsageError):
        IssuerKeys.load(tmp_path / "missing.json")


def test_card_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    image = issue_card("debit", "6228000000000011", path, today=TODAY)
    assert CardImage.load(path).dumps() == image.dumps()
    data = json.loads(path.read_text())
    assert data["format"] == "zhifu-card/1"
    assert set(data["applications"][0]["keys"]) == {"tdes", "sm4"}
    assert set(data["applications"][0]["icc_key"]) == {"rsa", "sm2"}
    assert data["state"]["applications"]["A000000333010101"]["atc"] == 0
    assert (
        "6228000000000011" not in repr(image)
        and repr(image.applications[0].keys["tdes"]) == "KeySet(<masked>)"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("format", "x"), ("applications", []), ("atr", "XYZ"), ("state", [])],
)
def test_bad_card_files_raise_decode_error(tmp_path: Path, field: str, value: object) -> None:
    data = issue_card("debit", "6228000000000011", None, today=TODAY).to_json()
    data[field] = value
    with pytest.raises(DecodeError) as caught:
        CardImage.from_json(data)
    assert caught.value.field is not None


def test_custom_profile_file_extends_a_builtin(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps(
            {
                "format": "zhifu-card-profile/1",
                "name": "mine",
                "extends": "debit",
                "card": {"bin": "622899", "name": "MY TEST"},
                "pin": {"pin": "000000", "try_limit": 5},
            }
        )
    )
    image = issue_card(path, None, None, today=TODAY)
    app = image.applications[0]
    assert image.profile == "mine" and _pan(image).startswith("622899")
    assert app.pin_try_limit == 5 and app.state.pin_tries == 5
    assert app.internal(0x5F20) == b"MY TEST"
    assert load_profile(path)["applications"] == load_profile("debit")["applications"]
    with pytest.raises(UsageError):
        issue_card("no-such-profile", None, None)
    path.write_text("{not json")
    with pytest.raises(DecodeError):
        issue_card(path, None, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"card": {"pan_length": "16"}}, "card.pan_length"),
        ({"card": {"psn": 1}}, "card.psn"),
        ({"card": []}, "card"),
        ({"pin": {"try_limit": True}}, "pin.try_limit"),
        ({"state": {"ec_balance": "full"}}, "state.ec_balance"),
        ({"state": {"blocked": 1}}, "state.blocked"),
        ({"algorithms": ["tdes", 3]}, "algorithms"),
        ({"pse": "yes"}, "pse"),
        ({"pse": {"records": {}}}, "pse.fci"),
        ({"applications": ["A000000333010101"]}, "applications[0]"),
        ({"applications": [{"aid": 7}]}, "applications[0].aid"),
        ({"applications": [{"aid": "A000000333010101", "state": {"atc": "1"}}]},
         "applications[0].state.atc"),
    ],
)  # fmt: skip
def test_profiles_of_the_wrong_shape_name_the_field(
    tmp_path: Path, change: dict[str, object], field: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "zhifu-card-profile/1", "extends": "debit", **change}))
    with pytest.raises(DecodeError) as caught:
        load_profile(path)
    assert caught.value.field == field


def test_card_file_icc_keys_are_checked_on_load(tmp_path: Path) -> None:
    data = issue_card("debit", "6228000000000011", None, today=TODAY).to_json()
    rsa = data["applications"][0]["icc_key"]["rsa"]
    assert list(rsa) == [
        "alg", "private_key", "pan", "expiry_mmyy", "serial", "cert_9f46", "remainder_9f48",
        "exponent_9f47",
    ]  # fmt: skip
    image = CardImage.from_json(data)
    assert image.applications[0].icc_key["rsa"].to_dict() == rsa
    for name, bad in (("serial", "XY"), ("private_key", "00"), ("pan", None)):
        broken = json.loads(json.dumps(data))
        broken["applications"][0]["icc_key"]["rsa"][name] = bad
        with pytest.raises(DecodeError) as caught:
            CardImage.from_json(broken)
        assert caught.value.field == f"applications[0].icc_key.rsa.{name}"


def test_binary_files_are_decode_errors_not_crashes(tmp_path: Path) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(DecodeError):
        CardImage.load(path)
    with pytest.raises(DecodeError):
        IssuerKeys.load(path)
    with pytest.raises(DecodeError):
        load_profile(path)


def test_magic_cards(tmp_path: Path) -> None:
    def card(name: str) -> EmulatedCard:
        path = tmp_path / f"{name}.json"
        issue_card(name, "6228000000000011", path, today=TODAY)
        return EmulatedCard.load(path)

    expired = card("expired")
    assert expired.image.applications[0].internal(0x5F24) == bytes.fromhex("201231")
    assert expired.transmit(SELECT_DEBIT)[-2:] == b"\x90\x00"
    assert card("blocked").transmit(SELECT_DEBIT)[-2:] == b"\x62\x83"
    pin_blocked = card("pin-blocked")
    pin_blocked.transmit(SELECT_DEBIT)
    assert pin_blocked.transmit(bytes.fromhex("0020008008241234FFFFFFFFFF")) == b"\x69\x83"
    full = card("ecash-full").image.applications[0]
    assert full.state.ec_balance == int(full.data[0x9F77].hex()) == 100000
    assert card("card-blocked").transmit(SELECT_DEBIT) == b"\x6a\x81"


def test_generated_directories() -> None:
    image = issue_card("credit", "6228010000000010", None, today=TODAY)
    assert image.pse_fci is not None and image.ppse_fci is not None
    entry = tlv.find(tlv.decode(image.pse_records[1]), 0x61)
    assert entry is not None and entry.find(0x4F).value == bytes.fromhex("A000000333010102")  # type: ignore[union-attr]
    label = tlv.find(tlv.decode(image.ppse_fci), 0x50)
    assert label is not None and label.value == b"UnionPay Credit"
    assert "ec" not in image.applications[0].paths and 0x9F77 not in image.applications[0].data


def test_oda_switch_leaves_oda_objects_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(personalise, "ODA_AVAILABLE", False)
    image = issue_card("debit", "6228000000000011", None, today=TODAY)
    app = image.applications[0]
    assert app.icc_key == {} and app.internal(0x9F46) is None and app.internal(0x90) is None
    card = EmulatedCard(image)
    card.transmit(SELECT_DEBIT)
    assert card.transmit(bytes.fromhex("0088000004CAFEBABE00")) == b"\x69\x85"
