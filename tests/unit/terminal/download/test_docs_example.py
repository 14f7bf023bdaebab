"""The example package of docs/terminal.md ("Downloads") is a real one: the page's key, body and
signature assemble into a file that reads, whose digests hold and whose signature verifies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zhifu.security.download.canonical import canonical
from zhifu.security.download.errors import SignatureError
from zhifu.security.download.kinds import Kind
from zhifu.security.download.package import MAGIC, Op, decode_file
from zhifu.security.download.signing import key_id, verify_package
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm
from zhifu.security.store import KeyStore

DOC = (Path(__file__).resolve().parents[4] / "docs" / "terminal.md").read_text(encoding="utf-8")


def _after(marker: str) -> str:
    rest = DOC.split(f"<!-- {marker} -->", 1)[1].lstrip("\n")
    if rest.startswith("```"):
        return rest.split("\n", 1)[1].split("```", 1)[0]
    return re.match(r"`([^`]+)`", rest).group(1)  # type: ignore[union-attr]


def _file() -> bytes:
    body = canonical(json.loads(_after("download-example-body")))
    signature = _after("download-example-signature").encode("ascii")
    return MAGIC + body + b"\n" + signature + b"\n"


def test_the_example_in_the_docs_reads_and_verifies() -> None:
    data = _file()
    assert f"`\\n` ({len(data)} bytes)" in DOC
    package = decode_file(data)
    assert (package.kind, package.version, package.base_version) == (Kind.PARAMS, 2, 1)
    assert [(e.id, e.op) for e in package.entries] == [
        ("aid:A000000333010106", Op.DELETE),
        ("terminal", Op.UPDATE),
    ]
    public = bytes.fromhex(_after("download-example-key"))
    assert key_id(KeyAlgorithm.SM2, public) == package.signer.key_id
    assert package.signer.key_id in DOC
    terminal = SoftHsm(KeyStore.in_memory())
    trusted = terminal.import_public_key(public, KeyAlgorithm.SM2)
    verify_package(terminal, trusted, package)
    altered = data.replace("二店".encode(), "三店".encode())
    with pytest.raises(SignatureError):
        verify_package(terminal, trusted, decode_file(altered))
