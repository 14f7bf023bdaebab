"""Working keys in custody: a sign-on cut off between key generation and commit leaves no
orphan after the next start or after a failed sign-on; TMKs, keys a terminal holds, keys in
flight and keys of any other owner are never swept. Real SQLite files under a tmp folder."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.context import TxnContext
from zhifu.acquirer.custody import WORKING_USAGES
from zhifu.acquirer.host import AcquirerHost
from zhifu.acquirer.participants.sign_on import SignOn
from zhifu.acquirer.registry import RegistryError, register_terminal
from zhifu.iso8583 import Frame, Header, Message, Tpdu, decode_frame, encode_frame
from zhifu.security.errors import KeyNotFoundError
from zhifu.security.keys import KeyAlgorithm, KeyUsage

MID = "898100012345678"
ENV = {"ZHIFU_LMK": "6B" * 32}


def _open(home: Path) -> AcquirerHost:
    config = AcquirerConfig.local(home, port=0, card_payments=False)
    return AcquirerHost.open(config, environ=ENV)


def _host(home: Path, *terminal_ids: str) -> AcquirerHost:
    host = _open(home)
    for tid in terminal_ids:
        register_terminal(host.services.registry, host.services.hsm, MID, tid)
    return host


def _sign_on_ctx(host: AcquirerHost, tid: str, code: str = "004") -> TxnContext:
    request = Message("0800", {"11": "000001", "41": tid, "42": MID, "60": f"00000001{code}"})
    ctx = TxnContext.start(Frame(Tpdu(), Header(), b""), request)
    ctx.terminal = host.services.registry.terminal(tid)
    return ctx


def _signed_on(host: AcquirerHost, tid: str) -> tuple[str, ...]:
    step, ctx = SignOn(host.services), _sign_on_ctx(host, tid)
    step.prepare(ctx)
    step.commit(ctx)
    keys = host.services.registry.terminal(tid).working_keys
    assert keys is not None
    return keys.handles


def _count(host: AcquirerHost) -> dict[str, int]:
    store = host.services.hsm.store
    working = set(store.handles(WORKING_USAGES))
    held = host.services.registry.held_key_handles()
    return {"all": len(store.handles()), "orphans": len(working - held)}


def test_a_sign_on_cut_off_before_commit_leaves_no_orphan_after_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host = _host(tmp_path, "10000001", "10000002")
    held = _signed_on(host, "10000001")
    assert _count(host) == {"all": 2 + 3, "orphans": 0}
    for tid in ("10000001", "10000002"):  # generated and wrapped; the process dies here
        assert SignOn(host.services).prepare(_sign_on_ctx(host, tid)).name == "PREPARED"
    assert _count(host) == {"all": 2 + 3 + 6, "orphans": 6}
    host.close()  # nothing more reaches the files: as after a kill

    with caplog.at_level(logging.WARNING, logger="zhifu.acquirer.custody"):
        again = _open(tmp_path)
    assert _count(again) == {"all": 2 + 3, "orphans": 0}
    assert "at start: deleted 6 working keys no terminal held" in caplog.text
    for handle in held:  # the keys terminal 1 holds are still there
        again.services.hsm.key_info(handle)
    trail = [r for r in again.services.hsm.store.audit_trail() if r.event == "delete"]
    assert [r.detail for r in trail] == ["orphaned working key, swept at start"] * 6
    again.close()


def test_the_sweep_spares_tmks_held_keys_keys_in_flight_and_other_owners(
    tmp_path: Path,
) -> None:
    host = _host(tmp_path, "10000001", "10000002")
    services = host.services
    hsm, custody = services.hsm, services.custody
    held = _signed_on(host, "10000001")
    foreign = [
        hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.TDES, label="ZPK to the network"),
        hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.DES, label="MAC 99999999"),  # no such TID
        hsm.generate_key(KeyUsage.DATA, KeyAlgorithm.TDES, label="DATA 10000002 backup"),
        hsm.generate_key(KeyUsage.KEK, KeyAlgorithm.TDES, label="KEK 10000002"),
    ]
    step, in_flight = SignOn(services), _sign_on_ctx(host, "10000002")
    step.prepare(in_flight)
    orphan = custody.generate(KeyUsage.MAC, KeyAlgorithm.DES, "10000002")
    custody.settle([orphan.id])

    assert custody.sweep("in a test") == [orphan.id]
    left = set(hsm.store.handles())
    assert set(held) | {k.id for k in foreign} | set(in_flight.new_keys.keys.handles) <= left
    assert orphan.id not in left

    step.commit(in_flight)  # the sign-on in flight completes with its keys intact
    assert custody.in_flight == frozenset()
    keys = services.registry.terminal("10000002").working_keys
    assert keys is not None and all(hsm.key_info(h) for h in keys.handles)
    assert custody.sweep("in a test") == []
    host.close()


def test_a_failed_sign_on_deletes_its_keys_and_sweeps(tmp_path: Path) -> None:
    host = _host(tmp_path, "10000001", "10000002")
    services = host.services
    orphan = services.custody.generate(KeyUsage.PIN, KeyAlgorithm.TDES, "10000001")
    services.custody.settle([orphan.id])  # left by an earlier failure
    tmk = services.registry.terminal("10000002").tmk_handle
    services.hsm.delete_key(tmk)  # the PIK is generated, then wrapping it fails

    request = Message("0800", {"11": "000001", "41": "10000002", "42": MID, "60": "00000001003"})
    reply = host.handle(encode_frame(request, Tpdu("6000030000"), Header())[2:])
    assert reply.frame is not None
    assert decode_frame(reply.frame)[1]["39"] == "A7"
    assert services.hsm.store.handles() == [services.registry.terminal("10000001").tmk_handle]
    assert services.custody.in_flight == frozenset()
    host.close()


def test_a_commit_that_fails_deletes_the_new_keys(tmp_path: Path) -> None:
    host = _host(tmp_path, "10000001")
    services = host.services
    step, ctx = SignOn(services), _sign_on_ctx(host, "10000001")
    step.prepare(ctx)
    assert len(services.hsm.store.handles()) == 1 + 3
    with host.database.transaction() as cur:  # the terminal is gone when the commit comes
        cur.execute("DELETE FROM terminals WHERE terminal_id = '10000001'")
    with pytest.raises(RegistryError):
        step.commit(ctx)
    assert len(services.hsm.store.handles()) == 1  # the TMK only
    assert services.custody.in_flight == frozenset()
    host.close()


def test_a_second_host_on_the_same_key_store_does_not_sweep(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = _host(tmp_path, "10000001")
    step, in_flight = SignOn(first.services), _sign_on_ctx(first, "10000001")
    step.prepare(in_flight)  # the first host is in the middle of a sign-on
    with caplog.at_level(logging.WARNING, logger="zhifu.acquirer"):
        second = _open(tmp_path)
    assert "another acquirer host serves the key store" in caplog.text
    assert _count(second)["orphans"] == 3  # the first host's keys in flight: not touched
    assert second.services.custody.sweep("in a test") == []
    step.commit(in_flight)
    second.close()
    first.close()

    third = _open(tmp_path)  # the lock is free again: this one sweeps (nothing to sweep)
    assert _count(third) == {"all": 1 + 3, "orphans": 0}
    orphan = third.services.custody.generate(KeyUsage.MAC, KeyAlgorithm.DES, "10000001")
    third.services.custody.settle([orphan.id])
    assert third.services.custody.sweep("in a test") == [orphan.id]
    with pytest.raises(KeyNotFoundError):
        third.services.hsm.key_info(orphan)
    third.close()
