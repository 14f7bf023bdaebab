"""The card against the EMV/PBOC data dictionary: every built-in profile and freshly issued
cards of each, on the contact and contactless paths, and the two faults outside readers met
on the pboc-reference card (a one-byte 5F28 that stopped python-emv; a qPBOC Track 2
equivalent with another expiry date than the contact records)."""

from __future__ import annotations

from datetime import date

import pytest

from zhifu.card.conformance import Finding, check_card, check_elements, element_problem
from zhifu.card.image.model import CardImage
from zhifu.card.issuing import issue_card, reference_image
from zhifu.card.profile import builtin_profiles
from zhifu.codec import tlv
from zhifu.core.rng import SeededRandom

PROFILES = builtin_profiles()
REFERENCE_PAN = "6228000100001117"


@pytest.mark.parametrize("profile", PROFILES)
def test_every_builtin_profile_conforms(profile: str) -> None:
    image = issue_card(profile, None, None, today=date(2026, 11, 25), random=SeededRandom(1))
    assert check_card(image) == []


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("seed", [7, 2027])
def test_freshly_issued_cards_conform(profile: str, seed: int) -> None:
    """Fresh PANs from the test BINs, today's dates (the leap day too): still conforming."""
    for today in (date.today(), date(2028, 2, 29)):
        image = issue_card(profile, None, None, today=today, random=SeededRandom(seed))
        assert check_card(image) == [], (profile, seed, today)


def test_the_checks_run_over_records_get_data_and_each_gpo_answer() -> None:
    image = issue_card("debit", "6228000000000011", None, today=date(2026, 11, 25))
    app = image.applications[0]
    app.records[(3, 3)] = tlv.Tlv(0x70, tlv.Tlv(0x5F28, b"\x56").encode()).encode()
    app.data[0x9F77] = bytes.fromhex("00000001500A")
    app.qpboc_data[0x5F34] = bytes.fromhex("0102")  # only the qPBOC GPO answer carries it
    found = {(f.where, f.tag, f.problem) for f in check_card(image)}
    assert found == {
        ("A000000333010101 record 3.3", "5F28", "length 1, the dictionary gives 2"),
        ("A000000333010101 GET DATA 9F77", "9F77", "format n: not BCD digits"),
        ("A000000333010101 GPO qpboc (contactless)", "5F34", "length 2, the dictionary gives 1"),
        (
            "A000000333010101 GPO qpboc (contactless, SM)",
            "5F34",
            "length 2, the dictionary gives 1",
        ),
    }


def _reference_with(record_32: str | None = None, qpboc_57: str | None = None) -> CardImage:
    image = reference_image()
    app = image.applications[0]
    if record_32 is not None:
        app.set_record((3, 2), bytes.fromhex(record_32))
    if qpboc_57 is not None:
        app.qpboc_data[0x57] = bytes.fromhex(qpboc_57)
    return image


def test_the_one_byte_country_code_is_found() -> None:
    image = _reference_with(
        record_32="703C5F3401015F2801569F0702FFC05F200F46554C4C2046554E4354494F4E414C5F30020201"
        "9F420201569F631011223344556677880000000000000000"
    )
    assert check_card(image) == [
        Finding("A000000333010101 record 3.2", "5F28", "length 1, the dictionary gives 2")
    ]


def test_the_contactless_expiry_that_disagrees_is_found_without_showing_it() -> None:
    image = _reference_with(qpboc_57=REFERENCE_PAN + "D10122010123456789")
    found = check_card(image)
    assert [(f.tag, f.problem) for f in found] == [
        ("57", "expiry date differs from A000000333010101 record 1.1 57")
    ]  # the qPBOC answer (3DES only: the reference card has no SM4 keys)
    text = " ".join(map(str, found))
    assert REFERENCE_PAN not in text and "1012" not in text and "3012" not in text
    assert all(f.where.startswith("A000000333010101 GPO qpboc (contactless") for f in found)


def test_a_pan_or_service_code_that_disagrees_is_found() -> None:
    image = _reference_with(qpboc_57="6228000100001125D30122010123456789")
    assert {f.problem for f in check_card(image)} == {
        "PAN differs from A000000333010101 record 1.1 57"
    }
    image = _reference_with(qpboc_57=REFERENCE_PAN + "D30121010123456789")
    assert {f.problem for f in check_card(image)} == {
        "service code differs from A000000333010101 record 1.1 57"
    }


def test_checking_changes_nothing_on_the_card() -> None:
    image = issue_card("debit", "6228000000000011", None, today=date(2026, 11, 25))
    before = image.dumps()
    assert check_card(image) == []
    assert image.dumps() == before and image.applications[0].state.atc == 0


@pytest.mark.parametrize(
    ("tag", "value", "problem"),
    [
        (0x9F02, "000000001000", None),
        (0x9F02, "0000000010", "length 5, the dictionary gives 6"),
        (0x9F02, "00000000100A", "format n: not BCD digits"),
        (0x5A, "6228000000000011", None),
        (0x5A, "622800000000001F", None),
        (0x5A, "62280000000F0011", "format cn: not BCD digits padded with F"),
        (0x5F55, "434E", None),
        (0x5F55, "4331", "format a: characters outside the set"),
        (0x9F74, "454343303031", None),
        (0x9F74, "454343203031", "format an: characters outside the set"),
        (0x50, "50424F43204372656469", None),
        (0x50, "50424F430A", "format ans: characters outside the set"),
        (0x9F12, "E4B8AD", None),  # Latin (ISO/IEC 8859) bytes, as 9F11 allows
        (0x82, "FFFF", None),
        (0x82, "FF", "length 1, the dictionary gives 2"),
        (0x9F10, "00" * 33, "length 33, the dictionary gives 0 to 32"),
        (0x57, "6228000100001117D30122010123456789", None),
        (0x57, "6228000100001117D3012201", None),
        (0x57, "6228000100001117301220", "not a Track 2 equivalent"),
        (0xDF7F, "0102", None),  # not in the dictionary: proprietary, left alone
    ],
)
def test_element_problem(tag: int, value: str, problem: str | None) -> None:
    found = element_problem(tag, bytes.fromhex(value))
    if problem is None or found is None:
        assert found == problem
    else:
        assert found.startswith(problem)


def test_templates_are_walked() -> None:
    items = tlv.decode(bytes.fromhex("700A5F28020156A503870102"))
    assert check_elements(items, "here") == []
    items = tlv.decode(bytes.fromhex("70095F28020156A5028700"))
    assert check_elements(items, "here") == [
        Finding("here", "87", "length 0, the dictionary gives 1")
    ]
