"""zhifu.toml: the table of settings, the order of sources, refusals naming the key."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from zhifu.cli.main import main
from zhifu.cli.settings import SETTINGS, example_toml, load_settings
from zhifu.core.errors import UsageError


def test_the_table() -> None:
    keys = [s.key for s in SETTINGS]
    assert len(set(keys)) == len(keys) and all(k.count(".") == 1 for k in keys)
    assert all(s.env.startswith("ZHIFU_") and s.help for s in SETTINGS)
    assert all(isinstance(s.default, s.kind) for s in SETTINGS)
    example = tomllib.loads(example_toml())  # the example parses and holds every default
    assert {f"{a}.{b}": v for a, t in example.items() for b, v in t.items()} == {
        s.key: s.default for s in SETTINGS
    }


def test_environment_over_file_over_default(tmp_path: Path) -> None:
    path = tmp_path / "zhifu.toml"
    path.write_text('[web]\nport = 9000\nhost = "127.0.0.2"\n[clearing]\nenabled = false\n')
    found = load_settings(path, environ={"ZHIFU_HOST": "127.0.0.3"})
    assert found.value("web.port") == 9000 and found.source("web.port") == f"file {path}"
    assert found.value("web.host") == "127.0.0.3" and found.source("web.host").startswith("env")
    assert found.value("clearing.enabled") is False
    assert found.value("acquirer.port") == 5800 and found.source("acquirer.port") == "default"


@pytest.mark.parametrize(
    ("text", "argument", "says"),
    [
        ("[web]\nprot = 1\n", "web.prot", "did you mean 'web.port'"),
        ('[web]\nport = "8000"\n', "web.port", "must be int"),
        ("[acquirer]\nenabled = 1\n", "acquirer.enabled", "must be bool"),
        ("web = 1\n", "web", "must be a table"),
        ("[web\n", "--config", "is not TOML"),
    ],
)
def test_a_bad_file_is_refused_naming_the_key(
    tmp_path: Path, text: str, argument: str, says: str
) -> None:
    path = tmp_path / "zhifu.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        load_settings(path, environ={})
    assert caught.value.argument == argument and says in str(caught.value)


def test_a_bad_environment_value_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        load_settings(None, environ={"ZHIFU_PORT": "eighty"})
    assert caught.value.argument == "ZHIFU_PORT"


def test_config_show_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZHIFU_HOME", raising=False)
    path = tmp_path / "zhifu.toml"
    path.write_text("[acquirer]\nport = 5999\n")
    assert main(["config", "show", "--config", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["key"]: r for r in out["settings"]}
    assert rows["acquirer.port"]["value"] == 5999 and rows["web.port"]["source"] == "default"
    assert main(["config", "show", "--config", str(tmp_path / "none.toml")]) == 2
