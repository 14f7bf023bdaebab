"""Suite-wide: after the whole run, the canary scan of every file the tests left
(``tests/support/leakscan.py``); a clear card number or track 2 anywhere fails the run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _scanner() -> object:
    name = "zhifu_tests_leakscan"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parent / "support" / "leakscan.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On the controller (not an xdist worker), once every test has run: scan."""
    if hasattr(session.config, "workerinput") or session.testscollected < 100:
        return  # a worker, or a partial run: the suite-wide scan is for the whole suite
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    root = factory.getbasetemp()
    scanner = _scanner()
    public = frozenset(scanner.public_pans(Path(__file__).parent / "vectors"))  # type: ignore[attr-defined]
    found = list(scanner.leaks(root, public))  # type: ignore[attr-defined]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
    if found:
        if reporter is not None:
            reporter.write_line(
                f"canary scan: {len(found)} file(s) hold card data in clear:", red=True
            )
            for path, what in found[:20]:
                reporter.write_line(f"  {path.relative_to(root)}: {what}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        files = sum(1 for p in root.rglob("*") if p.is_file())
        reporter.write_line(
            f"canary scan: no card data in clear in the {files} files the tests left"
        )
