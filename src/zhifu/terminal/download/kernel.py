"""What the kernel takes from downloads: the CA public keys and each AID's parameters.

A terminal that has applied a ``capk`` package verifies cards with those CA keys only (the
table the platform sent); one that has applied ``aid:<AID>`` parameters uses them (floor
limit, random selection, terminal action codes, contactless limits) when that application is
selected. Without downloads the built-in defaults stay (``zhifu.terminal.flow.DEFAULT_KERNEL``).

>>> config_of({"floor_limit": 500_00, "cl_floor_limit": 100_00, "tac_online": "0000000000"},
...           TerminalConfig()).floor_limit
50000
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from zhifu.card.oda.ca import CaKey
from zhifu.security.download.kinds import Kind
from zhifu.terminal.chip import KernelOptions
from zhifu.terminal.download.store import DownloadStore
from zhifu.terminal.kernel.config import TerminalConfig

__all__ = ["capk_of", "config_of", "kernel_options"]

_AMOUNTS: Final = {
    "floor_limit": "floor_limit",
    "threshold": "random_threshold",
    "target_percent": "random_target_percent",
    "max_target_percent": "random_max_percent",
    "cl_floor_limit": "contactless_floor_limit",
    "cl_limit": "contactless_limit",
    "cvm_limit": "contactless_cvm_limit",
}
"""Downloaded parameter -> TerminalConfig field (integers: amounts in fen, percentages)."""
_CODES: Final = {
    "tac_default": "tac_default",
    "tac_online": "tac_online",
    "tac_denial": "tac_denial",
    "app_version": "app_version",
}
"""Downloaded parameter (hex) -> TerminalConfig field (bytes)."""


def config_of(params: Mapping[str, Any], base: TerminalConfig) -> TerminalConfig:
    """``base`` with one AID's downloaded parameters."""
    changes: dict[str, Any] = {
        field: int(params[name]) for name, field in _AMOUNTS.items() if name in params
    }
    changes.update(
        {
            field: bytes.fromhex(str(params[name]))
            for name, field in _CODES.items()
            if name in params
        }
    )
    if "online_pin" in params:
        changes["pin_pad"] = bool(params["online_pin"])
    return dataclasses.replace(base, **changes)


def capk_of(data: Mapping[str, Any]) -> CaKey:
    """A downloaded CA public key (its check value is verified again)."""
    record = {
        "alg": "rsa" if int(data["pk_algorithm"]) == 1 else "sm2",
        **{name: data[name] for name in ("rid", "index", "hash_algorithm", "pk_algorithm")},
        "modulus": data["modulus"], "exponent": data["exponent"], "checksum": data["checksum"],
    }  # fmt: skip
    return CaKey.from_capk_record(record)


def kernel_options(folder: Path | str, base: KernelOptions) -> KernelOptions:
    """``base`` with what the terminal in ``folder`` has downloaded."""
    store = DownloadStore.load(folder)
    capks = store.table(Kind.CAPK).entries
    params = store.table(Kind.PARAMS).entries
    if not capks and not params:
        return base
    by_aid = tuple(
        (bytes.fromhex(entry_id.split(":", 1)[1]), config_of(entry["data"], base.config))
        for entry_id, entry in sorted(params.items())
        if entry_id.startswith("aid:")
    )
    chosen = tuple(capk_of(entry["data"]) for _, entry in sorted(capks.items()))
    return KernelOptions(base.config, chosen or base.capks, by_aid)
