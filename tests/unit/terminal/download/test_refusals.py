"""Every refused package leaves the terminal's store byte for byte as it was
(docs/standards/security.md, R14): tampered, replayed, older, wrong terminal, wrong signer,
truncated, built on another version, conflicting entries, no platform key — each with its own
error, checked against a SHA-256 of every store file before and after, and an audit record of
the refusal."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from zhifu.acquirer.database import Database
from zhifu.acquirer.downloads import DownloadBuilder
from zhifu.acquirer.registry import Registry, register_terminal
from zhifu.security.download import errors
from zhifu.security.download.kinds import Kind
from zhifu.security.download.package import Op, decode_file, make_entry
from zhifu.security.download.signing import sign_package
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyUsage
from zhifu.security.store import KeyStore
from zhifu.terminal import Terminal
from zhifu.terminal.download import DownloadStore, apply_file, apply_package

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import Rig

MID, TID, OTHER_TID = "898100012345678", "10000001", "10000002"


def _three_versions(rig: Rig) -> list[bytes]:
    """Params versions 1 (full), 2 and 3 (deltas), of which the terminal applied all."""
    wanted = rig.builder.params_entries(TID)
    packages = []
    for name in ("湖畔面馆", "湖畔面馆二店", "湖畔面馆三店"):
        wanted["terminal"] = {"merchant_name": name}
        packages.append(rig.builder.build(TID, Kind.PARAMS, wanted).data)
        rig.apply(packages[-1])
    return packages


def _flip(data: bytes, position: int) -> bytes:
    copy = bytearray(data)
    copy[position] ^= 0x01
    return bytes(copy)


def _tampered(rig: Rig, packages: list[bytes]) -> bytes:
    fresh = _fresh_delta(rig)
    return _flip(fresh, fresh.index("四".encode()) + 2)  # one bit of the new merchant name


def _fresh_delta(rig: Rig) -> bytes:
    """A valid version 4 the terminal has not seen."""
    wanted = rig.builder.params_entries(TID)
    wanted["terminal"] = {"merchant_name": "湖畔面馆四店"}
    return rig.builder.build(TID, Kind.PARAMS, wanted).data


def _other_signer(rig: Rig, packages: list[bytes]) -> bytes:
    """A second platform (its own key) that knows the same terminal."""
    db, hsm = Database(), SoftHsm(KeyStore.in_memory())
    register_terminal(Registry(db), hsm, MID, TID)
    rogue = DownloadBuilder(db, hsm)
    for _ in range(4):  # up to a version the terminal would take
        data = rogue.build(TID, Kind.PARAMS, rig.builder.params_entries(TID), full=True).data
    return data


def _for_another_terminal(rig: Rig, packages: list[bytes]) -> bytes:
    return rig.builder.build(OTHER_TID, Kind.PARAMS, rig.builder.params_entries(TID)).data


def _built_on_another_version(rig: Rig, packages: list[bytes]) -> bytes:
    rig.builder.build(TID, Kind.PARAMS, {**rig.builder.params_entries(TID), "terminal": {
        "merchant_name": "never applied"}})  # fmt: skip
    return _fresh_delta(rig)  # version 5, a delta on 4, which the terminal never got


CASES: dict[str, tuple[Callable[[Rig, list[bytes]], bytes], type[errors.DownloadError]]] = {
    "tampered": (_tampered, errors.SignatureError),
    "replayed": (lambda rig, packages: packages[2], errors.ReplayedPackageError),
    "older": (lambda rig, packages: packages[1], errors.StalePackageError),
    "wrong terminal": (_for_another_terminal, errors.WrongTerminalError),
    "wrong signer": (_other_signer, errors.UnknownSignerError),
    "truncated": (lambda rig, packages: _fresh_delta(rig)[:-40], errors.MalformedPackageError),
    "empty": (lambda rig, packages: b"", errors.MalformedPackageError),
    "base mismatch": (_built_on_another_version, errors.BaseVersionError),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_refused_package_changes_no_store_file(rig: Rig, case: str) -> None:
    packages = _three_versions(rig)
    make, error = CASES[case]
    data = make(rig, packages)
    before = rig.snapshot()
    with pytest.raises(error) as caught:
        rig.apply(data)
    assert type(caught.value) is error
    assert rig.snapshot() == before
    assert DownloadStore.load(rig.folder).version(Kind.PARAMS) == 3
    last = rig.audit()[-1]
    assert (last.action, last.outcome) == ("download.apply", "refused")
    assert last.detail.startswith(f"{error.code}: ")


def test_random_bit_flips_are_refused_and_change_nothing(rig: Rig) -> None:
    """Forty single-bit flips anywhere in a valid package (seeded): each refused."""
    _three_versions(rig)
    data = _fresh_delta(rig)
    before = rig.snapshot()
    for position in random.Random(20260105).sample(range(len(data)), 40):
        with pytest.raises(errors.DownloadError):
            rig.apply(_flip(data, position))
    assert rig.snapshot() == before
    assert rig.apply(data).version == 4  # and the untouched one still applies


@pytest.mark.parametrize(
    ("op", "entry_id", "state"),
    [(Op.ADD, "terminal", "holds it already"), (Op.UPDATE, "aid:A0000003330101FF", "does not"),
     (Op.DELETE, "aid:A0000003330101FF", "does not")],
)  # fmt: skip
def test_entries_that_do_not_fit_the_table_held_are_refused(
    rig: Rig, op: Op, entry_id: str, state: str
) -> None:
    """A delta on the right version whose entries contradict the terminal's table (signed by
    the platform key, by hand: the builder itself never makes one)."""
    rig.apply(rig.builder.build(TID, Kind.PARAMS, rig.builder.params_entries(TID)).data)
    data = {"merchant_name": "x"} if entry_id == "terminal" else None
    if op is Op.UPDATE:
        data = {**rig.builder.params_entries(TID)["aid:A000000333010101"], "aid": entry_id[4:]}
    signer = rig.builder.platform_key().handle
    package = sign_package(rig.platform, signer, terminal_id=TID, kind=Kind.PARAMS, version=2,
                           base_version=1, created="2026-01-05T10:00:00+08:00",
                           entries=[make_entry(op, entry_id, data)])  # fmt: skip
    before = rig.snapshot()
    with pytest.raises(errors.EntryConflictError, match=state):
        rig.apply(package)
    assert rig.snapshot() == before


def test_a_terminal_without_a_platform_key_refuses_everything(rig: Rig, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    Terminal.init(bare, MID, TID, rig.components).close()
    before = {p.name: p.read_bytes() for p in bare.iterdir()}
    data = rig.builder.build(TID, Kind.CAPK, rig.builder.capk_entries()).data
    with pytest.raises(errors.NotTrustedError, match="download trust"):
        apply_package(bare, data)
    assert {p.name: p.read_bytes() for p in bare.iterdir()} == before


def test_keys_wrapped_under_another_tmk_are_refused_and_nothing_stays(
    rig: Rig, tmp_path: Path
) -> None:
    """The platform wraps for terminal 10000002's TMK; the package is re-addressed to 10000001
    and signed by the real platform key: the KCV check under this TMK refuses it."""
    built = rig.builder.build_keys(OTHER_TID, {"pik": KeyUsage.PIN, "mak": KeyUsage.MAC})
    readdressed = rig.builder.build(TID, Kind.KEYS, _entries_of(built.data))
    keys_before = rig.download_keys()
    state_before = (rig.folder / "state.json").read_bytes()
    with pytest.raises(errors.KeyCheckError, match="another TMK"):
        rig.apply(readdressed.data)
    assert rig.download_keys() == keys_before == {}
    assert (rig.folder / "state.json").read_bytes() == state_before
    assert not (rig.folder / "downloads.json").read_text().count('"keys"')


def _entries_of(data: bytes) -> dict[str, dict[str, object]]:
    return {e.id: dict(e.data or {}) for e in decode_file(data).entries}


def test_a_missing_or_oversized_file_is_named(rig: Rig, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="PACKAGE: cannot read"):
        apply_file(rig.folder, tmp_path / "none.zdl")
    big = tmp_path / "big.zdl"
    with big.open("wb") as file:
        file.truncate(16 * 1024 * 1024 + 5)
    before = rig.snapshot()
    with pytest.raises(errors.MalformedPackageError, match="larger than"):
        apply_file(rig.folder, big)
    assert rig.snapshot() == before
