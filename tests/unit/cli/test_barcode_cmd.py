"""``zhifu barcode``: the command tree, merchants, keys and wallets, on real platform files.

Each command runs through ``zhifu.cli.main.main`` (the ``bc`` fixture of conftest.py) on a
platform folder in tmp_path, which is then opened with :class:`BarcodeSystem` to check what is
really there. Private keys must never reach stdout or stderr. Devices, payment codes, static
codes and the demo are in test_barcode_cmd_device.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from zhifu.barcode.api.signing import SigningKey, load_private_key, public_key_pem
from zhifu.cli.barcode.support import platform_sealer
from zhifu.cli.main import build_parser, main
from zhifu.crypto import rsa, sm2

if TYPE_CHECKING:
    from .conftest import BarcodeCli, Run


# -- the command tree ------------------------------------------------------------------------------


def _barcode_commands() -> list[tuple[str, ...]]:
    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [prefix]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found += walk(sub, (*prefix, name))
        return found

    top = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return walk(top.choices["barcode"], ("barcode",))


@pytest.mark.parametrize("command", _barcode_commands(), ids=" ".join)
def test_every_command_has_help(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: zhifu {' '.join(command)}")
    assert len(out.splitlines()) > 3


def test_the_tree_has_every_command() -> None:
    names = {" ".join(c[1:]) for c in _barcode_commands()}
    expected = (
        "merchant add|merchant list|key generate|key add|key list|key platform|wallet open|"
        "wallet top-up|wallet balance|device enroll|code|static-code|demo"
    )
    assert set(expected.split("|")) <= names


def test_help_in_a_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zhifu.cli", "barcode", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for word in ("merchant", "key", "wallet", "device", "code", "static-code", "demo", "--home"):
        assert word in proc.stdout


def test_default_home_is_the_web_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from zhifu.cli.barcode.support import default_home  # noqa: PLC0415
    from zhifu.web.routes.barcode.common import default_home as web_home  # noqa: PLC0415

    monkeypatch.setenv("ZHIFU_HOME", str(tmp_path / "z"))
    assert default_home() == web_home() == tmp_path / "z" / "barcode"
    assert main(["barcode", "merchant", "list", "--json"]) == 2  # nothing there yet
    assert capsys.readouterr().err.startswith("zhifu: error: ZHIFU_HOME: there is no barcode")
    assert not (tmp_path / "z").exists()
    assert main(["barcode", "merchant", "add", "M1", "--institution", "zhifu", "--name", "N"]) == 0
    assert "(a new barcode platform was created in" in capsys.readouterr().out
    assert main(["barcode", "merchant", "list", "--json"]) == 0
    assert [m["merchant_id"] for m in json.loads(capsys.readouterr().out)["merchants"]] == ["M1"]
    assert (tmp_path / "z" / "barcode" / "barcode.db").exists()
    monkeypatch.delenv("ZHIFU_HOME")
    assert default_home() == web_home() == Path("var/barcode")
    monkeypatch.setenv("ZHIFU_HOME", "")  # empty counts as unset, in both
    assert default_home() == web_home() == Path("var/barcode")


def test_home_may_follow_the_command_name(
    bc: BarcodeCli, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["M1", "--institution", "zhifu", "--name", "N", "--home", str(bc.home)]
    assert main(["barcode", "merchant", "add", *argv]) == 0
    assert (bc.home / "barcode.db").exists()
    assert main(["barcode", "merchant", "list", "--home", str(bc.home)]) == 0
    assert "M1" in capsys.readouterr().out.splitlines()[-1]
    (bc.tmp / "plain").write_text("x")
    bc.refused(bc.run("merchant", "list", home=bc.tmp / "plain"), "--home")


# -- merchants ------------------------------------------------------------------------------------


def test_merchant_add_and_list(bc: BarcodeCli) -> None:
    expected = {
        "merchant_id": "M1",
        "institution": "huanyu",
        "name": "面馆 Noodles",
        "kind": "personal",
        "mcc": "5814",
        "fee_bp": 60,
        "notify_url": "http://127.0.0.1:9/notify",
    }
    options = ("--kind", "personal", "--mcc", "5814", "--fee-bp", "60")
    added = bc.ok_json(
        "merchant", "add", "M1", "--institution", "huanyu", "--name", "面馆 Noodles", *options,
        "--notify-url", "http://127.0.0.1:9/notify",
    )  # fmt: skip
    assert added == {**expected, "platform_created": True}
    bc.add_merchant("M0")
    defaults = {"institution": "zhifu", "name": "Noodles", "kind": "merchant", "mcc": "5812"}
    assert bc.ok_json("merchant", "list")["merchants"] == [
        {**expected, **defaults, "merchant_id": "M0", "fee_bp": 38, "notify_url": None},
        expected,
    ]
    status, out, _ = bc.run("merchant", "list")
    assert status == 0
    head = "merchant_id  institution  name          kind      mcc   fee_bp  notify_url"
    assert out.splitlines()[0] == head
    assert out.splitlines()[2].startswith("M1           huanyu       面馆 Noodles  personal  5814")


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (("M1", "--name", "Again"), "ID"),
        (("M 2", "--name", "X"), "ID"),
        (("M2", "--name", "X", "--institution", "alipay"), "--institution"),
        (("M2", "--name", "X", "--fee-bp", "1.5"), "--fee-bp"),
        (("M2", "--name", "X", "--fee-bp", "10001"), "--fee-bp"),
        (("M2", "--name", "X", "--mcc", "58"), "--mcc"),
        (("M2", "--name", " "), "--name"),
        (("M2", "--name", "X", "--notify-url", "ftp://x"), "--notify-url"),
    ],
)
def test_merchant_refusals(argv: tuple[str, ...], flag: str, bc: BarcodeCli) -> None:
    bc.add_merchant("M1")
    bc.refused(bc.run("merchant", "add", "--institution", "zhifu", *argv), flag)
    merchants = bc.ok_json("merchant", "list")["merchants"]
    assert [(m["merchant_id"], m["name"]) for m in merchants] == [("M1", "Noodles")]


# -- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["SM2-SM3", "RSA-SHA256"])
def test_key_generate(algorithm: str, bc: BarcodeCli) -> None:
    bc.add_merchant()
    out = bc.tmp / "m1.pem"
    argv = ("--principal", "merchant:M1", "--key-id", "M1-k1", "--algorithm", algorithm)
    status, text, err = bc.run("key", "generate", *argv, "--out", str(out))
    assert (status, err) == (0, "")
    assert f"key M1-k1 ({algorithm}) registered for merchant:M1" in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    pem = out.read_bytes()
    bc.hidden(bc.pem_secrets(pem), text, err)
    assert "PRIVATE" not in text
    found_algorithm, private = load_private_key(pem)
    assert found_algorithm == algorithm
    registered = bc.platform().directory.key("M1-k1")
    assert registered is not None
    assert (registered.principal, registered.algorithm) == ("merchant:M1", algorithm)
    message = b"ZHIFU-SIGN-1\nPOST\n/v1/micropay\n"
    assert registered.verify(message, SigningKey("M1-k1", algorithm, private).sign(message))


def test_key_generate_refusals(bc: BarcodeCli) -> None:
    bc.add_merchant()
    taken = bc.tmp / "taken.pem"
    taken.write_text("keep me")
    new = bc.tmp / "new.pem"

    def generate(principal: str, key_id: str, out: Path) -> Run:
        argv = ("--principal", principal, "--key-id", key_id, "--out", str(out))
        return bc.run("key", "generate", *argv)

    bc.refused(generate("merchant:M1", "M1-k1", taken), "--out")
    assert taken.read_text() == "keep me"
    bc.refused(generate("merchant:M9", "M9-k1", new), "--principal")
    bc.refused(generate("acquirer:zhifu", "x-1", new), "--principal")
    bc.refused(generate("institution:alipay", "x-1", new), "--principal")
    bc.refused(generate("merchant:M1", "bad key id", new), "--key-id")
    assert not new.exists()
    assert generate("merchant:M1", "M1-k1", new)[0] == 0
    other = bc.tmp / "other.pem"
    assert "already registered" in bc.refused(generate("merchant:M1", "M1-k1", other), "--key-id")
    assert not other.exists()


def test_key_add(bc: BarcodeCli) -> None:
    public = sm2.generate_keypair()[1]
    pub_file = bc.tmp / "inst.pub.pem"
    pub_file.write_text(sm2.public_key_to_pem(public))
    argv = ("--principal", "institution:huanyu", "--key-id", "huanyu-k1")
    data = bc.ok_json("key", "add", *argv, "--public-key", str(pub_file))
    assert data == {
        "key_id": "huanyu-k1",
        "principal": "institution:huanyu",
        "algorithm": "SM2-SM3",
        "fingerprint": hashlib.sha256(sm2.public_key_to_der(public)).hexdigest(),
        "platform_created": True,  # an institution's key may start a platform
    }
    registered = bc.platform().directory.key("huanyu-k1")
    assert registered is not None
    assert registered.public_key == public


def test_key_add_refusals(bc: BarcodeCli) -> None:
    bc.add_merchant()
    files = {
        "private": sm2.private_key_to_pem(sm2.generate_keypair()[0]),
        "junk": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "small": rsa.public_key_to_pem(rsa.generate_rsa_key(1024).public_key),
        "good": rsa.public_key_to_pem(rsa.generate_rsa_key(2048).public_key),
    }
    for name, text in files.items():
        (bc.tmp / f"{name}.pem").write_text(text)

    def add(principal: str, key_id: str, name: str) -> Run:
        argv = ("--principal", principal, "--key-id", key_id)
        return bc.run("key", "add", *argv, "--public-key", str(bc.tmp / f"{name}.pem"))

    result = add("merchant:M1", "M1-k1", "private")
    assert "private key" in bc.refused(result, "--public-key")
    bc.hidden(bc.pem_secrets(files["private"].encode()), result[1], result[2])
    for name in ("junk", "small", "missing"):
        bc.refused(add("merchant:M1", "M1-k1", name), "--public-key")
    bc.refused(add("merchant:M2", "M2-k1", "good"), "--principal")
    assert add("merchant:M1", "M1-k1", "good")[0] == 0
    bc.refused(add("merchant:M1", "M1-k1", "good"), "--key-id")


def test_key_list_and_platform(bc: BarcodeCli) -> None:
    bc.refused(bc.run("key", "list"), "--home")  # no platform there: nothing is created
    assert not bc.home.exists()
    bc.add_merchant()
    assert bc.ok_json("key", "list") == {"keys": []}
    out = bc.tmp / "m1.pem"
    bc.run("key", "generate", "--principal", "merchant:M1", "--key-id", "M1-k1", "--out", str(out))
    public = load_private_key(out.read_bytes())[1].public_key
    assert isinstance(public, sm2.Sm2PublicKey)
    fingerprint = hashlib.sha256(sm2.public_key_to_der(public)).hexdigest()
    key = {"key_id": "M1-k1", "principal": "merchant:M1", "algorithm": "SM2-SM3"}
    assert bc.ok_json("key", "list") == {"keys": [{**key, "fingerprint": fingerprint}]}
    status, text, _ = bc.run("key", "list")
    assert status == 0
    assert f"M1-k1   merchant:M1  SM2-SM3    SHA256:{fingerprint[:16]}" in text
    assert "BEGIN" not in text
    assert bc.ok_json("key", "list", "--principal", "merchant:M2") == {"keys": []}

    keys = bc.ok_json("key", "platform")["keys"]
    assert [(k["key_id"], k["principal"], k["public_key_pem"]) for k in keys] == [
        (k.key_id, k.principal, public_key_pem(k.public_key)) for k in bc.platform().platform_keys()
    ]
    status, text, _ = bc.run("key", "platform")
    assert text.count("BEGIN PUBLIC KEY") == 3
    assert "PRIVATE" not in text
    sealer = platform_sealer(bc.home)  # the key files are sealed under the LMK
    for name in ("zhifu", "huanyu", "qingniao"):
        sealed = (bc.home / f"{name}-notify.pem.sealed").read_bytes()
        bc.hidden(bc.pem_secrets(sealer.unseal(f"{name}-notify.pem", sealed)), text)


# -- wallets ---------------------------------------------------------------------------------------


def test_wallet_open_top_up_balance(bc: BarcodeCli) -> None:
    who = ("--institution", "qingniao", "--account", "A1")
    opened = bc.ok_json("wallet", "open", *who, "--customer", "C1", "--agreed-limit", "500.5")
    assert opened["agreed_limit"] == 50050
    first = bc.ok_json("wallet", "top-up", *who, "--amount", "100.07", "--reference", "R1")
    assert (first["created"], first["amount"], first["balance"]) == (True, 10007, 10007)
    again = bc.ok_json("wallet", "top-up", *who, "--amount", "100.07", "--reference", "R1")
    assert (again["created"], again["balance"]) == (False, 10007)
    status, text, _ = bc.run("wallet", "top-up", *who, "--amount", "0.03", "--reference", "R2")
    assert status == 0
    assert text.strip() == "topped up 0.03 yuan; balance of A1 at qingniao: 100.10 yuan"
    assert bc.ok_json("wallet", "balance", *who) == {
        "institution": "qingniao",
        "account_id": "A1",
        "customer_id": "C1",
        "balance": 10010,
        "agreed_limit": 50050,
    }


OPEN = ("open", "--institution", "zhifu", "--customer", "C2")
TOP_UP = ("top-up", "--institution", "zhifu", "--account", "A1")


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        ((*OPEN, "--account", "A1"), "--account"),
        (("open", "--institution", "wechat", "--customer", "C2", "--account", "A2"),
         "--institution"),
        ((*OPEN, "--account", "A2", "--agreed-limit", "1e3"), "--agreed-limit"),
        ((*TOP_UP, "--amount", "12.345", "--reference", "R2"), "--amount"),
        ((*TOP_UP, "--amount", "-1", "--reference", "R2"), "--amount"),
        ((*TOP_UP, "--amount", "0.00", "--reference", "R2"), "--amount"),
        ((*TOP_UP, "--amount", "1,00", "--reference", "R2"), "--amount"),
        ((*TOP_UP, "--amount", "5.00", "--reference", "R1"), "--reference"),
        ((*TOP_UP, "--amount", "5.00", "--reference", "bad ref"), "--reference"),
        (("top-up", "--institution", "zhifu", "--account", "A9", "--amount", "5.00",
          "--reference", "R3"), "--account"),
        (("balance", "--institution", "huanyu", "--account", "A1"), "--account"),
    ],
)  # fmt: skip
def test_wallet_refusals(argv: tuple[str, ...], flag: str, bc: BarcodeCli) -> None:
    bc.run("wallet", "open", "--institution", "zhifu", "--customer", "C1", "--account", "A1")
    bc.run("wallet", *TOP_UP, "--amount", "1.00", "--reference", "R1")
    bc.refused(bc.run("wallet", *argv), flag)
    balance = bc.ok_json("wallet", "balance", "--institution", "zhifu", "--account", "A1")
    assert (balance["customer_id"], balance["balance"]) == ("C1", 100)
