"""`zhifu serve`'s acquirer is supervised: when its thread ends on its own it is started again on
the same port, the web app's services follow the new host, and a terminal signs on again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zhifu.acquirer import AcquirerConfig, register_terminal
from zhifu.cli.serve_cmd import _supervised_acquirer
from zhifu.terminal import Terminal

LMK = "6D" * 32
MID = "898100012345678"


def test_an_acquirer_that_stops_on_its_own_is_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    config = AcquirerConfig.local(tmp_path / "var", port=0)
    services: dict[str, Any] = {}
    watched = _supervised_acquirer(config, services)
    try:
        first = watched.current
        assert services["acquirer"] is first.host
        reg = register_terminal(first.host.services.registry, first.host.services.hsm, MID,
                                "10000091")  # fmt: skip
        parts = [c.material.reveal().hex() for c in reg.components]
        term = Terminal.init(tmp_path / "term", MID, "10000091", parts)
        address = f"127.0.0.1:{first.port}"
        assert term.sign_on(address).get("39") == "00"
        term.close()

        first.stop()  # its thread ends (as a bug or a lost resource would end it)
        assert watched.wait_restarts(1, timeout=30)
        again = watched.current
        assert again is not first and again.running and again.port == first.port
        assert services["acquirer"] is again.host
        term = Terminal(tmp_path / "term")
        assert term.sign_on(address).get("39") == "00"
        term.close()
    finally:
        watched.stop()
    assert not watched.current.running
