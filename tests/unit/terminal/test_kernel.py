"""The terminal kernel: each step's TVR/TSI bits as a table, and cards with planted faults
ending in the decision EMV prescribes for the action codes in play."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.issuing import issue_card
from zhifu.card.oda.ca import builtin_test_ca
from zhifu.codec import tlv
from zhifu.core.errors import UsageError
from zhifu.terminal.chip import ChipSession, KernelOptions, OfflineDeclineError
from zhifu.terminal.kernel.action import Decision, analyse, default_action
from zhifu.terminal.kernel.bits import TSI_TABLE, TVR_TABLE, Tsi, TsiBit, Tvr, TvrBit
from zhifu.terminal.kernel.config import TerminalConfig
from zhifu.terminal.kernel.cvm import CONDITIONS, CVM_CODES, verify
from zhifu.terminal.kernel.restrictions import restrictions
from zhifu.terminal.kernel.risk import risk
from zhifu.terminal.kernel.run import run_kernel
from zhifu.terminal.messages import SERVICES
from zhifu.terminal.receipt import COPIES, KIND_NAMES, receipt_lines
from zhifu.terminal.result import TransactionResult

TODAY = date(2026, 11, 25)
CAPKS = [builtin_test_ca("rsa"), builtin_test_ca("sm2")]


# --- the tables themselves ---------------------------------------------------------------------


def test_the_bit_tables() -> None:
    for table, size in ((TVR_TABLE, 5), (TSI_TABLE, 2)):
        positions = [bit.value for bit in table]
        assert len(set(positions)) == len(positions)
        assert all(
            1 <= byte <= size and mask in (1, 2, 4, 8, 16, 32, 64, 128) for byte, mask in positions
        )
        assert all(name for name in table.values())
    assert set(TVR_TABLE) == set(TvrBit) and set(TSI_TABLE) == set(TsiBit)
    assert sorted(CVM_CODES) == [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x1E, 0x1F, 0x20]
    assert sorted(CONDITIONS) == list(range(10))


# --- one table per step: condition -> TVR bits --------------------------------------------------

CARD = {0x9F08: bytes.fromhex("0030"), 0x9F07: bytes.fromhex("FFC0"), 0x5F28: bytes.fromhex("0156"),
        0x5F24: bytes.fromhex("301231"), 0x5F25: bytes.fromhex("200101")}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "transaction_type", "bits"),
    [
        ({}, 0x00, []),
        ({0x9F08: bytes.fromhex("0020")}, 0x00, [TvrBit.DIFFERENT_VERSIONS]),
        ({0x5F24: bytes.fromhex("261124")}, 0x00, [TvrBit.EXPIRED_APPLICATION]),
        ({0x5F24: bytes.fromhex("261125")}, 0x00, []),  # valid through its expiry day
        ({0x5F25: bytes.fromhex("261126")}, 0x00, [TvrBit.NOT_YET_EFFECTIVE]),
        ({0x9F07: bytes.fromhex("7FC0")}, 0x01, [TvrBit.SERVICE_NOT_ALLOWED]),  # no domestic cash
        ({0x9F07: bytes.fromhex("D7C0")}, 0x00, [TvrBit.SERVICE_NOT_ALLOWED]),  # no domestic goods
        (
            {0x5F28: bytes.fromhex("0840"), 0x9F07: bytes.fromhex("EBC0")},
            0x00,
            [TvrBit.SERVICE_NOT_ALLOWED],
        ),  # a foreign card, no international goods
    ],
)
def test_processing_restrictions(
    change: dict[int, bytes], transaction_type: int, bits: list[TvrBit]
) -> None:
    assert restrictions({**CARD, **change}, TerminalConfig(), transaction_type, TODAY) == bits


def rules(*pairs: str, x: int = 0, y: int = 0) -> bytes:
    return x.to_bytes(4, "big") + y.to_bytes(4, "big") + bytes.fromhex("".join(pairs))


@pytest.mark.parametrize(
    ("cvm_list", "answer", "pin_pad", "results", "bits"),
    [
        (rules("0200", "1F00"), "ok", True, "020000", [TvrBit.ONLINE_PIN_ENTERED]),
        (rules("0100"), "ok", True, "010002", []),
        (rules("0100"), "wrong", True, "010001", [TvrBit.CVM_NOT_SUCCESSFUL]),
        (rules("4100", "1E00"), "wrong", True, "1E0000", []),  # PIN failed, next rule: signature
        (
            rules("0100"),
            "blocked",
            True,
            "010001",
            [TvrBit.PIN_TRY_LIMIT_EXCEEDED, TvrBit.CVM_NOT_SUCCESSFUL],
        ),
        (
            rules("0200"),
            "ok",
            False,
            "020001",
            [TvrBit.PIN_PAD_NOT_PRESENT, TvrBit.CVM_NOT_SUCCESSFUL],
        ),
        (
            rules("0200"),
            "bypassed",
            True,
            "020001",
            [TvrBit.PIN_NOT_ENTERED, TvrBit.CVM_NOT_SUCCESSFUL],
        ),
        (rules("5000", "1F00"), "ok", True, "1F0002", [TvrBit.UNRECOGNISED_CVM]),
        (rules("0206", "1F00", x=50_00), "ok", True, "1F0002", []),  # amount 100.00 not under X
        (rules("0207", "1F00", x=50_00), "ok", True, "020700", [TvrBit.ONLINE_PIN_ENTERED]),
        (rules("0005"), "ok", True, "3F0001", [TvrBit.CVM_NOT_SUCCESSFUL]),  # no condition holds
        (rules("0000"), "ok", True, "000001", [TvrBit.CVM_NOT_SUCCESSFUL]),  # fail CVM
        (None, "ok", True, "3F0000", [TvrBit.ICC_DATA_MISSING]),
    ],
)
def test_cardholder_verification(
    cvm_list: bytes | None, answer: str, pin_pad: bool, results: str, bits: list[TvrBit]
) -> None:
    def perform(code: int) -> str:
        return "ok" if code == 0x1E else answer  # the merchant accepts a signature

    outcome = verify(cvm_list, 100_00, TerminalConfig(pin_pad=pin_pad), perform)
    assert (outcome.results.hex().upper(), outcome.tvr) == (results.upper(), bits)


VELOCITY = {0x9F14: b"\x02", 0x9F23: b"\x04"}


@pytest.mark.parametrize(
    ("amount", "card", "counters", "draw", "bits"),
    [
        (99_99, {}, None, 99, []),
        (100_00, {}, None, 99, [TvrBit.EXCEEDS_FLOOR_LIMIT]),
        (10_00, {}, None, 10, [TvrBit.RANDOMLY_SELECTED]),  # under the threshold: target 10%
        (10_00, {}, None, 11, []),
        (75_00, {}, None, 30, [TvrBit.RANDOMLY_SELECTED]),  # halfway: 10% + (50-10)/2 = 30%
        (75_00, {}, None, 31, []),
        (1_00, VELOCITY, (b"\x00\x05", b"\x00\x02"), 99, [TvrBit.LCOL_EXCEEDED]),
        (
            1_00,
            VELOCITY,
            (b"\x00\x07", b"\x00\x02"),
            99,
            [TvrBit.LCOL_EXCEEDED, TvrBit.UCOL_EXCEEDED],
        ),
        (1_00, VELOCITY, (b"\x00\x01", b"\x00\x00"), 99, [TvrBit.NEW_CARD]),
        (
            1_00,
            VELOCITY,
            (None, b"\x00\x00"),
            99,
            [TvrBit.ICC_DATA_MISSING, TvrBit.LCOL_EXCEEDED, TvrBit.UCOL_EXCEEDED],
        ),
    ],
)
def test_terminal_risk_management(
    amount: int, card: dict[int, bytes], counters: tuple[bytes | None, bytes | None] | None,
    draw: int, bits: list[TvrBit],
) -> None:  # fmt: skip
    term = TerminalConfig(floor_limit=100_00, random_threshold=50_00, random_target_percent=10,
                          random_max_percent=50)  # fmt: skip
    assert risk(amount, term, card, counters, draw=lambda: draw) == bits


IAC = {0x9F0E: bytes.fromhex("0040000000"), 0x9F0F: bytes.fromhex("0000008000"),
       0x9F0D: bytes.fromhex("0000008000")}  # fmt: skip


@pytest.mark.parametrize(
    ("bits", "online", "decision"),
    [
        ([], True, Decision.TC),
        ([TvrBit.EXCEEDS_FLOOR_LIMIT], True, Decision.ARQC),
        ([TvrBit.EXPIRED_APPLICATION, TvrBit.EXCEEDS_FLOOR_LIMIT], True, Decision.AAC),
        ([TvrBit.EXCEEDS_FLOOR_LIMIT], False, Decision.AAC),  # offline only: default
        ([TvrBit.NEW_CARD], False, Decision.TC),
    ],
)
def test_terminal_action_analysis(bits: list[TvrBit], online: bool, decision: Decision) -> None:
    assert analyse(Tvr.of(*bits), TerminalConfig(online_capable=online), IAC) is decision


def test_unable_to_go_online_uses_the_default_codes() -> None:
    tvr = Tvr.of(TvrBit.EXCEEDS_FLOOR_LIMIT)
    assert default_action(tvr, TerminalConfig(), IAC) is Decision.AAC
    assert default_action(Tvr(), TerminalConfig(), IAC) is Decision.TC


# --- cards with planted faults, through the whole kernel -----------------------------------------


def card_from(tmp: Path, name: str, extends: str = "debit", **card: str) -> EmulatedCard:
    profile = tmp / f"{name}.json"
    profile.write_text(json.dumps({"format": "zhifu-card-profile/1", "name": name,
                                   "extends": extends, "card": card}))  # fmt: skip
    out = tmp / f"{name}-card.json"
    issue_card(profile, None, out, today=TODAY)
    return EmulatedCard.load(out)


def kernel(card: EmulatedCard, amount: int = 100_00, **options: object):  # type: ignore[no-untyped-def]
    chip = ChipSession(card)
    chip.read(amount, 0x00)
    answer = options.pop("answer", "ok")
    capks = options.pop("capks", CAPKS)
    config = TerminalConfig(**options)  # type: ignore[arg-type]
    return run_kernel(chip.terminal, amount, capks=capks, perform_cvm=lambda code: answer,  # type: ignore[arg-type]
                      today=TODAY, config=config, draw=lambda: 99)  # fmt: skip


def with_iacs(card: EmulatedCard, denial: str) -> EmulatedCard:
    app = card.image.applications[0]
    for key, record in list(app.records.items()):
        items = tlv.decode(record)[0].children
        if any(i.tag == 0x9F0E for i in items):
            changed = [
                tlv.Tlv(i.tag, bytes.fromhex(denial)) if i.tag == 0x9F0E else i for i in items
            ]
            app.records[key] = tlv.Tlv(0x70, b"".join(i.encode() for i in changed)).encode()
    return card


def test_a_good_card_goes_online_and_under_the_floor_limit_is_approved_offline(
    tmp_path: Path,
) -> None:
    card = card_from(tmp_path, "good", effective="200101", expiry="301231")
    result = kernel(card)
    assert result.decision is Decision.ARQC and result.oda.method == "dda"
    assert result.tvr.names() == [
        "new card",
        "online PIN entered",
        "transaction exceeds floor limit",
    ]
    assert result.tsi.names() == ["offline data authentication was performed",
                                  "cardholder verification was performed",
                                  "card risk management was performed",
                                  "terminal risk management was performed"]  # fmt: skip
    offline = kernel(
        card_from(tmp_path, "good2", effective="200101", expiry="301231"),
        amount=10_00,
        floor_limit=100_00,
        capabilities=bytes.fromhex("E0B8C8"),
    )
    assert offline.tvr.names() == ["new card"]  # not in IAC-online: approved offline
    assert offline.decision is Decision.TC and offline.cvm.signature  # offline PIN "ok"


# The debit card's contact application has IAC-denial 0050880000 (expired, service not allowed,
# CVM not successful, PIN not entered) and IAC-online F020049800 (ODA not performed, SDA failed,
# ICC data missing, exception file, not yet effective, online PIN, floor limit, random
# selection, merchant forced): a denial bit -> AAC; otherwise the floor limit of 0 -> ARQC.
@pytest.mark.parametrize(
    ("name", "card_fields", "options", "expected"),
    [
        (
            "expired",
            {"expiry": "251231", "effective": "200101"},
            {},
            (TvrBit.EXPIRED_APPLICATION, Decision.AAC),
        ),
        # the card's IAC-online, not its IAC-denial, names "not yet effective": online
        (
            "not-effective",
            {"effective": "270101", "expiry": "301231"},
            {},
            (TvrBit.NOT_YET_EFFECTIVE, Decision.ARQC),
        ),
        # the card's codes do not name a DDA failure: the floor limit sends it online ...
        ("oda-failure", {"effective": "200101"}, {"capks": []}, (TvrBit.DDA_FAILED, Decision.ARQC)),
        # ... unless the terminal's denial code does
        (
            "oda-failure-tac",
            {"effective": "200101"},
            {"capks": [], "tac_denial": bytes.fromhex("0800000000")},
            (TvrBit.DDA_FAILED, Decision.AAC),
        ),
        # a terminal that supports none of the card's CVMs (9F33 byte 2 = 00)
        (
            "cvm-failure",
            {"effective": "200101"},
            {"capabilities": bytes.fromhex("E000C8")},
            (TvrBit.CVM_NOT_SUCCESSFUL, Decision.AAC),
        ),
        (
            "over-floor",
            {"effective": "200101"},
            {"floor_limit": 50_00},
            (TvrBit.EXCEEDS_FLOOR_LIMIT, Decision.ARQC),
        ),
    ],
)
def test_planted_faults_end_in_the_prescribed_decision(
    tmp_path: Path,
    name: str,
    card_fields: dict[str, str],
    options: dict[str, object],
    expected: tuple[TvrBit, Decision],
) -> None:
    bit, decision = expected
    result = kernel(card_from(tmp_path, name, **card_fields), **options)
    assert result.tvr.has(bit), result.tvr.names()
    assert result.decision is decision


def test_an_iac_denial_bit_declines_what_would_go_online(tmp_path: Path) -> None:
    card = with_iacs(card_from(tmp_path, "iac", effective="200101"), "0000008000")
    no_oda = bytes.fromhex("E0F800")  # the changed record would fail ODA: leave ODA out
    assert kernel(card, capabilities=no_oda, floor_limit=50_00).decision is Decision.AAC
    card = with_iacs(card_from(tmp_path, "iac2", effective="200101"), "0000000000")
    assert kernel(card, capabilities=no_oda, floor_limit=50_00).decision is Decision.ARQC


def test_the_kernel_writes_tvr_tsi_and_cvm_results_for_the_cryptogram(tmp_path: Path) -> None:
    chip = ChipSession(card_from(tmp_path, "values", effective="200101"))
    chip.read(100_00, 0x00)
    result = run_kernel(chip.terminal, 100_00, capks=CAPKS, perform_cvm=lambda code: "ok",
                        today=TODAY)  # fmt: skip
    values = chip.terminal.values
    assert values[0x95] == bytes(result.tvr) and values[0x9B] == bytes(result.tsi)
    assert values[0x9F34] == result.cvm.results == bytes.fromhex("420300")  # online PIN
    assert Tsi(values[0x9B]).has(TsiBit.TRM_PERFORMED)


def test_first_generate_ac_asks_the_kernels_decision(tmp_path: Path) -> None:
    options = KernelOptions(capks=tuple(CAPKS))
    expired = ChipSession(card_from(tmp_path, "aac", expiry="251231", effective="200101"))
    with pytest.raises(OfflineDeclineError, match="expired application"):
        expired.first_ac(100_00, 0x00, kernel=options)
    assert expired.terminal.trace.cid1 == 0x00  # the card was asked for an AAC and gave one
    good = ChipSession(card_from(tmp_path, "arqc", effective="200101"))
    icc = good.first_ac(100_00, 0x00, kernel=options)
    assert icc[0x9F27] == b"\x80" and good.kernel_result is not None
    assert icc[0x95] == bytes(good.kernel_result.tvr) and icc[0x9F34] == bytes.fromhex("420300")


def test_the_slips_cardholder_part() -> None:

    assert set(KIND_NAMES) == set(SERVICES) and set(COPIES) == {"merchant", "cardholder"}
    base = {
        "response_code": "00",
        "approved": True,
        "stan": "000009",
        "batch": "000001",
        "amount": 300_00,
        "masked_pan": "622800******1117",
        "at": "2026-12-05T09:30:00+08:00",
    }
    tap = TransactionResult("purchase", entry="tap", **base)  # type: ignore[arg-type]
    swipe = TransactionResult("purchase", entry="fallback", **base)  # type: ignore[arg-type]
    assert "免密免签 NO PIN, NO SIGNATURE" in receipt_lines(tap, "M", "T", copy="merchant")
    signed = receipt_lines(swipe, "M", "T", copy="merchant")
    assert "持卡人签名 CARDHOLDER SIGNATURE:" in signed and "622800******1117 /F" in signed[4]
    with pytest.raises(UsageError):
        receipt_lines(TransactionResult("purchase"), "M", "T", copy="merchant")
