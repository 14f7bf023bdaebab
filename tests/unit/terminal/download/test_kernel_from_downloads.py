"""The kernel takes what downloads brought: each AID's parameters when that application is
selected, and the CA public keys of the last CAPK package in place of the built-in test keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhifu.security.download.kinds import Kind
from zhifu.terminal import Terminal
from zhifu.terminal.flow import DEFAULT_KERNEL

if TYPE_CHECKING:
    from .conftest import Rig

TID = "10000001"
DEBIT = bytes.fromhex("A000000333010101")


def test_without_downloads_the_built_in_kernel_stays(rig: Rig) -> None:
    with Terminal(rig.folder) as term:
        assert term.kernel is DEFAULT_KERNEL


def test_aid_parameters_and_ca_keys_reach_the_kernel(rig: Rig) -> None:
    wanted = rig.builder.params_entries(TID)
    debit = {**wanted["aid:A000000333010101"], "floor_limit": 300_00, "cl_floor_limit": 150_00,
             "cvm_limit": 800_00, "tac_online": "0000001000"}  # fmt: skip
    wanted["aid:A000000333010101"] = debit
    rig.apply(rig.builder.build(TID, Kind.PARAMS, wanted).data)
    rig.apply(rig.builder.build(TID, Kind.CAPK, rig.builder.capk_entries()).data)
    with Terminal(rig.folder) as term:
        kernel = term.kernel
        assert kernel is not None and kernel is not DEFAULT_KERNEL
        config = kernel.config_for(DEBIT)
        assert (config.floor_limit, config.contactless_floor_limit) == (300_00, 150_00)
        assert config.contactless_cvm_limit == 800_00
        assert config.tac_online == bytes.fromhex("0000001000")
        other = kernel.config_for(bytes.fromhex("A000000333010106"))
        assert other.floor_limit == wanted["aid:A000000333010106"]["floor_limit"]
        assert kernel.config_for(bytes.fromhex("A0000000041010")) == DEFAULT_KERNEL.config
        assert sorted((k.rid.hex().upper(), k.index) for k in kernel.capks) == [
            ("A000000333", 0x80),
            ("A000000333", 0x81),
        ]
