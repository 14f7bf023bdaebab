"""A throwaway PostgreSQL cluster for tests and benchmarks (Debian's binaries, 127.0.0.1 only).

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` user (the
Debian package creates it) and every server command runs through ``runuser``. The cluster lives
in a temporary directory (data, unix socket, log) and is removed when stopped.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_HINT = "install it with: bash scripts/ensure-system-packages.sh postgresql"


def find_bin() -> Path | None:
    """The newest Debian PostgreSQL bin directory that has initdb and pg_ctl, if any."""
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        folder = Path(initdb).parent
        if (folder / "pg_ctl").exists():
            try:
                found.append((int(folder.parent.name), folder))
            except ValueError:
                continue
    if found:
        return max(found)[1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """Start with :meth:`start`, get databases with :meth:`create_database`, :meth:`stop`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.base = Path(tempfile.mkdtemp(prefix="zhifu-pg-"))
        self.data = self.base / "data"
        self.port = 0
        self._user: str | None = None
        self._count = 0
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        os.chmod(self.base, 0o700)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(
            command, cwd=self.base, capture_output=True, text=True, check=check, timeout=120
        )

    def start(self, *, settings: dict[str, str] | None = None) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.base),
            "max_connections": "60",
            "fsync": "on",
            "synchronous_commit": "on",
            **(settings or {}),
        }
        for attempt in range(5):
            self.port = _free_port()
            opts = f"-p {self.port} " + " ".join(f"-c {k}={v}" for k, v in options.items())
            done = self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.base / "log"),
                "-w",
                "-t",
                "60",
                "-o",
                opts,
                "start",
                check=False,
            )
            if done.returncode == 0:
                return
            time.sleep(0.2 * (attempt + 1))
        log = (self.base / "log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"PostgreSQL did not start: {done.stderr}\n{log}")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, prefix: str = "ledger") -> str:
        """A new empty database; returns its URL."""
        import psycopg  # noqa: PLC0415 - only when PostgreSQL is there

        self._count += 1
        name = f"{prefix}_{os.getpid()}_{self._count}"
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)


# -- pytest fixtures (re-exported by the ledger conftest files) ------------------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster for the session: fails in CI when PostgreSQL is missing."""
    bin_dir = find_bin()
    missing = None
    if bin_dir is None:
        missing = f"PostgreSQL (initdb, pg_ctl) is not installed; {PACKAGE_HINT}"
    elif importlib.util.find_spec("psycopg") is None:
        missing = "the psycopg package is not installed (pip install 'psycopg[binary]')"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    assert bin_dir is not None
    cluster = Cluster(bin_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A fresh, empty PostgreSQL database."""
    return pg_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ledger database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_url"))
