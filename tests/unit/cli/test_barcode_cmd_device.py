"""``zhifu barcode``: phones (device enroll, code), static codes and the demo, on real files.

A payment code printed by ``code --device`` must be accepted by the platform (it pays a
merchant enrolled by ``merchant add``); two codes never repeat, even from concurrent processes;
the device secret never reaches stdout or stderr.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.signing import SigningKey, load_private_key
from zhifu.barcode.codes.payment_code import CodeOutcome
from zhifu.barcode.codes.render import decode_image
from zhifu.cli.barcode import device as barcode_device
from zhifu.cli.main import main
from zhifu.core.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import BarcodeCli, Run


def test_a_printed_code_pays_a_cli_merchant(bc: BarcodeCli) -> None:
    bc.add_merchant()
    bc.open_wallet()
    device = bc.tmp / "phone.json"
    status, text, err = bc.enroll(device)
    assert (status, err) == (0, "")
    assert stat.S_IMODE(device.stat().st_mode) == 0o600
    provisioning = json.loads(device.read_text())
    secret = provisioning["secret"]
    assert len(bytes.fromhex(secret)) == 32
    assert (provisioning["institution"], provisioning["grade"]) == ("huanyu", "B")
    assert f"device {provisioning['handle']} enrolled at huanyu" in text
    first, second = bc.code(device), bc.code(device)
    assert first != second
    assert first.startswith("92" + provisioning["handle"])
    bc.hidden([secret, secret.upper()], text, err, first, second)

    system = bc.platform()
    order = system.flows.micropay("M1", "T1", first, 1234)
    assert (order.status.name, order.payer_institution, order.amount) == ("PAID", "huanyu", 1234)
    assert system.nodes["huanyu"].codes.check(second).outcome is CodeOutcome.ACCEPTED
    with pytest.raises(BarcodeError, match="auth_code_used"):
        system.flows.micropay("M1", "T2", first, 100)
    status, text, _ = bc.run("wallet", "balance", "--institution", "huanyu", "--account", "A1")
    assert text.strip() == "A1 at huanyu (C1): 87.66 yuan"


def test_codes_from_concurrent_processes_differ(bc: BarcodeCli) -> None:
    bc.open_wallet()
    device = bc.tmp / "phone.json"
    assert bc.enroll(device)[0] == 0
    argv = [sys.executable, "-m", "zhifu.cli", "barcode", "code", "--device", str(device)]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    assert len({out.strip() for out, _ in outputs}) == 4
    secret = json.loads(device.read_text())["secret"]
    bc.hidden([secret], *(out + err for out, err in outputs))


def test_code_png(bc: BarcodeCli) -> None:
    bc.open_wallet()
    device = bc.tmp / "phone.json"
    assert bc.enroll(device)[0] == 0
    png = bc.tmp / "code.png"
    shown = bc.code(device, "--png", str(png))
    assert decode_image(png) == [shown]
    again = bc.code(device, "--png", str(png))
    assert decode_image(png) == [again] != [shown]


def test_device_enroll_refusals(bc: BarcodeCli) -> None:
    bc.open_wallet()
    taken = bc.tmp / "taken.json"
    taken.write_text("{}")
    bc.refused(bc.enroll(taken), "--out")
    assert taken.read_text() == "{}"
    new = bc.tmp / "new.json"
    for argv, flag in (
        (("--institution", "huanyu", "--customer", "C2", "--account", "A1"), "--account"),
        (("--institution", "zhifu", "--customer", "C1", "--account", "A1"), "--account"),
        (("--institution", "unionpay", "--customer", "C1", "--account", "A1"), "--institution"),
    ):
        bc.refused(bc.run("device", "enroll", *argv, "--out", str(new)), flag)
    assert not new.exists()
    assert bc.platform().db.all("SELECT handle FROM devices") == []


def test_code_refusals(bc: BarcodeCli, capsys: pytest.CaptureFixture[str]) -> None:
    bc.open_wallet()
    device = bc.tmp / "phone.json"
    assert bc.enroll(device)[0] == 0
    good = json.loads(device.read_text())

    def shown(path: Path) -> Run:
        status = main(["barcode", "code", "--device", str(path)])
        out, err = capsys.readouterr()
        return status, out, err

    bc.refused(shown(bc.tmp / "missing.json"), "--device")
    for name, content in (
        ("not-json", "{"),
        ("other", json.dumps({"format": "something"})),
        ("no-secret", json.dumps({**good, "secret": "12"})),
        ("bad-handle", json.dumps({**good, "handle": "12"})),
        ("bad-step", json.dumps({**good, "last_step": "x"})),
        ("bad-institution", json.dumps({**good, "institution": "alipay"})),
    ):
        path = bc.tmp / f"{name}.json"
        path.write_text(content)
        line = bc.refused(shown(path), "--device")
        bc.hidden([good["secret"]], line)
    ahead = bc.tmp / "ahead.json"
    ahead.write_text(json.dumps({**good, "last_step": 10**10, "last_counter": 0}))
    assert "clock is behind" in bc.refused(shown(ahead), "--device")
    assert json.loads(ahead.read_text())["last_step"] == 10**10


@pytest.mark.parametrize("counters", [10, 3])
def test_next_position_never_repeats(counters: int) -> None:
    device: dict[str, object] = {"last_step": None, "last_counter": None}
    seen = set()
    for _ in range(counters):
        step, counter = barcode_device.next_position(device, 7, counters)
        device.update(last_step=step, last_counter=counter)
        seen.add((step, counter))
    assert len(seen) == counters
    with pytest.raises(UsageError, match="every code of this time step"):
        barcode_device.next_position(device, 7, counters)
    assert barcode_device.next_position(device, 8, counters) == (8, 0)
    with pytest.raises(UsageError, match="clock is behind"):
        barcode_device.next_position(device, 6, counters)


# -- static codes ----------------------------------------------------------------------------------


def test_static_code(bc: BarcodeCli) -> None:
    bc.add_merchant()
    png = bc.tmp / "static.png"
    status, text, err = bc.run("static-code", "M1", "--png", str(png))
    assert (status, err) == (0, "")
    url = text.splitlines()[0]
    assert url.startswith("https://pay.zhifu.test/qr/m/")
    assert decode_image(png) == [url]
    assert bc.ok_json("static-code", "M1")["url"] != url
    found = bc.platform().directory.collection_code("zhifu", url.rsplit("/", 1)[1])
    assert found is not None
    assert found[0] == "M1"
    bc.refused(bc.run("static-code", "M9"), "MERCHANT_ID")


# -- demo ------------------------------------------------------------------------------------------


def test_demo_twice(bc: BarcodeCli) -> None:
    first = bc.ok_json("demo")
    assert [(i["kind"], i["status"]) for i in first["items"]] == [
        ("merchant", "created"),
        ("key", "created"),
        ("wallet", "created"),
        ("wallet", "created"),
        ("device", "created"),
    ]
    status, text, err = bc.run("demo")
    assert (status, err) == (0, "")
    assert text.count(": exists") == 5
    assert "zhifu barcode code --device" in text
    assert "zhifu box --url http://127.0.0.1:8000 --merchant-id M100001" in text
    assert "ZHIFU_HOME=" in text  # home is <tmp>/var/barcode: the server needs ZHIFU_HOME
    second = bc.ok_json("demo")
    assert second["items"] == [{**i, "status": "exists"} for i in first["items"]]
    assert [i["balance"] for i in second["items"] if i["kind"] == "wallet"] == [100_000] * 2

    key_file, device_file = bc.home / "M100001-k1.pem", bc.home / "device-A100001.json"
    for path in (key_file, device_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = json.loads(device_file.read_text())["secret"]
    bc.hidden([*bc.pem_secrets(key_file.read_bytes()), secret], text, json.dumps(first))

    shown = bc.code(device_file)
    system = bc.platform()
    assert len(system.db.all("SELECT merchant_id FROM merchants")) == 1
    assert len(system.db.all("SELECT handle FROM devices")) == 1
    assert system.flows.micropay("M100001", "T1", shown, 1234).status.name == "PAID"
    algorithm, private = load_private_key(key_file.read_bytes())
    registered = system.directory.key("M100001-k1")
    assert registered is not None
    assert registered.verify(b"demo", SigningKey("M100001-k1", algorithm, private).sign(b"demo"))


def test_demo_recovers_a_lost_key_file(bc: BarcodeCli) -> None:
    bc.ok_json("demo")
    key_file = bc.home / "M100001-k1.pem"
    old = key_file.read_bytes()
    key_file.unlink()
    assert bc.ok_json("demo")["items"][1]["status"] == "created"
    new = key_file.read_bytes()
    assert new != old
    registered = bc.platform().directory.key("M100001-k1")
    assert registered is not None
    assert registered.public_key == load_private_key(new)[1].public_key
