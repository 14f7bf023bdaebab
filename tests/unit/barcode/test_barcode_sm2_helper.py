"""The SM2 signature-check helper process: real processes, real signatures. It answers like
the in-process check, it is the only child of its parent (no resource tracker), and it ends
when its parent is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from zhifu.barcode.api.sm2_helper import Sm2Helper
from zhifu.crypto import sm2
from zhifu.crypto.sm2_batch import verify_many

PARENT = """
import asyncio, sys, time
from zhifu.barcode.api.sm2_helper import Sm2Helper
helper = Sm2Helper()
async def main():
    return await helper.call((b"\\x04" + bytes(64), b"m", b""))
assert asyncio.run(main()) is False
print(helper.pid, flush=True)
time.sleep(60)
"""


def children_of(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of each process whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # ended meanwhile
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_helper_answers_as_the_in_process_check() -> None:
    private, public = sm2.generate_keypair()
    good = sm2.sign(private, b"hello")
    checks = [(public.point, b"hello", good), (public.point, b"other", good)]
    helper = Sm2Helper()

    async def main() -> list[bool]:
        return list(await asyncio.gather(*(helper.call(c) for c in checks)))

    try:
        answers = asyncio.run(main())
    finally:
        helper.close()
    assert answers == verify_many(checks) == [True, False]
    assert helper.pid is not None
    assert not running(helper.pid)  # closed: the helper ended and was reaped


def test_the_helper_ends_when_its_parent_is_killed() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert parent.stdout is not None
        helper_pid = int(parent.stdout.readline())
        assert [pid for pid, _ in children_of(parent.pid)] == [helper_pid]  # no tracker
        assert running(helper_pid)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while running(helper_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(helper_pid)
