"""The command line's answers to the mistakes people make.

Each mistake gets one line on stderr naming the option as the user typed it (``zhifu: error:
--timeout: ...``), nothing on stdout, exit status 2, and creates nothing; never "internal
error". Real files, a real ``zhifu serve`` and real sockets on 127.0.0.1; the commands that
would start a server if their check failed run as subprocesses with a timeout.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from zhifu.cli.main import main
from zhifu.crypto import sm2

BOX = "box --merchant-id M100001 --key-id M100001-k1 --amount 12.34"


@dataclass(frozen=True)
class Mistake:
    argv: str  # shlex text; {name} is a path or port of the World
    option: str  # what the error line names first
    says: str = ""  # a piece of the message
    absent: str = ""  # a path that must still not exist afterwards
    env: dict[str, str] = field(default_factory=dict)
    subprocess: bool = False


BOX_OK = f"{BOX} --url http://127.0.0.1:{{free}} --key {{key}} --image {{code}}"
SCENARIO_TYPOS = {  # what is misspelt -> what the error says
    "reciept": "items[1].reciept: unknown key; did you mean 'receipt'?",
    "config": "config.recipt_days: unknown key; did you mean 'receipt_days'?",
    "caps": "participants[0].caps.NCP: unknown key; did you mean 'NPC'?",
    "event": (
        "events[1].type: one of receipt, revoke, return, cap, fund, gridlock, stop, "
        "stop_answer, reverse, agreement, agreement_revoke, earmark, settlement_time; "
        "did you mean 'cap'?"
    ),
    "top": "itmes: unknown key; did you mean 'items'?",
}
MISTAKES = {
    # 1. the box's server at --url does not answer
    "box: nothing listens at --url": Mistake(BOX_OK, "--url", "does not answer"),
    "box: no answer in time": Mistake(
        f"{BOX} --url http://127.0.0.1:{{silent}} --key {{key}} --image {{code}} --timeout 0.3",
        "--url",
        "outcome is unknown: ask again with the same --image and --out-trade-no BOX00001-",
    ),
    # 2. timeouts
    **{
        f"box --timeout {value}": Mistake(f"{BOX_OK} --timeout {value}", "--timeout", "seconds")
        for value in ("-1", "0", "nan", "inf", "soon", "86400")
    },
    "acquirer run --first-frame-timeout -5": Mistake(
        "acquirer run --first-frame-timeout -5", "--first-frame-timeout", "seconds"
    ),
    "acquirer run --max-per-address 0": Mistake(
        "acquirer run --max-per-address 0", "--max-per-address", "at least 1"
    ),
    # 3. ports in use: both of `serve` are checked before anything starts
    "serve: web port in use": Mistake(
        "serve --port {busy} --acquirer-port {free}",
        "--port",
        "127.0.0.1:{busy} is already in use",
        absent="{home}/acquirer.db",
        env={"ZHIFU_HOME": "{home}"},
        subprocess=True,
    ),
    "serve: acquirer port in use": Mistake(
        "serve --port {free} --acquirer-port {busy}",
        "--acquirer-port",
        "127.0.0.1:{busy} is already in use",
        absent="{home}/lmk.key",
        env={"ZHIFU_HOME": "{home}"},
        subprocess=True,
    ),
    "serve: one port for both": Mistake(
        "serve --port {free} --acquirer-port {free}", "--acquirer-port", subprocess=True
    ),
    "acquirer run: port in use": Mistake(
        "acquirer run --port {busy}",
        "--port",
        "127.0.0.1:{busy} is already in use",
        absent="{home}/acquirer.db",
        env={"ZHIFU_HOME": "{home}"},
        subprocess=True,
    ),
    # 4. addresses
    "serve --host 256.1.1.1": Mistake("serve --host 256.1.1.1", "--host", "not an IP address"),
    "acquirer run --host 256.1.1.1": Mistake("acquirer run --host 256.1.1.1", "--host"),
    "serve: not this machine's address": Mistake(
        "serve --host 192.0.2.1 --port {free}",
        "--host",
        "not an address of this machine",
        subprocess=True,
    ),
    # 5. stores that must exist are never created
    "ledger check: not a database": Mistake(
        "ledger check --database {text}", "--database", "not a SQLite database"
    ),
    "ledger check: no such file": Mistake(
        "ledger check --database {typo}.db", "--database", "nothing was created", "{typo}.db"
    ),
    "ledger check: another store": Mistake(
        "ledger check --database {platform}/barcode.db", "--database", "not a ledger"
    ),
    "barcode: --home of a typo": Mistake(
        "barcode --home {typo} merchant list", "--home", "nothing was created", "{typo}"
    ),
    "barcode: ZHIFU_HOME of a typo": Mistake(
        "barcode wallet balance --institution zhifu --account A1",
        "ZHIFU_HOME",
        absent="{typo}",
        env={"ZHIFU_HOME": "{typo}"},
    ),
    "acquirer terminals: no database": Mistake(
        "acquirer terminals",
        "ZHIFU_HOME",
        "no acquirer database",
        "{typo}",
        {"ZHIFU_HOME": "{typo}"},
    ),
    "acquirer journal: no database": Mistake(
        "acquirer journal", "ZHIFU_HOME", absent="{typo}", env={"ZHIFU_HOME": "{typo}"}
    ),
    "clearing: no state file": Mistake(
        "clearing rounds --state {typo}.json", "--state", absent="{typo}.json"
    ),
    "clearing calendar: no --home": Mistake("clearing calendar --home {typo}", "--home"),
    # 6. a file of another kind where a key is expected
    **{
        f"box --key {kind}": Mistake(
            f"{BOX} --url http://127.0.0.1:{{free}} --key {{{kind}}} --image {{code}}", "--key"
        )
        for kind in ("card", "code", "json", "public")
    },
    **{
        f"key add --public-key {kind}": Mistake(
            f"barcode --home {{platform}} key add --principal merchant:M100001 --key-id k9 "
            f"--public-key {{{kind}}}",
            "--public-key",
        )
        for kind in ("card", "code", "json", "key")
    },
    "box --image of text": Mistake(
        f"{BOX} --url http://127.0.0.1:{{free}} --key {{key}} --image {{text}}", "--image"
    ),
    "barcode code --device of an image": Mistake("barcode code --device {code}", "--device"),
    # 7. the option the user typed, not the library's name for it
    "box --url ftp": Mistake(f"{BOX} --url ftp://x --key {{key}} --image {{code}}", "--url"),
    "box --image missing": Mistake(
        f"{BOX} --url http://127.0.0.1:{{free}} --key {{key}} --image {{typo}}.png", "--image"
    ),
    "register-terminal --merchant": Mistake(
        "acquirer register-terminal --merchant 1 --terminal 10000001",
        "--merchant",
        absent="{typo}",
        env={"ZHIFU_HOME": "{typo}"},
    ),
    "register-terminal --terminal": Mistake(
        "acquirer register-terminal --merchant 898100012345678 --terminal 1",
        "--terminal",
        absent="{typo}",
        env={"ZHIFU_HOME": "{typo}"},
    ),
    "ledger check mysql": Mistake("ledger check --database mysql://x", "--database"),
    "serve --port 70000": Mistake("serve --port 70000", "--port"),
    "acquirer run --db": Mistake("acquirer run --db {text} --port {free}", "--db"),
    "clearing calendar --file": Mistake("clearing calendar --file {text}", "--file"),
    "iso8583 encode --mac-key": Mistake(
        'iso8583 encode --mac-key 00 \'{{"mti": "0800", "fields": {{}}}}\'', "--mac-key"
    ),
    "sm2 encrypt of nothing": Mistake(
        f"crypto sm2 encrypt --public-key {sm2.generate_keypair()[1].to_bytes().hex()} ''", "HEX"
    ),
    "sm2 decrypt of a scrap": Mistake(f"crypto sm2 decrypt --private-key {'11' * 32} 00", "HEX"),
    "qr encode --mcc": Mistake(
        "qr encode --gui g --merchant-id 1 --merchant-name N --city C --mcc 12", "--mcc"
    ),
    "qr decode --image of text": Mistake("qr decode --image {text}", "--image"),
    # 8. a clearing scenario with a key the format does not know
    **{
        f"simulate: {name}": Mistake(f"clearing simulate {{scenario_{name}}}", "DAY.json", says)
        for name, says in SCENARIO_TYPOS.items()
    },
}


@dataclass
class World:
    root: Path
    values: dict[str, str]

    def fill(self, text: str) -> str:
        return text.format(**self.values)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening() -> socket.socket:
    """A socket that listens and never accepts: connections wait in its backlog."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


def _quiet_main(argv: list[str]) -> None:
    with open(os.devnull, "w") as null:
        out, sys.stdout = sys.stdout, null
        try:
            assert main(argv) == 0
        finally:
            sys.stdout = out


def _scenarios(root: Path) -> dict[str, str]:
    base = json.loads((Path(__file__).parents[3] / "docs/examples/clearing-day.json").read_text())
    out = {}
    for name in SCENARIO_TYPOS:
        data = json.loads(json.dumps(base))
        if name == "reciept":
            data["items"][1]["reciept"] = data["items"][1].pop("receipt")
        elif name == "config":
            data["config"]["recipt_days"] = 2
        elif name == "caps":
            data["participants"][0]["caps"]["NCP"] = data["participants"][0]["caps"].pop("NPC")
        elif name == "event":
            data["events"][1]["type"] = "cpa"
        else:
            data["itmes"] = data.pop("items")
        path = root / f"day-{name}.json"
        path.write_text(json.dumps(data))
        out[f"scenario_{name}"] = str(path)
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("mistakes")
    platform = root / "platform"
    _quiet_main(["barcode", "--home", str(platform), "demo"])
    device, code = platform / "device-A100001.json", root / "code.png"
    _quiet_main(["barcode", "code", "--device", str(device), "--png", str(code)])
    _quiet_main(["card", "issue", "--profile", "pboc-reference", "--out", str(root / "card.json")])
    (root / "random.json").write_text('{"a": 1}')
    (root / "notes.txt").write_text("not a database, not an image, not a key\n")
    (root / "public.pem").write_text(sm2.public_key_to_pem(sm2.generate_keypair()[1]))
    silent, busy = _listening(), _listening()
    values = {
        "platform": str(platform),
        "key": str(platform / "M100001-k1.pem"),
        "code": str(code),
        "card": str(root / "card.json"),
        "json": str(root / "random.json"),
        "text": str(root / "notes.txt"),
        "public": str(root / "public.pem"),
        "typo": str(root / "typo"),
        "home": str(root / "home"),
        "free": str(_free_port()),
        "silent": str(silent.getsockname()[1]),
        "busy": str(busy.getsockname()[1]),
        **_scenarios(root),
    }
    yield World(root, values)
    silent.close()
    busy.close()


def _run(
    world: World, mistake: Mistake, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    argv = shlex.split(world.fill(mistake.argv)) + list(extra)
    env = {k: world.fill(v) for k, v in mistake.env.items()}
    if mistake.subprocess:
        done = subprocess.run(
            [sys.executable, "-m", "zhifu.cli", *argv],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, **env}, cwd=world.root,
        )  # fmt: skip
        return done.returncode, done.stdout, done.stderr
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's complaints
        status = int(exc.code or 0)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("name", list(MISTAKES))
def test_a_mistake_is_one_line_naming_the_option(
    name: str, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    mistake = MISTAKES[name]
    status, out, err = _run(world, mistake, capsys)
    assert (status, out) == (2, ""), err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"zhifu: error: {mistake.option}: "), err
    assert world.fill(mistake.says) in err
    assert "internal error" not in err and "Traceback" not in err
    if mistake.absent:
        assert not Path(world.fill(mistake.absent)).exists(), "a mistake created something"


@pytest.mark.parametrize("name", [n for n, m in MISTAKES.items() if not m.subprocess][::4])
def test_json_does_not_change_how_a_mistake_is_told(
    name: str, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(world, MISTAKES[name], capsys, "--json")
    assert (status, out) == (2, "")
    assert err.startswith(f"zhifu: error: {MISTAKES[name].option}: ") and err.count("\n") == 1
    assert "{" not in err.partition(": error: ")[2][:3]  # no JSON document


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[str]:
    """`zhifu serve` (web app only) on the demo platform, as `make run` has it."""
    port = _free_port()
    home = world.root / "served"
    env = {**os.environ, "ZHIFU_HOME": str(home)}
    _quiet_main(["barcode", "--home", str(home / "barcode"), "demo"])
    argv = ["serve", "--no-acquirer", "--no-clearing", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhifu.cli", *argv],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except OSError:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_a_refusal_tells_its_reason_in_text_too(
    world: World, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A negative answer is exit status 1, with the reason code and its meaning, as --json."""
    argv = shlex.split(world.fill(f"{BOX} --key {{key}} --image {{code}}"))
    argv[argv.index("M100001-k1")] = "M999999-k1"  # a key id the server does not know
    assert main([*argv, "--url", server]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        "收款失败 请重试",
        "reason: key_unknown: the key id of the request is not registered",
    ]
    assert main([*argv, "--url", server, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["error_code"], data["error_message"]) == (
        "key_unknown",
        "the key id of the request is not registered",
    )


def test_argparse_complaints_are_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, option in (
        (["crypto", "hash", "--alg", "md5", "00"], "--alg"),
        (["acquirer", "journal", "--last", "many"], "--last"),
        (["box", "--url", "http://127.0.0.1:1"], "the following arguments are required"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1
        assert err.startswith(f"zhifu: error: {option}"), err
