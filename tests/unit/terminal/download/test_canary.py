"""Canary scan: working keys of recognisable value travel from the platform to the terminal in a
key package, applied and refused; neither they nor the TMK appear in clear — raw, hex (both
cases) or base64 — in the package file, any file of the terminal's state folder (store, key
store, audit trail), any log record at DEBUG, or any error message."""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING

import pytest

from zhifu.crypto.cipher import xor
from zhifu.security.download.errors import DownloadError
from zhifu.security.download.package import decode_file
from zhifu.security.hsm.keys import KeyComponent
from zhifu.security.keys import KeyAlgorithm, KeyUsage, compute_kcv, with_odd_parity
from zhifu.security.secrets import KeyMaterial
from zhifu.terminal.download import DownloadStore

if TYPE_CHECKING:
    from .conftest import Rig

TID = "10000001"
PLANTED = {  # two components per key: CAFE… and DEAD… patterns
    "pik": (KeyUsage.PIN, "CAFEBABECAFEBABE1122334455667788", "DEADBEEFDEADBEEF8877665544332211"),
    "mak": (KeyUsage.MAC, "CAFEF00DCAFEF00D0102030405060708", "DEADC0DEDEADC0DE0807060504030201"),
    "tdk": (KeyUsage.DATA, "CAFE1234CAFE1234A1A2A3A4A5A6A7A8", "DEAD5678DEAD5678B1B2B3B4B5B6B7B8"),
}


def _forms(secret: bytes) -> list[bytes]:
    text = secret.hex()
    return [secret, text.encode(), text.upper().encode(), base64.b64encode(secret)]


def test_no_clear_key_in_the_package_the_store_or_the_logs(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[bytes] = []
    handles = {}
    for name, (usage, one, two) in PLANTED.items():
        parts = [bytes.fromhex(one), bytes.fromhex(two)]
        components = [
            KeyComponent(KeyMaterial(p), compute_kcv(KeyAlgorithm.TDES, p)) for p in parts
        ]
        handles[name] = rig.platform.form_key_from_components(
            components, usage, KeyAlgorithm.TDES, exportable=True
        )
        clear = with_odd_parity(xor(parts[0], parts[1]))
        assert compute_kcv(KeyAlgorithm.TDES, clear) == handles[name].kcv  # the real key
        secrets += [*parts, clear]
    tmk = with_odd_parity(xor(*(bytes.fromhex(c) for c in rig.components)))
    secrets.append(tmk)

    package = rig.builder.build_keys(TID, handles).data
    messages = []
    for attempt in (package, package, package[:-9]):  # applied, replayed, truncated
        try:
            rig.apply(attempt)
        except DownloadError as exc:
            messages.append(str(exc))
    assert len(messages) == 2 and len(DownloadStore.load(rig.folder).key_handles()) == 3
    assert "download.apply" in caplog.text and "unsealed" in caplog.text  # DEBUG was captured

    haystacks = {
        "package": package,
        "log": caplog.text.encode(),
        "errors": "\n".join(messages).encode(),
    }
    for path in rig.folder.rglob("*"):
        if path.is_file():
            haystacks[str(path.relative_to(rig.folder))] = path.read_bytes()
    haystacks["audit"] = "\n".join(repr(r) for r in rig.audit()).encode()
    assert {"keys.db", "downloads.json", "audit.db", "state.json"} <= set(haystacks)
    found = [
        (where, secret.hex()[:8])
        for where, haystack in haystacks.items()
        for secret in secrets
        for form in _forms(secret)
        if form in haystack
    ]
    assert found == []
    # the wrapped keys travel in the package only, not in the terminal's store
    store = (rig.folder / "downloads.json").read_text()
    wrapped = [e.data["key"] for e in decode_file(package).entries if e.data is not None]
    assert len(wrapped) == 3 and not any(key in store for key in wrapped)
