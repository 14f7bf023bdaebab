"""Each transaction's request, field by field, against the matrix of
docs/standards/iso8583-cup.md §4.1 and the reversal rules of §4.4 — driven through the
terminal's steps with the host's answers written here (no socket needed to see a request)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.iso8583 import Message, decode, encode
from zhifu.iso8583.fields_55 import parse_icc_data
from zhifu.iso8583.mac import hsm_mac_fn, sign, verify
from zhifu.security.hsm.data import MacAlgorithm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.terminal import Terminal, TransactionResult
from zhifu.terminal.flow import Reply, Steps
from zhifu.terminal.link import NoAnswerError, response_mti
from zhifu.terminal.messages import ORIGINAL_REFS

MID, TID = "898100012345678", "10000001"
COMMON = {"11", "41", "42", "49", "60"}
CARD = {"2", "14", "22", "25", "35", "53"}
PIN = {"26", "52"}
EXPECTED: dict[str, tuple[str, str, str, str, set[str]]] = {
    # kind: MTI, F3, F25, 60.1, the other fields (§4.1 "typical request fields")
    "balance": ("0200", "310000", "00", "01", CARD | PIN | {"3", "23", "55"}),
    "purchase": ("0200", "000000", "00", "22", CARD | PIN | {"3", "4", "23", "55"}),
    "preauth": ("0100", "030000", "06", "10", CARD | PIN | {"3", "4", "23", "55"}),
    "ecash-load": ("0200", "600000", "91", "45", CARD | PIN | {"3", "4", "23", "55"}),
    "void": ("0200", "200000", "00", "23", CARD | {"3", "4", "23", "37", "38", "61"}),
    "refund": ("0220", "200000", "00", "25", CARD | {"3", "4", "23", "37", "61"}),
    "preauth-void": ("0100", "200000", "06", "11", CARD | {"3", "4", "23", "38", "61"}),
    "complete": ("0200", "000000", "06", "20", CARD | {"3", "4", "23", "38", "61"}),
    "complete-void": ("0200", "200000", "06", "21", CARD | {"3", "4", "23", "37", "38", "61"}),
}


@pytest.fixture
def term(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """A terminal holding working keys, as after a sign-on (004: PIK, MAK, TDK)."""
    monkeypatch.setenv("ZHIFU_LMK", "4B" * 32)
    components = ["0123456789ABCDEFFEDCBA9876543210", "1111111111111111222222222222222F"]
    term = Terminal.init(tmp_path / "term", MID, TID, components, host="127.0.0.1:9")
    hsm = term.hsm
    term.state.keys = {
        "pik": hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.TDES).id,
        "mak": hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.DES, length=8).id,
        "tdk": hsm.generate_key(KeyUsage.DATA, KeyAlgorithm.TDES).id,
    }
    term.state.needs_sign_on, term.state.batch = False, "000007"
    term.state.log.append({"kind": "purchase", "stan": "000003", "batch": "000007",
                           "amount": 800, "rrn": "123456789012", "auth_code": "A1B2C3",
                           "masked_pan": "622800******1117", "date": "1205",
                           "reversed": False, "mode": "021", "txn_type": "22",
                           "sealed_pan": term.state.seal_pan("6228000100001117")})  # fmt: skip
    return term


@pytest.fixture
def card(tmp_path: Path) -> Path:
    path = tmp_path / "card.json"
    EmulatedCard.example().image.save(path)
    return path


def _answer(term: Terminal, request: Message, code: str, **fields: str) -> Reply:
    """The host's answer, MACed with the terminal's MAK when it is an approval."""
    values = {"11": request["11"], "39": code, "37": "000000000001", "13": "1205", **fields}
    response = Message(response_mti(request.mti), values)
    mac_fn = hsm_mac_fn(term.hsm, (term.state.keys or {})["mak"], MacAlgorithm.CUP_ECB)
    raw = sign(response, mac_fn) if code == "00" else encode(response)
    return decode(raw), raw


def _first(steps: Steps[Any]) -> tuple[Message, bytes | None]:
    return next(steps)


def _finish(steps: Steps[TransactionResult], reply: Reply) -> TransactionResult:
    try:
        steps.send(reply)
    except StopIteration as stop:
        result: TransactionResult = stop.value
        return result
    raise AssertionError("the terminal sent another message")


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_request_has_the_fields_of_the_matrix(term: Terminal, card: Path, kind: str) -> None:
    mti, f3, f25, txn_type, others = EXPECTED[kind]
    original = "3" if kind in ORIGINAL_REFS else None
    pin = None if original else "1234"
    amount = 0 if kind == "balance" or kind in ("void", "preauth-void", "complete-void") else 500
    steps = term._transaction_steps(kind, card, pin=pin, amount=amount, original=original,
                                    swipe=False)  # fmt: skip
    request, body = _first(steps)
    assert request.mti == mti and (request["3"], request["25"]) == (f3, f25)
    assert request["60"] == f"{txn_type}000007" + "000" + "50"
    assert set(request.fields) == COMMON | others, kind
    assert request["41"] == TID and request["42"] == MID and request["49"] == "156"
    assert request["22"] == ("051" if pin else "052")
    assert request["53"] == ("2610000000000000" if pin else "0610000000000000")
    assert request["35"] != EmulatedCard.example().image.applications[0].internal(0x57)
    if "4" in request:
        assert request["4"] == f"{amount or 800:012d}"
    if original:
        date = "1205" if kind in ("refund", "complete") else ""
        assert request["61"] == "000007000003" + date
    mac_fn = hsm_mac_fn(term.hsm, (term.state.keys or {})["mak"], MacAlgorithm.CUP_ECB)
    assert body is not None and verify(body, mac_fn)
    result = _finish(steps, _answer(term, request, "51"))  # a decline ends it (AAC, no reversal)
    assert result.answered and not result.approved and term.state.pending_reversal is None


def test_no_answer_arms_and_sends_the_reversal_with_the_fields_of_4_4(
    term: Terminal, card: Path
) -> None:
    steps = term._transaction_steps("purchase", card, pin="1234", amount=500, original=None,
                                    swipe=False)  # fmt: skip
    request, _ = _first(steps)
    pending = term.state.pending_reversal
    assert pending is not None and pending["fields"]["39"] == "98"  # saved before it left
    saved = (term.state.folder / "state.json").read_text()
    assert request["2"] not in saved and request["52"] not in saved
    reversal, body = steps.send(NoAnswerError("no answer within 10 s"))
    assert reversal.mti == "0400" and reversal["11"] == request["11"] and body is not None
    assert set(reversal.fields) == {"2", "3", "4", "11", "14", "22", "23", "25", "39", "41",
                                    "42", "49", "55", "60"}  # fmt: skip
    mac_fn = hsm_mac_fn(term.hsm, (term.state.keys or {})["mak"], MacAlgorithm.CUP_ECB)
    assert verify(body, mac_fn)  # 64: the MAC
    assert [i.tag_hex for i in parse_icc_data(reversal["55"])] == ["95", "9F1E", "9F10", "9F36"]
    result = _finish(steps, NoAnswerError("no answer within 10 s"))
    assert not result.answered and result.reversal_pending and not result.reversed


def test_the_pending_reversal_goes_before_the_next_transaction(term: Terminal, card: Path) -> None:
    steps = term._transaction_steps("purchase", card, pin="1234", amount=500, original=None,
                                    swipe=False)  # fmt: skip
    first, _ = _first(steps)
    steps.send(NoAnswerError("no answer"))
    _finish(steps, NoAnswerError("no answer"))
    again = term._transaction_steps("purchase", card, pin="1234", amount=700, original=None,
                                    swipe=False)  # fmt: skip
    reversal, _ = _first(again)
    assert reversal.mti == "0400" and reversal["11"] == first["11"]
    result = _finish(again, NoAnswerError("still nothing"))  # not taken: no new purchase
    assert result.reversal_pending and not result.answered and not result.stan
    again = term._transaction_steps("purchase", card, pin="1234", amount=700, original=None,
                                    swipe=False)  # fmt: skip
    reversal, _ = _first(again)
    purchase, _ = again.send(_answer(term, reversal, "00"))  # taken: now the purchase
    assert purchase.mti == "0200" and purchase["4"] == "000000000700"
    assert purchase["11"] != first["11"] and term.state.pending_reversal is not None
    assert term.state.pending_reversal["fields"]["11"] == purchase["11"]


def test_an_approval_without_a_mac_is_reversed_with_a0(term: Terminal, card: Path) -> None:
    steps = term._transaction_steps("purchase", card, pin="1234", amount=500, original=None,
                                    swipe=False)  # fmt: skip
    request, _ = _first(steps)
    unsigned = Message("0210", {"11": request["11"], "39": "00", "38": "AUTH01"})
    reversal, _ = steps.send((unsigned, encode(unsigned)))
    assert reversal.mti == "0400" and (reversal["39"], reversal["38"]) == ("A0", "AUTH01")
    result = _finish(steps, _answer(term, reversal, "00"))
    assert result.reversed and not result.approved and term.state.pending_reversal is None


def test_an_approval_the_card_declines_is_reversed_with_06(term: Terminal, card: Path) -> None:
    steps = term._transaction_steps("purchase", card, pin="1234", amount=500, original=None,
                                    swipe=False)  # fmt: skip
    request, _ = _first(steps)
    wrong_arpc = (bytes(8) + b"00").hex().upper()
    reversal, _ = steps.send(
        _answer(term, request, "00", **{"38": "AUTH02", "55": "910A" + wrong_arpc})
    )
    assert reversal.mti == "0400" and reversal["39"] == "06"
    result = _finish(steps, _answer(term, reversal, "00"))
    assert result.reversed and result.message.endswith("(06)")


def test_settlement_sends_the_batch_totals_and_the_upload_end_when_unbalanced(
    term: Terminal,
) -> None:
    steps = term._settle_steps()
    request, body = _first(steps)
    assert request.mti == "0500" and body is None and request["60"] == "00000007201"
    assert request["48"] == "000000000800001000000000000000" + "0" + "0" * 31
    answer = Message("0510", {"11": request["11"], "39": "00", "48": "0" * 30 + "2" + "0" * 31})
    record, _ = steps.send((answer, encode(answer)))  # the stripe purchase, in field 48
    assert record.mti == "0320" and record["60"] == "00000007201"
    assert record["48"] == "0122000003000000000800166228000100001117"
    upload, _ = steps.send((Message("0330", {"11": record["11"], "39": "00"}), b""))
    assert upload.mti == "0320" and upload["60"] == "00000007207" and upload["48"] == "0001"
    with pytest.raises(StopIteration) as done:
        steps.send((Message("0330", {"11": upload["11"], "39": "00"}), b""))
    assert done.value.value["balanced"] is False and term.state.log == []
    assert done.value.value["uploaded"] == 1 and done.value.value["upload_refused"] == []
    assert term.state.needs_sign_on
