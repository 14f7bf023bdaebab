"""The platform side of downloads: versions rise per terminal and kind, deltas hold only what
changed, the platform key signs and can be replaced, keys leave only wrapped under the TMK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zhifu.acquirer.database import Database
from zhifu.acquirer.downloads import DownloadBuilder
from zhifu.acquirer.registry import Registry, register_terminal
from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, decrypt_ecb, xor
from zhifu.security.download.errors import MalformedPackageError
from zhifu.security.download.kinds import Kind
from zhifu.security.download.package import Op, decode_file
from zhifu.security.download.signing import verify_package
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage, compute_kcv, with_odd_parity
from zhifu.security.store import KeyStore

MID, TID = "898100012345678", "10000001"


@pytest.fixture
def platform() -> Iterator[tuple[DownloadBuilder, SoftHsm, bytes]]:
    db, hsm = Database(), SoftHsm(KeyStore.in_memory())
    reg = register_terminal(Registry(db), hsm, MID, TID, merchant_name="湖畔面馆")
    parts = [c.material.reveal() for c in reg.components]
    yield DownloadBuilder(db, hsm), hsm, with_odd_parity(xor(*parts))
    db.close()


def test_versions_rise_and_deltas_carry_only_the_changes(
    platform: tuple[DownloadBuilder, SoftHsm, bytes],
) -> None:
    builder, _, _ = platform
    wanted = builder.params_entries(TID)
    first = builder.build(TID, Kind.PARAMS, wanted)
    assert (first.version, first.base_version, len(first.added)) == (1, 0, 5)
    with pytest.raises(UsageError, match="nothing to send"):
        builder.build(TID, Kind.PARAMS, wanted)
    wanted["terminal"] = {"merchant_name": "湖畔面馆二店"}
    del wanted["aid:A000000333010103"]
    second = builder.build(TID, Kind.PARAMS, wanted)
    assert (second.version, second.base_version) == (2, 1)
    assert (second.added, second.updated, second.deleted) == (
        (), ("terminal",), ("aid:A000000333010103",))  # fmt: skip
    again = builder.build(TID, Kind.PARAMS, wanted, full=True)
    assert (again.version, again.base_version, len(again.added)) == (3, 0, 4)
    assert builder.build(TID, Kind.CAPK, builder.capk_entries()).version == 1  # per kind
    assert [(h["kind"], h["version"]) for h in builder.history(TID)] == [
        ("capk", 1), ("params", 1), ("params", 2), ("params", 3)]  # fmt: skip


def test_the_current_platform_key_signs_and_a_new_one_replaces_it(
    platform: tuple[DownloadBuilder, SoftHsm, bytes],
) -> None:
    builder, hsm, _ = platform
    first = builder.platform_key()
    assert first == builder.platform_key() and first.algorithm is KeyAlgorithm.SM2
    package = decode_file(builder.build(TID, Kind.CAPK, builder.capk_entries()).data)
    terminal = SoftHsm(KeyStore.in_memory())
    verify_package(terminal, terminal.import_public_key(first.public_key, first.algorithm),
                   package)  # fmt: skip
    second = builder.new_platform_key(KeyAlgorithm.RSA)
    assert builder.platform_key() == second and second.key_id != first.key_id
    signed = decode_file(builder.build(TID, Kind.CAPK, builder.capk_entries(), full=True).data)
    assert signed.signer.key_id == second.key_id and signed.signer.algorithm == "RSA-PSS-SHA256"
    assert hsm.key_info(second.handle).exportable is False
    assert "public_key" in second.as_json() and "private" not in str(second.as_json())


def test_keys_leave_wrapped_under_the_terminals_tmk(
    platform: tuple[DownloadBuilder, SoftHsm, bytes],
) -> None:
    builder, hsm, tmk = platform
    built = builder.build_keys(TID, {"pik": KeyUsage.PIN, "mak": KeyUsage.MAC})
    for entry in decode_file(built.data).entries:
        assert entry.op is Op.ADD and entry.data is not None
        clear = decrypt_ecb(Cipher.TDES, tmk, bytes.fromhex(entry.data["key"]))
        assert compute_kcv(KeyAlgorithm.TDES, clear) == entry.data["kcv"]
        assert entry.data["algorithm"] == "3des"
    labels = sorted(i.label for i in hsm.list_keys() if i.label.startswith("download "))
    assert labels == ["download MAC 10000001", "download PIN 10000001", "download platform"]


def test_refusals_build_nothing_and_keep_no_key(
    platform: tuple[DownloadBuilder, SoftHsm, bytes],
) -> None:
    builder, hsm, _ = platform
    builder.platform_key()
    count = len(hsm.list_keys())
    with pytest.raises(UsageError, match="no terminal 99999999"):
        builder.build_keys("99999999", {"pik": KeyUsage.PIN})
    with pytest.raises(UsageError, match="pin, mac or data"):
        builder.build_keys(TID, {"pik": KeyUsage.PIN, "zmk": KeyUsage.KEK})
    with pytest.raises(MalformedPackageError):
        builder.build(TID, Kind.PARAMS, {"terminal": {"merchant_name": 12}})
    assert len(hsm.list_keys()) == count and builder.history(TID) == []
