"""A private ``pcscd`` with the vsmartcard ``vpcd`` driver, for the PC/SC integration tests.

The daemon gets its own reader configuration (two vpcd readers, ``Zhifu vpcd 00 00`` and
``00 01``, on a free pair of TCP ports) and, where a mount namespace can be had (``unshare``
as root, in a user namespace, or through password-less sudo), its own ``/run/pcscd``, so
that it never meets a system ``pcscd``; the client library is pointed at it with
``PCSCLITE_CSOCK_NAME``. Without a namespace it runs on the default socket, if no other
``pcscd`` holds it.

When something is missing (``pcscd``, the vpcd driver, ``pyscard``, OpenSC's ``opensc-tool``,
python-emv's ``emvtool``)
the tests are skipped, except with ``CI=true``, where they fail: ``make test`` installs all of
it.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

READER = "Zhifu vpcd"
WAIT = 15.0  # every wait is bounded by this many seconds
WATCHDOG = 120.0  # a hung PC/SC call kills the worker (with tracebacks) instead of hanging CI
DEFAULT_SOCKET = Path("/run/pcscd/pcscd.comm")
LOCK_PATH = Path(tempfile.gettempdir()) / "zhifu-pcscd-tests.lock"
LOCK_WAIT = 600.0  # the other worker's PC/SC test, at most
_BASE: Path | None = None
DRIVER_GLOBS = (
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so*",
    "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so*",
    "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so*",
    "/usr/lib/*/pcsc/drivers/serial/libifdvpcd.so*",
)
PACKAGES = "pcscd vsmartcard-vpcd libpcsclite-dev opensc"
# In the namespace: a private /run/pcscd (or a private /run when /run/pcscd cannot be made).
NAMESPACE_SCRIPT = """
ipc=$1; conf=$2
if mkdir -p /run/pcscd 2>/dev/null; then mount --bind "$ipc" /run/pcscd
else mount --bind "${ipc%/pcscd}" /run
fi || exit 97
exec pcscd --foreground --config "$conf"
"""


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail under CI (where make test has installed everything)."""
    message = f"PC/SC integration: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def find_pcscd() -> str | None:
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin:/usr/local/sbin"
    return shutil.which("pcscd", path=path)


def find_driver() -> Path | None:
    for pattern in DRIVER_GLOBS:
        for found in sorted(Path("/").glob(pattern.lstrip("/"))):
            return found
    return None


def free_port_pair() -> int:
    """A port p with p and p+1 both free (vpcd listens on one port per reader)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("0.0.0.0", 0))
            port = int(probe.getsockname()[1])
        if port >= 65535:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("0.0.0.0", port))
                b.bind(("0.0.0.0", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of TCP ports")


def _probe(prefix: list[str]) -> bool:
    """Whether ``prefix`` gives a mount namespace where mounting works."""
    probe = [*prefix, "sh", "-c", "mount -t tmpfs none /mnt 2>/dev/null || mount --bind / /mnt"]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=WAIT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def namespace_prefix() -> list[str] | None:
    """The command prefix that runs pcscd in a private mount namespace here, or None.

    As root: ``unshare --mount``; otherwise a user namespace (``unshare --user
    --map-root-user --mount``), else ``sudo -n unshare --mount`` when sudo needs no password.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    plain = [unshare, "--mount", "--propagation", "private"]
    if os.geteuid() == 0:
        return plain if _probe(plain) else None
    user = [unshare, "--user", "--map-root-user", "--mount", "--propagation", "private"]
    if _probe(user):
        return user
    sudo = shutil.which("sudo")
    if sudo is not None and _probe([sudo, "-n", *plain]):
        return [sudo, "-n", *plain]
    return None


def default_socket_busy() -> bool:
    if not DEFAULT_SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(DEFAULT_SOCKET))
        except OSError:
            return False
    return True


@dataclass
class PrivatePcscd:
    """A running pcscd: its vpcd port (reader 0; reader 1 is port + 1), socket, log."""

    port: int
    socket_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    isolated: bool

    def reader_name(self, index: int = 0) -> str:
        return f"{READER} 00 {index:02d}"

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(WAIT)


def _write_config(conf: Path, driver: Path, port: int) -> None:
    conf.mkdir()
    (conf / "zhifu-vpcd").write_text(
        f'FRIENDLYNAME "{READER}"\n'
        f"DEVICENAME   /dev/null:{port}\n"
        f"LIBPATH      {driver}\n"
        f"CHANNELID    {port}\n",
        encoding="ascii",
    )


def _start(pcscd: str, driver: Path, base: Path) -> PrivatePcscd:
    port = free_port_pair()
    conf, ipc = base / "reader.conf.d", base / "run" / "pcscd"
    _write_config(conf, driver, port)
    ipc.mkdir(parents=True)
    prefix = namespace_prefix()
    if prefix is not None:
        command = [*prefix, "sh", "-c", NAMESPACE_SCRIPT, "sh", str(ipc), str(conf)]
        socket_path = ipc / "pcscd.comm"
    elif not default_socket_busy():
        command = [pcscd, "--foreground", "--config", str(conf)]
        socket_path = DEFAULT_SOCKET
    else:
        unavailable(
            "another pcscd holds /run/pcscd and no mount namespace is available "
            "(unshare) to run a private one"
        )
    env = dict(os.environ, PATH=os.path.dirname(pcscd) + os.pathsep + os.environ["PATH"])
    log_path = base / "pcscd.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    return PrivatePcscd(port, socket_path, log_path, process, prefix is not None)


def _wait_ready(daemon: PrivatePcscd) -> None:
    deadline = time.monotonic() + WAIT
    while not daemon.socket_path.exists():
        if daemon.process.poll() is not None or time.monotonic() > deadline:
            daemon.stop()
            raise AssertionError(f"pcscd did not start:\n{daemon.log_tail()}")
        time.sleep(0.05)


@pytest.fixture
def opensc_tool() -> str:
    """OpenSC's ``opensc-tool``: a second PC/SC client, independent of pyscard and of zhifu."""
    tool = shutil.which("opensc-tool")
    if tool is None:
        unavailable(f"opensc-tool is not installed (apt-get install {PACKAGES})")
    return tool


@pytest.fixture
def emvtool() -> Path:
    """python-emv's ``emvtool`` console script in this interpreter's environment: a third
    PC/SC client, an EMV reader written without zhifu."""
    tool = Path(sys.executable).parent / "emvtool"
    if not tool.exists():
        unavailable("python-emv's emvtool is not installed (make deps installs emv==1.0.14)")
    return tool


@contextmanager
def _one_daemon_at_a_time() -> Iterator[None]:
    """Hold a machine-wide lock (pytest-xdist workers run test files side by side)."""
    deadline = time.monotonic() + LOCK_WAIT
    with LOCK_PATH.open("w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{LOCK_PATH} held for over {LOCK_WAIT:.0f} s") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _process_base() -> Path:
    """This process's folder for the daemons, the same for each: libpcsclite reads
    PCSCLITE_CSOCK_NAME once per process, so every daemon must use the same socket path."""
    global _BASE  # noqa: PLW0603 - one per process, by design
    if _BASE is None:
        _BASE = Path(tempfile.mkdtemp(prefix="zhifu-pcscd-"))
        atexit.register(shutil.rmtree, _BASE, ignore_errors=True)
    for child in _BASE.iterdir():  # what the last daemon left: its socket above all
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    return _BASE


@pytest.fixture
def private_pcscd() -> Iterator[PrivatePcscd]:
    """A private pcscd with two vpcd readers, stopped after the test."""
    pcscd = find_pcscd()
    if pcscd is None:
        unavailable(f"pcscd is not installed (apt-get install {PACKAGES})")
    driver = find_driver()
    if driver is None:
        unavailable(f"the vpcd driver is not installed (apt-get install {PACKAGES})")
    if importlib.util.find_spec("smartcard") is None:
        unavailable("pyscard is not installed (pip install pyscard; needs libpcsclite-dev)")
    assert pcscd is not None and driver is not None
    with contextlib.ExitStack() as stack:
        stack.enter_context(_one_daemon_at_a_time())
        faulthandler.dump_traceback_later(WATCHDOG, exit=True)
        stack.callback(faulthandler.cancel_dump_traceback_later)
        daemon = _start(pcscd, driver, _process_base())
        stack.callback(daemon.stop)
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        # read once per process by libpcsclite, at the first PC/SC call
        patch.setenv("PCSCLITE_CSOCK_NAME", str(daemon.socket_path))
        _wait_ready(daemon)
        yield daemon
