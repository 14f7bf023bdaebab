"""Fixtures of the ``zhifu barcode`` tests: a platform folder in tmp_path and a runner for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zhifu.barcode.api.signing import load_private_key
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.cli.barcode.support import platform_sealer
from zhifu.cli.main import main
from zhifu.crypto import sm2

Run = tuple[int, str, str]


class BarcodeCli:
    """Runs ``zhifu barcode --home <tmp>/var/barcode ...`` and checks what it wrote."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp = tmp_path
        self.home = tmp_path / "var" / "barcode"
        self._capsys = capsys
        self._opened: list[BarcodeSystem] = []

    def close(self) -> None:
        for system in self._opened:
            system.close()

    def run(self, *argv: str, home: Path | None = None) -> Run:
        status = main(["barcode", "--home", str(home or self.home), *argv])
        out, err = self._capsys.readouterr()
        return status, out, err

    def ok_json(self, *argv: str) -> dict[str, Any]:
        status, out, err = self.run(*argv, "--json")
        assert (status, err) == (0, ""), err
        data = json.loads(out)
        assert isinstance(data, dict)
        return data

    def platform(self) -> BarcodeSystem:
        """The platform the commands wrote, opened (closed after the test)."""
        system = BarcodeSystem.open(self.home, sealer=platform_sealer(Path(self.home)))
        self._opened.append(system)
        return system

    # -- enrolments most tests need ----------------------------------------------------------

    def add_merchant(self, merchant: str = "M1") -> None:
        argv = ("--institution", "zhifu", "--name", "Noodles")
        status, _, err = self.run("merchant", "add", merchant, *argv)
        assert (status, err) == (0, "")

    def open_wallet(self) -> None:
        """Wallet A1 of C1 at huanyu with 100.00 yuan."""
        who = ("--institution", "huanyu", "--account", "A1")
        for argv in (
            ("wallet", "open", *who, "--customer", "C1"),
            ("wallet", "top-up", *who, "--amount", "100.00", "--reference", "T1"),
        ):
            status, _, err = self.run(*argv)
            assert (status, err) == (0, "")

    def enroll(self, out: Path) -> Run:
        who = ("--institution", "huanyu", "--customer", "C1", "--account", "A1")
        return self.run("device", "enroll", *who, "--grade", "B", "--out", str(out))

    def code(self, device: Path, *more: str) -> str:
        status = main(["barcode", "code", "--device", str(device), *more])
        out, err = self._capsys.readouterr()
        assert (status, err) == (0, ""), err
        return out.splitlines()[0]

    # -- checks ------------------------------------------------------------------------------

    @staticmethod
    def refused(result: Run, flag: str) -> str:
        """A clean refusal: status 2, nothing on stdout, one line naming the flag."""
        status, out, err = result
        assert status == 2, (out, err)
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(f"zhifu: error: {flag}: "), lines[0]
        return lines[0]

    @staticmethod
    def pem_secrets(pem: bytes) -> list[str]:
        """What of a private key must never be printed: its base64 lines, its SM2 scalar."""
        lines = pem.decode().splitlines()
        found = [line for line in lines if line and not line.startswith("-----")]
        private = load_private_key(pem)[1]
        if isinstance(private, sm2.Sm2PrivateKey):
            found += [private.to_bytes().hex(), private.to_bytes().hex().upper()]
        return found

    @staticmethod
    def hidden(secrets: list[str], *texts: str) -> None:
        for text in texts:
            for secret in secrets:
                assert secret not in text


@pytest.fixture
def bc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[BarcodeCli]:
    cli = BarcodeCli(tmp_path, capsys)
    yield cli
    cli.close()
