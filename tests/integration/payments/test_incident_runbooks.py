"""The runbooks of docs/incident-response.md, run as written: the command blocks are read from
the page and run in order (through ``zhifu``'s own entry point, with ``--json``) against a bank
taking payments, with checks of what each step must change."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from zhifu.acquirer.site import open_site_at
from zhifu.cli.main import main
from zhifu.security.access import AccessError

from .conftest import LMK, MID, Bank

PAGE = Path(__file__).resolve().parents[3] / "docs" / "incident-response.md"
TID = "10000081"
Run = Callable[..., dict[str, object]]


def runbooks() -> dict[str, list[str]]:
    """Each ``## `` section's commands (the lines of its ``sh`` block)."""
    found: dict[str, list[str]] = {}
    for section in PAGE.read_text("utf-8").split("\n## ")[1:]:
        title = section.splitlines()[0]
        block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
        assert block, title
        found[title] = [line for line in block[1].splitlines() if line.strip()]
    return found


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def _run(*argv: str, status: int = 0) -> dict[str, object]:
        capsys.readouterr()
        got = main([*argv, "--json"])
        out = capsys.readouterr().out
        assert got == status, (argv, out)
        return json.loads(out) if out.strip().startswith("{") else {}

    return _run


def _play(commands: list[str], values: dict[str, str], run: Run,
          checks: dict[str, Callable[[dict[str, object]], None]]) -> list[str]:  # fmt: skip
    """Run each command with ``$NAME`` filled from ``values``; after one whose text starts with
    a key of ``checks``, call that check with its JSON answer. The commands run."""
    done, used = [], set()
    for line in commands:
        argv = [re.sub(r"\$([A-Z_0-9]+)", lambda m: values[m[1]], word)
                for word in shlex.split(line)]  # fmt: skip
        assert argv[0] == "zhifu", line
        answer = run(*argv[1:])
        for prefix, check in checks.items():
            if line.startswith(prefix):
                check(answer)
                used.add(prefix)
        done.append(" ".join(argv[1:3]))
    assert used == set(checks), f"steps missing from the page: {set(checks) - used}"
    return done


@pytest.fixture
def shop(bank: Bank, run: Run, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A terminal registered, loaded and signed on from the command line; a card."""
    monkeypatch.setenv("ZHIFU_HOME", str(bank.folder / "var"))
    monkeypatch.setenv("ZHIFU_BACKUP_PASSPHRASE", "evidence passphrase")
    card, state = str(bank.folder / "card.json"), str(bank.folder / "term-old")
    run("issuer", "card", "issue", "--product", "debit", "--balance", "1000.00", "--pin", "1234",
        "--out", card)  # fmt: skip
    reg = run("acquirer", "register-terminal", "--merchant", MID, "--terminal", TID)
    parts = [c["component"] for c in reg["components"]]  # type: ignore[attr-defined]
    run("terminal", "init", "--state", state, "--merchant", MID, "--terminal", TID,
        "--tmk-component", parts[0], "--tmk-component", parts[1])  # fmt: skip
    run("terminal", "signon", "--state", state, "--host", bank.address)
    return {"CARD": card, "OLD_STATE": state, "TID": TID, "MID": MID, "HOST": bank.address,
            "NEW_STATE": str(bank.folder / "term-new"),
            "EVIDENCE": str(bank.folder / "evidence.zbak")}  # fmt: skip


def _buy(run: Run, values: dict[str, str], state: str, status: int = 0) -> dict[str, object]:
    return run("terminal", "purchase", "--state", state, "--card", values["CARD"], "--pin",
               "1234", "--amount", "1.00", status=status)  # fmt: skip


def test_a_terminal_whose_keys_may_be_known(shop: dict[str, str], run: Run) -> None:
    assert _buy(run, shop, shop["OLD_STATE"])["approved"] is True

    def blocked(_: dict[str, object]) -> None:
        assert _buy(run, shop, shop["OLD_STATE"])["response_code"] == "58"

    def rekeyed(answer: dict[str, object]) -> None:
        components = answer["components"]
        assert isinstance(components, list) and len(components) == 2
        shop["COMPONENT_1"], shop["COMPONENT_2"] = (c["component"] for c in components)

    def signed_on(_: dict[str, object]) -> None:
        assert _buy(run, shop, shop["NEW_STATE"])["approved"] is True
        old = run("terminal", "signon", "--state", shop["OLD_STATE"], status=1)
        assert old.get("response_code") != "00"  # the old TMK no longer opens anything

    def verified(answer: dict[str, object]) -> None:
        assert answer["ok"] is True

    done = _play(runbooks()["A terminal's keys may be known to someone else"], shop, run, {
        "zhifu acquirer block-terminal": blocked, "zhifu acquirer rekey-terminal": rekeyed,
        "zhifu terminal signon": signed_on, "zhifu audit verify": verified})  # fmt: skip
    assert len(done) == 8
    actions = [r["action"] for r in run("audit", "list", "--last", "200")["records"]]  # type: ignore[index, union-attr]
    assert {"terminal.block", "terminal.rekey", "terminal.unblock"} <= set(actions)


def test_a_leaked_api_key(shop: dict[str, str], bank: Bank, run: Run) -> None:
    made = run("apikey", "create", "--owner", "reporting", "--scope", "audit.read")
    leaked = str(made["token"])

    def answer(token: str) -> str:  # what the API's guard decides for a bearer token
        site = open_site_at(bank.folder / "var", {"ZHIFU_LMK": LMK})
        try:
            site.access.authenticate(token)
        except AccessError as exc:
            return exc.code
        finally:
            site.close()
        return "ok"

    assert answer(leaked) == "ok"

    def revoked(_: dict[str, object]) -> None:
        assert answer(leaked) == "api_key_revoked"

    def replaced(new: dict[str, object]) -> None:
        assert answer(str(new["token"])) == "ok"

    values = {**shop, "KEY_ID": str(made["key_id"]), "OWNER": "reporting", "SCOPE": "audit.read"}
    _play(runbooks()["An API key has leaked"], values, run, {
        "zhifu apikey revoke": revoked, "zhifu apikey create": replaced})  # fmt: skip


def test_a_suspected_breach(shop: dict[str, str], run: Run) -> None:
    assert _buy(run, shop, shop["OLD_STATE"])["approved"] is True

    def preserved(answer: dict[str, object]) -> None:
        assert Path(shop["EVIDENCE"]).stat().st_size > 0 and int(str(answer["files"])) >= 4

    def rotated(answer: dict[str, object]) -> None:
        assert answer["cards"] == 1 and answer["data_key_version"] == 2
        assert _buy(run, shop, shop["OLD_STATE"])["approved"] is True  # the issuer still reads

    _play(runbooks()["A breach is suspected"], shop, run, {
        "zhifu backup": preserved, "zhifu issuer rotate-data-keys": rotated})  # fmt: skip
