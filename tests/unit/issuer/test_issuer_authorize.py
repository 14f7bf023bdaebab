"""The issuer end to end in-process: real chips, real ARQCs, real PIN blocks, a real ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.scripted import online_request_data
from zhifu.issuer import (
    AuthorizationRequest,
    Decision,
    Issuer,
    Kind,
    PinData,
    ReversalRequest,
    funds,
)
from zhifu.security.secrets import Pin

PIN = "1234"


class Chip:
    """An issued emulated card, and the field 55 of an online request made with it."""

    def __init__(self, path: Path) -> None:
        self.card = EmulatedCard.load(path)
        app = self.card.image.applications[0]
        pan = app.internal(0x5A)
        assert pan is not None
        self.pan, self.aid = pan.hex().upper().rstrip("F"), app.aid

    def arqc(self, amount: int) -> dict[int, bytes]:
        """The card's first GENERATE AC (ARQC) over the terminal's data."""
        self.card.power_on()
        try:
            return online_request_data(self.card.transmit, amount, aid=self.aid)
        finally:
            self.card.power_off()


def issue(issuer: Issuer, tmp_path: Path, balance: int = 100_000, product: str = "debit") -> Chip:
    out = tmp_path / f"card-{len(list(tmp_path.glob('card-*')))}.json"
    issuer.issue_card(product, balance, PIN, out)
    return Chip(out)


def pin(issuer: Issuer, chip: Chip, value: str = PIN) -> PinData:
    block = issuer.keys.hsm.encrypt_pin_block(Pin(value), issuer.keys.zpk, chip.pan)
    return PinData(block.reveal(), issuer.keys.zpk)


def request(
    issuer: Issuer, card: Chip, kind: Kind, amount: int, txn: str, **extra: object
) -> AuthorizationRequest:
    icc = card.arqc(amount) if extra.pop("chip", True) else {}
    entered = extra.pop("pin", PIN)
    return AuthorizationRequest(
        kind, txn, card.pan, amount, icc=icc,
        pin=None if entered is None else pin(issuer, card, str(entered)), **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def balance(issuer: Issuer, chip: Chip) -> int:
    return issuer.balances(chip.pan).available


def test_purchase_moves_exactly_the_amount_and_answers_an_arpc(
    issuer: Issuer, tmp_path: Path
) -> None:
    chip = issue(issuer, tmp_path)
    answer = issuer.authorize(request(issuer, chip, Kind.PURCHASE, 1_234, "T1-000001-000001"))
    assert answer.decision is Decision.APPROVED and answer.field_39 == "00"
    assert len(answer.auth_code) == 6 and answer.icc[0x91][8:] == b"00"
    assert balance(issuer, chip) == 100_000 - 1_234 and answer.available is None
    assert issuer.ledger.check().balanced


def test_a_duplicate_gets_the_same_answer_and_posts_nothing(issuer: Issuer, tmp_path: Path) -> None:
    chip = issue(issuer, tmp_path)
    first = request(issuer, chip, Kind.PURCHASE, 500, "T1-000001-000002")
    a = issuer.authorize(first)
    b = issuer.authorize(first)
    assert (a.field_39, a.auth_code, a.icc[0x91]) == (b.field_39, b.auth_code, b.icc[0x91])
    assert balance(issuer, chip) == 99_500
    other = request(issuer, chip, Kind.PURCHASE, 700, "T1-000001-000002")
    assert issuer.authorize(other).field_39 == "94"


def test_a_replayed_atc_is_declined(issuer: Issuer, tmp_path: Path) -> None:
    chip = issue(issuer, tmp_path)
    first = request(issuer, chip, Kind.PURCHASE, 100, "T1-000001-000003")
    assert issuer.authorize(first).approved
    replay = AuthorizationRequest(Kind.PURCHASE, "T1-000001-000004", chip.pan, 100,
                                  icc=first.icc, pin=first.pin)  # fmt: skip
    answer = issuer.authorize(replay)
    assert answer.decision is Decision.CRYPTOGRAM_FAILED and answer.field_39 == "34"
    assert balance(issuer, chip) == 99_900


def test_a_tampered_arqc_is_declined(issuer: Issuer, tmp_path: Path) -> None:
    chip = issue(issuer, tmp_path)
    req = request(issuer, chip, Kind.PURCHASE, 100, "T1-000001-000005")
    icc = dict(req.icc)
    icc[0x9F02] = bytes.fromhex("000000009999")
    forged = AuthorizationRequest(
        Kind.PURCHASE, req.transaction_id, chip.pan, 9_999, icc=icc, pin=req.pin
    )
    assert issuer.authorize(forged).field_39 == "34"
    assert balance(issuer, chip) == 100_000


def test_wrong_pin_then_tries_exceeded_then_reset_on_success(
    issuer: Issuer, tmp_path: Path
) -> None:
    chip = issue(issuer, tmp_path)
    codes = [issuer.authorize(request(issuer, chip, Kind.PURCHASE, 100, f"T1-000001-00010{n}",
                                      pin="9999")).field_39 for n in range(2)]  # fmt: skip
    assert codes == ["55", "55"]
    assert issuer.authorize(request(issuer, chip, Kind.PURCHASE, 100, "T1-000001-000110")).approved
    codes = [issuer.authorize(request(issuer, chip, Kind.PURCHASE, 100, f"T1-000001-00020{n}",
                                      pin="9999")).field_39 for n in range(4)]  # fmt: skip
    assert codes == ["55", "55", "75", "75"]
    assert (
        issuer.authorize(request(issuer, chip, Kind.PURCHASE, 100, "T1-000001-000300")).field_39
        == "75"
    )


def test_funds_and_limits(issuer: Issuer, tmp_path: Path) -> None:
    chip = issue(issuer, tmp_path, balance=1_000)
    answer = issuer.authorize(request(issuer, chip, Kind.PURCHASE, 1_001, "T1-000001-000400"))
    assert answer.decision is Decision.INSUFFICIENT_FUNDS and answer.field_39 == "51"
    assert balance(issuer, chip) == 1_000
    assert (
        issuer.authorize(
            request(issuer, chip, Kind.PURCHASE, 6_000_000, "T1-000001-000401")
        ).field_39
        == "61"
    )
    assert (
        issuer.authorize(request(issuer, chip, Kind.PURCHASE, 0, "T1-000001-000402")).field_39
        == "13"
    )


def test_card_status_and_unknown_card(issuer: Issuer, tmp_path: Path) -> None:
    chip = issue(issuer, tmp_path)
    for status, code in (("lost", "41"), ("stolen", "43"), ("blocked", "62")):
        issuer.set_status(chip.pan, status)
        assert (
            issuer.authorize(
                request(issuer, chip, Kind.PURCHASE, 1, f"T1-000002-{status}")
            ).field_39
            == code
        )
    unknown = AuthorizationRequest(Kind.PURCHASE, "T1-000002-000009", "6228000000000000", 1)
    assert issuer.authorize(unknown).field_39 == "14"


def test_balance_inquiry_moves_nothing(issuer: Issuer, tmp_path: Path) -> None:
    chip = issue(issuer, tmp_path, balance=98_766)
    answer = issuer.authorize(request(issuer, chip, Kind.BALANCE, 0, "T1-000003-000001"))
    assert answer.approved and answer.available == answer.ledger == 98_766


def test_preauth_completion_and_void(issuer: Issuer, tmp_path: Path) -> None:
    chip = issue(issuer, tmp_path)
    assert issuer.authorize(
        request(issuer, chip, Kind.PREAUTH, 10_000, "T1-000004-000001")
    ).approved
    assert issuer.balances(chip.pan).available == 90_000
    assert issuer.balances(chip.pan).ledger == 100_000
    over = request(
        issuer, chip, Kind.COMPLETION, 10_001, "T1-000004-000002", original_id="T1-000004-000001"
    )
    assert issuer.authorize(over).field_39 == "64"
    done = request(
        issuer, chip, Kind.COMPLETION, 8_000, "T1-000004-000003", original_id="T1-000004-000001"
    )
    assert issuer.authorize(done).approved
    assert issuer.balances(chip.pan).available == issuer.balances(chip.pan).ledger == 92_000
    assert issuer.authorize(request(issuer, chip, Kind.PREAUTH, 5_000, "T1-000004-000004")).approved
    void = request(
        issuer, chip, Kind.PREAUTH_VOID, 5_000, "T1-000004-000005", original_id="T1-000004-000004"
    )
    assert issuer.authorize(void).approved
    assert issuer.balances(chip.pan).available == 92_000
    assert issuer.ledger.check().balanced


def test_void_and_refund(issuer: Issuer, tmp_path: Path) -> None:
    chip = issue(issuer, tmp_path)
    assert issuer.authorize(
        request(issuer, chip, Kind.PURCHASE, 3_000, "T1-000005-000001")
    ).approved
    void = request(
        issuer, chip, Kind.PURCHASE_VOID, 3_000, "T1-000005-000002", original_id="T1-000005-000001"
    )
    assert issuer.authorize(void).approved
    again = request(
        issuer, chip, Kind.PURCHASE_VOID, 3_000, "T1-000005-000003", original_id="T1-000005-000001"
    )
    assert issuer.authorize(again).field_39 == "64"
    assert balance(issuer, chip) == 100_000
    assert issuer.authorize(
        request(issuer, chip, Kind.PURCHASE, 4_000, "T1-000005-000004")
    ).approved
    refund = request(
        issuer,
        chip,
        Kind.REFUND,
        1_500,
        "T1-000005-000005",
        original_id="T1-000005-000004",
        chip=False,
        pin=None,
    )
    assert issuer.authorize(refund).approved
    too_much = request(
        issuer,
        chip,
        Kind.REFUND,
        2_501,
        "T1-000005-000006",
        original_id="T1-000005-000004",
        chip=False,
        pin=None,
    )
    assert issuer.authorize(too_much).field_39 == "13"
    missing = request(
        issuer,
        chip,
        Kind.REFUND,
        1,
        "T1-000005-000007",
        original_id="T1-000009-000009",
        chip=False,
        pin=None,
    )
    assert issuer.authorize(missing).field_39 == "25"
    assert balance(issuer, chip) == 100_000 - 4_000 + 1_500


def test_reversal_undoes_once_and_a_reversal_first_blocks_the_original(
    issuer: Issuer, tmp_path: Path
) -> None:
    chip = issue(issuer, tmp_path)
    assert issuer.authorize(
        request(issuer, chip, Kind.PURCHASE, 2_000, "T1-000006-000001")
    ).approved
    first = issuer.reverse(ReversalRequest("T1-000006-000001"))
    second = issuer.reverse(ReversalRequest("T1-000006-000001"))
    assert (first.found, first.undone, second.found, second.undone) == (True, True, True, False)
    assert balance(issuer, chip) == 100_000
    early = issuer.reverse(ReversalRequest("T1-000006-000002"))
    assert (early.found, early.undone) == (False, False)
    late = issuer.authorize(request(issuer, chip, Kind.PURCHASE, 2_000, "T1-000006-000002"))
    assert late.field_39 == "12" and balance(issuer, chip) == 100_000
    declined = issuer.authorize(request(issuer, chip, Kind.PURCHASE, 200_000, "T1-000006-000003"))
    assert declined.field_39 == "51"
    assert issuer.reverse(ReversalRequest("T1-000006-000003")).found is False
    assert issuer.authorize(request(issuer, chip, Kind.PREAUTH, 9_000, "T1-000006-000004")).approved
    assert issuer.reverse(ReversalRequest("T1-000006-000004")).undone
    assert issuer.balances(chip.pan).available == 100_000
    assert issuer.ledger.check().balanced


def test_credit_card_uses_its_limit(issuer: Issuer, tmp_path: Path) -> None:
    chip = issue(issuer, tmp_path, balance=50_000, product="credit")
    assert issuer.balances(chip.pan).available == 50_000
    assert issuer.authorize(
        request(issuer, chip, Kind.PURCHASE, 30_000, "T1-000007-000001")
    ).approved
    assert (
        issuer.authorize(request(issuer, chip, Kind.PURCHASE, 30_000, "T1-000007-000002")).field_39
        == "51"
    )
    assert issuer.balances(chip.pan).available == 20_000


def test_ecash_load_moves_money_to_the_pool_and_sends_a_put_data_script(
    issuer: Issuer, tmp_path: Path
) -> None:
    chip = issue(issuer, tmp_path)
    answer = issuer.authorize(request(issuer, chip, Kind.ECASH_LOAD, 5_000, "T1-000008-000001"))
    assert answer.approved
    script = answer.icc[0x72]
    assert bytes.fromhex("04DA9F790A") in script
    balances = issuer.balances(chip.pan)
    assert (balances.available, balances.ecash_pool) == (95_000, 5_000)


@pytest.mark.parametrize("planted", ["pin", "pan"])
def test_no_clear_pin_or_pan_in_the_issuer_files(
    issuer: Issuer, tmp_path: Path, planted: str
) -> None:
    chip = issue(issuer, tmp_path)
    issuer.authorize(request(issuer, chip, Kind.PURCHASE, 100, "T1-000010-000001"))
    issuer.authorize(request(issuer, chip, Kind.PURCHASE, 100, "T1-000010-000002", pin="9999"))
    issuer.store.close()
    secrets = {"pin": [b"1234", b"9999"], "pan": [chip.pan.encode(), chip.pan[6:12].encode()]}[
        planted
    ]
    for path in tmp_path.glob("*.db*"):
        data = path.read_bytes()
        assert not any(value in data for value in secrets), path.name
    issuer.store = type(issuer.store)(tmp_path / "issuer.db")


def test_a_posting_a_crash_left_without_its_answer_is_reversed(
    issuer: Issuer, tmp_path: Path
) -> None:
    chip = issue(issuer, tmp_path)
    card = issuer.card(chip.pan)
    assert card is not None
    route = (card.account, funds.ISSUER_CLEARING, funds.CODE_PURCHASE)
    funds.post(issuer.ledger, funds.movement("purchase", "T9-000001-000001", route, 4_000))
    assert balance(issuer, chip) == 96_000  # posted, and the process died before the answer row
    answer = issuer.reverse(ReversalRequest("T9-000001-000001", "96"))
    assert (answer.found, answer.undone) == (True, True)
    assert balance(issuer, chip) == 100_000 and issuer.ledger.check().balanced
