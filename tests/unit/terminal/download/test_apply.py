"""Valid packages built by the platform apply on the terminal: parameters (full, then a delta),
CA public keys, working keys unwrapped under the TMK that then compute the platform's MACs, a
program kept by its digest; every package leaves an audit record."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import pytest

from zhifu.card.oda.ca import CaKey
from zhifu.core.errors import UsageError
from zhifu.security.download.errors import UnknownSignerError
from zhifu.security.download.kinds import Kind
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.terminal.download import DownloadStore, install_platform_key
from zhifu.terminal.state import open_hsm

if TYPE_CHECKING:
    from .conftest import Rig

TID = "10000001"


def test_parameters_arrive_full_then_as_a_delta(rig: Rig) -> None:
    wanted = rig.builder.params_entries(TID)
    first = rig.apply(rig.builder.build(TID, Kind.PARAMS, wanted).data)
    assert (first.version, first.previous, first.full) == (1, 0, True)
    assert len(first.added) == 5 and not first.updated and not first.deleted
    table = DownloadStore.load(rig.folder).table(Kind.PARAMS)
    assert {k: v["data"] for k, v in table.entries.items()} == wanted
    assert table.entries["terminal"]["data"] == {"merchant_name": "湖畔面馆"}

    wanted["terminal"] = {"merchant_name": "湖畔面馆（二店）"}
    wanted["aid:A000000333010101"] = {**wanted["aid:A000000333010101"], "floor_limit": 50_000}
    del wanted["aid:A000000333010106"]
    second = rig.apply(rig.builder.build(TID, Kind.PARAMS, wanted).data)
    assert (second.version, second.previous, second.full) == (2, 1, False)
    assert second.updated == ("aid:A000000333010101", "terminal")
    assert second.deleted == ("aid:A000000333010106",) and not second.added
    table = DownloadStore.load(rig.folder).table(Kind.PARAMS)
    assert {k: v["data"] for k, v in table.entries.items()} == wanted
    assert table.version == 2 and table.applied.startswith("2026-01-05T09:00")


def test_ca_public_keys_arrive_usable_by_the_kernel(rig: Rig) -> None:
    rig.apply(rig.builder.build(TID, Kind.CAPK, rig.builder.capk_entries()).data)
    entries = DownloadStore.load(rig.folder).table(Kind.CAPK).entries
    assert sorted(entries) == ["A000000333-80", "A000000333-81"]
    for entry in entries.values():  # zhifu.card.oda checks the check value again
        alg = "rsa" if entry["data"]["pk_algorithm"] == 1 else "sm2"
        key = CaKey.from_capk_record({**entry["data"], "alg": alg})
        assert key.index == entry["data"]["index"]


def test_working_keys_are_unwrapped_under_the_tmk_and_compute_the_platforms_macs(
    rig: Rig,
) -> None:
    mak = rig.platform.generate_key(KeyUsage.MAC, KeyAlgorithm.TDES, exportable=True)
    built = rig.builder.build_keys(TID, {"mak": mak, "pik": KeyUsage.PIN, "tdk": KeyUsage.DATA})
    applied = rig.apply(built.data)
    assert applied.added == ("mak", "pik", "tdk")
    entries = DownloadStore.load(rig.folder).table(Kind.KEYS).entries
    assert set(entries["mak"]["data"]) == {"usage", "algorithm", "kcv", "handle"}
    hsm = open_hsm(rig.folder)
    try:
        info = hsm.key_info(entries["mak"]["data"]["handle"])
        assert (info.usage, info.kcv, info.exportable) == (KeyUsage.MAC, mak.kcv, False)
        block = b"0200 purchase 12.34 at 898100012345678"
        here = hsm.generate_mac(entries["mak"]["data"]["handle"], block)
    finally:
        hsm.store.close()
    assert here == rig.platform.generate_mac(mak, block)

    rotated = rig.apply(
        rig.builder.build_keys(TID, {"mak": KeyUsage.MAC, "pik": KeyUsage.PIN}).data
    )
    assert (rotated.updated, rotated.deleted) == (("mak", "pik"), ("tdk",))
    held = DownloadStore.load(rig.folder).key_handles()
    assert set(rig.download_keys()) == held and len(held) == 2  # the replaced ones are gone


def test_a_program_is_kept_by_its_digest_and_the_old_one_removed(rig: Rig) -> None:
    one, two = b"\x7fELF pos 1.0" * 100, b"\x7fELF pos 1.1" * 100
    rig.apply(
        rig.builder.build(TID, Kind.PROGRAM, rig.builder.program_entries("pos", "1.0", one)).data
    )
    name = f"{hashlib.sha256(one).hexdigest().upper()}.bin"
    assert (rig.folder / "programs" / name).read_bytes() == one
    rig.apply(
        rig.builder.build(TID, Kind.PROGRAM, rig.builder.program_entries("pos", "1.1", two)).data
    )
    entry = DownloadStore.load(rig.folder).table(Kind.PROGRAM).entries["pos"]["data"]
    assert entry["version"] == "1.1" and "blob" not in entry
    assert [p.name for p in (rig.folder / "programs").iterdir()] == [entry["file"].split("/")[1]]
    assert (rig.folder / entry["file"]).read_bytes() == two
    assert "blob" not in (rig.folder / "downloads.json").read_text()


def test_every_package_leaves_an_audit_record(rig: Rig) -> None:
    data = rig.builder.build(TID, Kind.CAPK, rig.builder.capk_entries()).data
    rig.apply(data)
    try:
        rig.apply(data)
    except Exception as exc:
        assert type(exc).__name__ == "ReplayedPackageError"
    records = rig.audit()
    assert [(r.action, r.outcome) for r in records] == [
        ("download.trust", "installed"),
        ("download.apply", "applied"),
        ("download.apply", "refused"),
    ]
    assert records[1].object == f"capk version 1 (full) for terminal {TID}"
    assert records[2].detail.startswith("replayed: capk version 1 is applied")
    assert json.loads((rig.folder / "downloads.json").read_text())["tables"]["capk"]["version"] == 1


def test_the_platform_key_is_installed_once_and_replaced_only_when_asked(rig: Rig) -> None:
    first = DownloadStore.load(rig.folder).signer
    assert first is not None and first.algorithm == "SM2-SM3"
    same = rig.builder.platform_key()
    assert install_platform_key(rig.folder, same.public_key, same.algorithm) == first
    newer = rig.builder.new_platform_key(KeyAlgorithm.RSA)
    before = rig.snapshot()
    with pytest.raises(UsageError, match="already trusts platform key"):
        install_platform_key(rig.folder, newer.public_key, newer.algorithm)
    assert rig.snapshot() == before
    data = rig.builder.build(TID, Kind.CAPK, rig.builder.capk_entries()).data
    with pytest.raises(UnknownSignerError):
        rig.apply(data)
    second = install_platform_key(rig.folder, newer.public_key, newer.algorithm, replace=True)
    assert (second.key_id, second.algorithm) == (newer.key_id, "RSA-PSS-SHA256")
    hsm = open_hsm(rig.folder)
    try:
        assert first.handle not in {i.handle.id for i in hsm.list_keys()}
    finally:
        hsm.store.close()
    assert rig.apply(data).version == 1  # the same package, now from a trusted key
