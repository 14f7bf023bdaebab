"""The acquirer over real TCP on 127.0.0.1: sign-on, downloads, and robustness.

A test terminal forms its TMK from the printed components, signs on with each 60.3 variant,
recovers the working keys, checks their check values, and downloads the CA public keys and
AIDs to completion (every page), checked against the host's tables.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import pytest

from zhifu.acquirer import AcquirerConfig, AcquirerHost, AcquirerServer
from zhifu.codec.tlv import encode as encode_tlv
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.kcv import kcv
from zhifu.iso8583 import Message, frame
from zhifu.iso8583.framing import Header, Tpdu
from zhifu.security.errors import KeyNotFoundError

MID = "898100012345678"
VARIANTS = [("001", "3des"), ("003", "3des"), ("004", "3des"), ("005", "sm4"), ("006", "sm4")]


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def _expected_capks(host: Any) -> list[bytes]:
    tables = host.services.tables
    keys = tables.capks(1) + tables.capks(4)  # 372 lists RSA keys, 373 SM2 keys
    return [encode_tlv(key.to_tlv()) for key in keys]


@pytest.mark.parametrize(("code", "algorithm"), VARIANTS)
def test_sign_on_recovers_keys_and_downloads_tables(
    tc: ModuleType, code: str, algorithm: str
) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer()
        host = server.host
        terminal = await tc.enrol(host, "10000001", algorithm).connect(server.port)
        try:
            response = await terminal.sign_on(code)  # recovers keys, checks their CVs
            assert response["39"] == "00"
            assert response["60"] == f"00000002{code}"  # new batch in 60.2
            assert {"12", "13", "32", "37", "62"} <= set(response.fields)
            assert terminal.last_header.processing_requirement == "4"  # CA keys to download
            keys = terminal.keys
            assert (keys.tdk is not None) == (code in ("004", "006"))
            registered = host.services.registry.terminal("10000001")
            assert registered.working_keys.scheme == code
            mak_info = host.services.hsm.key_info(registered.working_keys.mak)
            assert mak_info.kcv == kcv(keys.mak_cipher, keys.mak).hex().upper()

            capks = await terminal.download_capks()
            assert [encode_tlv(r) for r in capks] == _expected_capks(host)
            assert terminal.last_header.processing_requirement == "5"  # now the AIDs
            aids = await terminal.download_aids()
            expected = [encode_tlv(a.to_tlv()) for a in host.services.tables.aids()]
            assert [encode_tlv(r) for r in aids] == expected
            assert len(aids) == 4

            echo = await terminal.echo()
            assert echo["39"] == "00"
            assert terminal.last_header.processing_requirement == "0"

            # the MAK recovered by the terminal is the host's: a MAC'd 0200 passes the MAC
            # check (the issuer then knows no such card: 14), and the 0210 MAC verifies
            sale = await terminal.exchange(terminal.sale(100), with_mac=True)
            assert sale["39"] == "14"  # the issuer knows no such card
            assert terminal.verify_response_mac(sale)

            off = await terminal.sign_off()
            assert off["39"] == "00"
            with pytest.raises(KeyNotFoundError):
                host.services.hsm.key_info(registered.working_keys.mak)
            after = await terminal.exchange(terminal.sale(100), with_mac=True)
            assert after["39"] == "A0"
            assert terminal.last_header.processing_requirement == "3"  # sign on again
        finally:
            await terminal.close()
            await server.stop()

    run(scenario())


def test_query_pages_until_complete(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer(page_size=1)
        terminal = await tc.enrol(server.host, "10000001").connect(server.port)
        try:
            await terminal.sign_on("003")
            journal_before = server.host.journal.count()
            aids = await terminal.query("382")
            assert len(aids) == 4
            queries = (server.host.journal.count() - journal_before) // 2
            assert queries == 4  # one page per record, the last with status 1
        finally:
            await terminal.close()
            await server.stop()

    run(scenario())


def test_sign_on_with_a_tmk_of_the_wrong_family_is_a7(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer(card_payments=False)
        terminal = await tc.enrol(server.host, "10000001", "3des").connect(server.port)
        sm_terminal = await tc.enrol(server.host, "10000002", "sm4").connect(server.port)
        try:
            assert (await terminal.sign_on("005"))["39"] == "A7"
            assert (await sm_terminal.sign_on("003"))["39"] == "A7"
            assert terminal.keys is None
            assert len(server.host.services.hsm.list_keys()) == 2  # only the two TMKs
        finally:
            await terminal.close()
            await sm_terminal.close()
            await server.stop()

    run(scenario())


def test_unknown_terminal_and_wrong_merchant(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer()
        known = tc.enrol(server.host, "10000001")
        stranger = tc.TestTerminal("99999999", MID, known.tmk, "3des")
        wrong_mid = tc.TestTerminal("10000001", "898100099999999", known.tmk, "3des")
        try:
            for terminal, code in ((stranger, "97"), (wrong_mid, "03")):
                await terminal.connect(server.port)
                assert (await terminal.sign_on("003"))["39"] == code
                assert (await terminal.echo())["39"] == code
                assert terminal.keys is None
        finally:
            for terminal in (stranger, wrong_mid):
                await terminal.close()
            await server.stop()

    run(scenario())


def test_pipelined_requests_are_answered_in_order(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer(queue_size=2)
        terminal = await tc.enrol(server.host, "10000001").connect(server.port)
        try:
            requests = [terminal.management("0820", "301") for _ in range(8)]
            requests[3] = terminal.management("0800", "003")
            await terminal.send_raw(b"".join(terminal.frame_of(r) for r in requests))
            answers = [(await terminal.receive())[1] for _ in requests]
            assert [a["11"] for a in answers] == [r["11"] for r in requests]
            assert [a.mti for a in answers] == [("0810" if i == 3 else "0830") for i in range(8)]
            assert all(a["39"] == "00" for a in answers)
        finally:
            await terminal.close()
            await server.stop()

    run(scenario())


@pytest.mark.parametrize("max_batch", [64, 1])
def test_frames_of_many_connections_share_batches(tc: ModuleType, max_batch: int) -> None:
    async def scenario() -> None:
        config = AcquirerConfig(port=0)
        server = AcquirerServer(config, AcquirerHost.in_memory(config), owns_host=True,
                                   max_batch=max_batch)  # fmt: skip
        await server.start()
        terminals = [tc.enrol(server.host, f"3000{n:04d}") for n in range(20)]
        try:
            for terminal in terminals:
                await terminal.connect(server.port)
            for _ in range(3):
                answers = await asyncio.gather(*(t.echo() for t in terminals))
                assert [a["41"] for a in answers] == [t.terminal_id for t in terminals]
                assert all(a["39"] == "00" for a in answers)
            batches, frames = server.batch_stats
            assert frames == 60
            assert batches < frames if max_batch > 1 else batches == frames
        finally:
            for terminal in terminals:
                await terminal.close()
            await server.stop()

    run(scenario())


def test_many_terminals_sign_on_at_once(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer()
        terminals = [tc.enrol(server.host, f"2000{n:04d}") for n in range(20)]
        try:
            for terminal in terminals:
                await terminal.connect(server.port)
            answers = await asyncio.gather(*(t.sign_on("004") for t in terminals))
            assert all(a["39"] == "00" for a in answers)
            assert len({t.keys.mak for t in terminals}) == 20
        finally:
            for terminal in terminals:
                await terminal.close()
            await server.stop()

    run(scenario())


async def _closed(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 5) == b""


def test_garbage_on_one_connection_does_not_disturb_another(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer()
        terminal = await tc.enrol(server.host, "10000001").connect(server.port)
        try:
            assert (await terminal.sign_on("003"))["39"] == "00"

            # 1. a length prefix far over the limit: the connection is closed
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"\xff\xff" + b"GARBAGE" * 10)
            assert await _closed(reader)

            # 2. a well-framed body whose MTI is not BCD: nothing to answer, closed
            reader2, writer2 = await asyncio.open_connection("127.0.0.1", server.port)
            writer2.write(frame(Tpdu(), Header(), b"\xab\xcd" + bytes(8)))
            assert await _closed(reader2)

            # 3. a readable MTI with broken fields: a 30 response, and the connection stays
            broken = tc.TestTerminal("10000001", MID, terminal.tmk, "3des")
            await broken.connect(server.port)
            bad = bytes.fromhex("08000020000000C00012") + b"\x00\x01"  # fields cut short
            await broken.send_raw(frame(tc.TPDU, tc.HEADER, bad))
            _, answer = await broken.receive()
            assert (answer.mti, answer["39"]) == ("0810", "30")
            assert (await broken.echo())["39"] == "00"
            await broken.close()

            # 4. random bytes, then the stream just ends
            _reader4, writer4 = await asyncio.open_connection("127.0.0.1", server.port)
            writer4.write(b"\x00\x30\x60\x00")
            writer4.close()

            # the first terminal's session went on undisturbed
            assert (await terminal.echo())["39"] == "00"
            sale = await terminal.exchange(terminal.sale(1), with_mac=True)
            assert sale["39"] == "14" and terminal.verify_response_mac(sale)
            for w in (writer, writer2):
                w.close()
            broken_rows = [e for e in server.host.journal.recent(100) if e.direction == "broken"]
            assert len(broken_rows) >= 3
        finally:
            await terminal.close()
            await server.stop()

    run(scenario())


def test_idle_connection_is_closed(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer(idle_timeout_seconds=0.3)
        terminal = await tc.enrol(server.host, "10000001").connect(server.port)
        try:
            assert (await terminal.echo())["39"] == "00"
            with pytest.raises(ConnectionError):
                await terminal.receive()  # nothing more sent: closed after 0.3 s
            assert server.stats["closed_idle"] == 1
        finally:
            await terminal.close()
            await server.stop()

    run(scenario())


def test_connections_over_the_limit_are_refused(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer(max_connections=1)
        terminal = await tc.enrol(server.host, "10000001").connect(server.port)
        try:
            assert (await terminal.echo())["39"] == "00"
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            assert await _closed(reader)
            writer.close()
            assert (await terminal.echo())["39"] == "00"
        finally:
            await terminal.close()
            await server.stop()

    run(scenario())


def test_a_response_mti_from_a_terminal_is_not_answered(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer()
        terminal = await tc.enrol(server.host, "10000001").connect(server.port)
        try:
            stray = Message("0830", {"39": "00", "41": "10000001", "42": MID})
            await terminal.send_raw(terminal.frame_of(stray))
            assert (await terminal.echo())["39"] == "00"  # the next answer is the echo's
        finally:
            await terminal.close()
            await server.stop()

    run(scenario())


def test_the_journal_holds_no_keys_after_sign_on(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer()
        terminal = await tc.enrol(server.host, "10000001").connect(server.port)
        try:
            response = await terminal.sign_on("004")
            entries = server.host.journal.recent(10)
            text = repr([e.as_dict() for e in entries]).upper()
            assert response["62"] not in text
            for key in (terminal.keys.pik, terminal.keys.mak, terminal.keys.tdk, terminal.tmk):
                assert key.hex().upper() not in text
            out = [e for e in entries if e.direction == "out"][-1]
            assert out.fields["62"] == "<working keys, 60 bytes>"
            assert out.duration_ms is not None and out.duration_ms >= 0
            assert out.group == "sign-on" and out.response_code == "00"
        finally:
            await terminal.close()
            await server.stop()

    run(scenario())


def test_single_des_tmk_signs_on_with_001(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer()
        terminal = await tc.enrol(server.host, "10000001", "des").connect(server.port)
        try:
            assert (await terminal.sign_on("001"))["39"] == "00"
            assert terminal.keys.pik_cipher is Cipher.DES
            assert (await terminal.sign_on("003"))["39"] == "A7"
        finally:
            await terminal.close()
            await server.stop()

    run(scenario())


def test_racing_sign_ons_of_one_terminal_leave_one_key_set(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer(card_payments=False)
        host = server.host
        first = tc.enrol(host, "10000001")
        twins = [tc.TestTerminal("10000001", MID, first.tmk, "3des") for _ in range(8)]
        try:
            for twin in twins:
                await twin.connect(server.port)
            answers = await asyncio.gather(*(t.sign_on("004") for t in twins))
            assert all(a["39"] == "00" for a in answers)
            assert len(host.services.hsm.list_keys()) == 1 + 3  # TMK + PIK, MAK, TDK
            keys = host.services.registry.terminal("10000001").working_keys
            assert {k.handle.id for k in host.services.hsm.list_keys()} >= set(keys.handles)
        finally:
            for twin in twins:
                await twin.close()
            await server.stop()

    run(scenario())
