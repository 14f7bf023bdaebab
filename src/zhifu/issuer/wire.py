"""The acquirer ↔ issuer link in the POS dialect: requests and answers as ISO 8583 messages.

The same fields as between a terminal and its acquirer (docs/standards/iso8583-cup.md §4.1):
MTI, field 3 and 60.1 name the kind; 41, 60.2 and 11 the transaction (its id is
terminal-batch-STAN); 61 the original (batch + STAN); 2, 14, 22, 23, 35 (``PAN D YYMM`` and the
service code), 4, 49, 52 (the PIN block under the zone PIN key) and 55 as a terminal sends them.
The answer carries 39, 38, 55 and 54 (available balance ``1002156C…`` then ledger balance
``1001156C…``). Messages on this link carry no MAC (a zone MAC key is not yet part of the link;
run it on a network you trust).

>>> from zhifu.issuer.link import AuthorizationRequest, Kind
>>> message = request_message(AuthorizationRequest(Kind.PURCHASE, "10000001-000001-000002",
...                                                "6228000000000011", 1234, expiry="3012"))
>>> message.mti, message["3"], message["60"], message["11"]
('0200', '000000', '22000001000', '000002')
>>> authorization_request(message).transaction_id
'10000001-000001-000002'
"""

from __future__ import annotations

from typing import Final

from zhifu.codec.tlv import Tlv
from zhifu.core.errors import DecodeError
from zhifu.iso8583.fields_55 import build_icc_data, parse_icc_data
from zhifu.iso8583.message import Message
from zhifu.issuer.decisions import decision_of
from zhifu.issuer.link import (
    AuthorizationRequest,
    AuthorizationResponse,
    Kind,
    PinData,
    ReversalRequest,
    ReversalResponse,
    transaction_id,
)
from zhifu.security.keys import KeyHandle

__all__ = [
    "WIRE_KEYS",
    "answer_message",
    "authorization_request",
    "authorization_response",
    "request_message",
    "reversal_message",
]

WIRE_KEYS: Final[dict[Kind, tuple[str, str, str]]] = {
    Kind.BALANCE: ("0200", "310000", "01"),
    Kind.PURCHASE: ("0200", "000000", "22"),
    Kind.PURCHASE_VOID: ("0200", "200000", "23"),
    Kind.REFUND: ("0220", "200000", "25"),
    Kind.PREAUTH: ("0100", "030000", "10"),
    Kind.PREAUTH_VOID: ("0100", "200000", "11"),
    Kind.COMPLETION: ("0200", "000000", "20"),
    Kind.COMPLETION_VOID: ("0200", "200000", "21"),
    Kind.ECASH_LOAD: ("0200", "600000", "45"),
    Kind.ECASH_LOAD_VOID: ("0200", "170000", "51"),
    Kind.OFFLINE_SALE: ("0200", "000000", "36"),
}
"""Kind -> (MTI, field 3, 60.1)."""
_KIND_OF: Final = {(m, f3[:2], t): kind for kind, (m, f3, t) in WIRE_KEYS.items()}


def _split(txn_id: str) -> tuple[str, str, str]:
    terminal, batch, stan = txn_id.rsplit("-", 2)
    return terminal, batch, stan


def request_message(request: AuthorizationRequest) -> Message:
    """The message carrying ``request``."""
    mti, f3, txn_type = WIRE_KEYS[request.kind]
    terminal, batch, stan = _split(request.transaction_id)
    fields = {"2": request.pan, "3": f3, "4": f"{request.amount:012d}", "11": stan,
              "22": request.pos_entry_mode or "051", "25": "00", "41": terminal,
              "42": request.merchant_id or "000000000000000", "49": request.currency,
              "60": f"{txn_type}{batch}000"}  # fmt: skip
    if request.expiry:
        fields["14"] = request.expiry
    if request.psn:
        fields["23"] = request.psn.zfill(3)
    if request.service_code and request.expiry:
        track = f"{request.pan}D{request.expiry}{request.service_code}{request.discretionary}"
        fields["35"] = track
    if request.pin is not None:
        fields["52"] = request.pin.block.hex().upper()
    if request.icc:
        fields["55"] = build_icc_data(Tlv(tag, value) for tag, value in request.icc.items())
    if request.original_id:
        _, original_batch, original_stan = _split(request.original_id)
        fields["61"] = original_batch + original_stan
    return Message(mti, fields)


def authorization_request(
    message: Message, zone_key: KeyHandle | None = None
) -> AuthorizationRequest:
    """The request a message carries (DecodeError naming the field when it carries none)."""
    field_60 = message.get("60") or ""
    kind = _KIND_OF.get((message.mti, (message.get("3") or "")[:2], field_60[:2]))
    if kind is None:
        raise DecodeError("no card transaction has this MTI, field 3 and 60.1", field="3")
    terminal, stan = message.get("41") or "", message.get("11") or ""
    txn_id = transaction_id(terminal, field_60[2:8], stan)
    original = message.get("61")
    track = message.get("35") or ""
    after = track.split("D", 1)[1] if "D" in track else ""
    service = after[4:7] or None
    pin = None
    if message.get("52") and zone_key is not None:
        pin = PinData(bytes.fromhex(message["52"]), zone_key)
    icc = {item.tag: item.value for item in parse_icc_data(message.get("55") or "")}
    return AuthorizationRequest(
        kind, txn_id, message.get("2") or "", int(message.get("4") or "0"),
        message.get("49") or "156", expiry=message.get("14"),
        psn=(message.get("23") or "")[-2:] or None, service_code=service,
        pos_entry_mode=message.get("22") or "", icc=icc, pin=pin,
        original_id=transaction_id(terminal, original[:6], original[6:12]) if original else None,
        merchant_id=message.get("42") or "", terminal_id=terminal, discretionary=after[7:],
    )  # fmt: skip


def _balance(code: str, amount: int) -> str:
    return f"10{code}156{'C' if amount >= 0 else 'D'}{abs(amount):012d}"


def answer_message(request: Message, answer: AuthorizationResponse) -> Message:
    """The issuer's answer to ``request``."""
    mti = request.mti[:2] + str(int(request.mti[2]) + 1) + request.mti[3]
    fields = {n: v for n in ("3", "4", "11", "41", "60") if (v := request.get(n)) is not None}
    fields["39"] = answer.field_39
    if answer.auth_code:
        fields["38"] = answer.auth_code
    if answer.icc:
        fields["55"] = build_icc_data(Tlv(tag, value) for tag, value in answer.icc.items())
    if answer.available is not None and answer.ledger is not None:
        fields["54"] = _balance("02", answer.available) + _balance("01", answer.ledger)
    return Message(mti, fields)


def _amount(text: str) -> int:
    return int(text[8:20]) * (-1 if text[7] == "D" else 1)


def authorization_response(txn_id: str, message: Message) -> AuthorizationResponse:
    """The answer a message carries."""
    code = message.get("39") or "96"
    icc = {item.tag: item.value for item in parse_icc_data(message.get("55") or "")}
    balance = message.get("54") or ""
    available = _amount(balance[:20]) if len(balance) >= 20 else None
    ledger = _amount(balance[20:40]) if len(balance) >= 40 else None
    return AuthorizationResponse(txn_id, decision_of(code), code, message.get("38") or "", icc,
                                 available, ledger, "answered by the issuer host")  # fmt: skip


def reversal_message(request: ReversalRequest) -> Message:
    """A 0400 for an original id."""
    terminal, batch, stan = _split(request.original_id)
    fields = {
        "3": "000000",
        "11": stan,
        "41": terminal,
        "60": f"22{batch}000",
        "39": request.reason,
    }
    if request.amount is not None:
        fields["4"] = f"{request.amount:012d}"
    return Message("0400", fields)


def reversal_request(message: Message) -> ReversalRequest:
    """The reversal a 0400 asks."""
    field_60 = message.get("60") or ""
    txn_id = transaction_id(message.get("41") or "", field_60[2:8], message.get("11") or "")
    return ReversalRequest(txn_id, message.get("39") or "98")


def reversal_answer(request: Message, answer: ReversalResponse) -> Message:
    """0410: ``00`` when the original was found, ``25`` when not."""
    fields = {n: v for n in ("3", "11", "41", "60") if (v := request.get(n)) is not None}
    fields["39"] = "00" if answer.found else "25"
    return Message("0410", fields)


def reversal_response(original_id: str, message: Message) -> ReversalResponse:
    """What a 0410 says."""
    found = message.get("39") == "00"
    return ReversalResponse(original_id, message.get("39") or "96", undone=found, found=found)
