"""One frame in, one frame out: broken frames, non-requests, bugs, the journal's redaction."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.context import TxnContext
from zhifu.acquirer.database import Database
from zhifu.acquirer.host import AcquirerHost
from zhifu.acquirer.participants import CheckFields, Respond
from zhifu.acquirer.pipeline import BaseParticipant, Pipeline, Route, Verdict
from zhifu.acquirer.registry import register_terminal
from zhifu.acquirer.services import Services
from zhifu.iso8583 import Header, Message, Tpdu, decode_frame, encode, encode_frame, frame
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.store import KeyStore

MID, TID = "898100012345678", "10000001"
TPDU, HEADER = Tpdu("6000030000"), Header("613100311108")
PAN = "6217857600008050804"
TRACK_2 = "6217857600008050804D23082201000082300"
PIN_BLOCK = "7D6A7408DFE2E9E5"
ICC = "5A0862178576000080509F360200CD"


def _body(message: Message) -> bytes:
    return encode_frame(message, TPDU, HEADER)[2:]


@pytest.fixture
def host() -> AcquirerHost:
    host = AcquirerHost.in_memory()
    register_terminal(host.services.registry, host.services.hsm, MID, TID)
    return host


def _journal_text(host: AcquirerHost) -> str:
    rows = host.database.query("SELECT * FROM journal")
    return json.dumps(rows, ensure_ascii=False).upper()


def test_echo_round_trip_and_journal_timing(host: AcquirerHost) -> None:
    echo = Message("0820", {"11": "000007", "41": TID, "42": MID, "60": "00000001301"})
    reply = host.handle(_body(echo), peer="127.0.0.1:1")
    assert reply.frame is not None and not reply.close
    fr, response = decode_frame(reply.frame)
    assert fr.tpdu.hex == "6000000003" and fr.header.hex == "613104311108"  # 4: CA keys to download
    assert (response.mti, response["39"], response["11"]) == ("0830", "00", "000007")
    rows = host.journal.recent(2)
    assert [r.direction for r in rows] == ["in", "out"]
    assert rows[0].exchange == rows[1].exchange == rows[0].seq
    assert rows[1].duration_ms is not None and rows[1].at >= rows[0].at
    assert rows[1].group == "echo" and rows[1].peer == "127.0.0.1:1"


def test_header_requirement_follows_the_tables(host: AcquirerHost) -> None:
    echo = Message("0820", {"41": TID, "42": MID, "60": "00000001301"})
    host.services.registry.record_download(TID, "capk", 0)
    fr, _ = decode_frame(host.handle(_body(echo)).frame or b"")
    assert fr.header.processing_requirement == "4"
    host.services.registry.record_download(TID, "capk", 1)
    fr, _ = decode_frame(host.handle(_body(echo)).frame or b"")
    assert fr.header.processing_requirement == "5"
    host.services.registry.record_download(TID, "aid", 1)
    fr, _ = decode_frame(host.handle(_body(echo)).frame or b"")
    assert fr.header.processing_requirement == "0"


@pytest.mark.parametrize(
    "body",
    [b"", b"\x60\x00\x00", bytes.fromhex("6000000000603100000000") + b"\xab\xcd" + bytes(8),
     bytes.fromhex("6000000000603100000000" "0810" "4000000000000000")],
    ids=["empty", "short", "mti-not-bcd", "response-mti"],
)  # fmt: skip
def test_unanswerable_frames_close_the_connection(host: AcquirerHost, body: bytes) -> None:
    reply = host.handle(body)
    assert reply.frame is None and reply.close
    assert host.journal.recent(1)[0].direction == "broken"


def test_broken_fields_get_a_format_error(host: AcquirerHost) -> None:
    body = bytes.fromhex("600003000061310031110802007000000000000000") + b"\x19\x62"
    reply = host.handle(body)
    assert reply.frame is not None and not reply.close
    fr, response = decode_frame(reply.frame)
    assert (response.mti, response.fields) == ("0210", {"39": "30"})
    assert fr.tpdu.hex == "6000000003" and fr.header.processing_requirement == "0"
    broken = host.journal.recent(2)
    assert broken[0].direction == "broken" and "field 2" in broken[0].note
    assert broken[1].direction == "out" and broken[1].exchange == broken[0].seq


def test_response_mtis_are_not_answered(host: AcquirerHost) -> None:
    reply = host.handle(_body(Message("0830", {"39": "00", "41": TID})))
    assert reply == type(reply)(None, close=False)


def test_a_bug_becomes_96_and_an_oversize_response_too() -> None:
    class Buggy(BaseParticipant):
        def prepare(self, ctx: TxnContext) -> Verdict:
            raise RuntimeError("bug")

    class TooBig(BaseParticipant):
        def prepare(self, ctx: TxnContext) -> Verdict:
            ctx.response_fields["62"] = "00" * 600  # over field 62's 512 bytes
            return Verdict.NO_JOIN

    config = AcquirerConfig()
    services = Services.build(config, Database(), SoftHsm(KeyStore.in_memory()))
    respond = Respond(services)
    pipeline = Pipeline(
        {"bug": [Buggy(), respond], "big": [TooBig(), respond], "none": [CheckFields(["2"])]},
        [Route("bug", "0820"), Route("big", "0800")],
        unrouted="none",
    )
    host = AcquirerHost(config, database=Database(), hsm=services.hsm, pipeline=pipeline)
    for mti in ("0820", "0800"):
        request = Message(mti, {"11": "000001", "41": TID, "42": MID})
        _, response = decode_frame(host.handle(_body(request)).frame or b"")
        assert response["39"] == "96" and response["11"] == "000001"


def test_journal_never_holds_pan_track_pin_block(host: AcquirerHost) -> None:
    sale = Message("0200", {
        "2": PAN, "3": "000000", "4": "000000000100", "11": "000001", "14": "2308",
        "22": "051", "35": TRACK_2, "41": TID, "42": MID, "49": "156", "52": PIN_BLOCK,
        "53": "2600000000000000", "55": ICC, "60": "22000001000", "64": "00" * 8,
    })  # fmt: skip
    reply = host.handle(_body(sale))
    _, response = decode_frame(reply.frame or b"")
    assert response["39"] == "A0" and response["2"] == PAN  # not signed on: MAC refused
    text = _journal_text(host)
    for secret in (PAN, TRACK_2, PIN_BLOCK, "2308", "8050804D2308", "6217857600008050"):
        assert secret not in text
    assert "621785*********0804" in text


def test_journal_never_holds_the_sign_on_keys(host: AcquirerHost) -> None:
    sign_on = Message("0800", {"11": "000001", "41": TID, "42": MID, "60": "00000001004"})
    _, response = decode_frame(host.handle(_body(sign_on)).frame or b"")
    assert response["39"] == "00" and len(response["62"]) == 120
    text = _journal_text(host)
    assert response["62"] not in text and response["62"][:16] not in text
    assert "<WORKING KEYS, 60 BYTES>" in text


def test_frame_of_only_tpdu_and_header_is_closed(host: AcquirerHost) -> None:
    data = frame(TPDU, HEADER, b"")
    assert host.handle(data[2:]).close
    assert encode(Message("0800", {})) == bytes.fromhex("0800" + "00" * 8)


_FUZZ_HOST = AcquirerHost.in_memory()
register_terminal(_FUZZ_HOST.services.registry, _FUZZ_HOST.services.hsm, MID, TID)
_SIGN_ON = _body(Message("0800", {"11": "000001", "41": TID, "42": MID, "60": "00000001003"}))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_random_bodies_never_raise(body: bytes) -> None:
    reply = _FUZZ_HOST.handle(body)
    assert reply.close or reply.frame is None or decode_frame(reply.frame)[1]["39"] in (
        "00", "30", "40", "97", "03", "A0", "96")  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(_SIGN_ON) - 1), st.integers(0, 255), st.integers(0, len(_SIGN_ON)))
def test_mutated_sign_ons_never_raise(position: int, value: int, cut: int) -> None:
    body = bytearray(_SIGN_ON)
    body[position] = value
    reply = _FUZZ_HOST.handle(bytes(body[:cut] if cut else body))
    if reply.frame is not None:
        _, response = decode_frame(reply.frame)
        assert response["39"] in ("00", "30", "40", "97", "03", "A7", "96")
