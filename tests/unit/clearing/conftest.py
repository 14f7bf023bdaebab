"""Make ``clearing_helpers`` importable by the clearing tests (``--import-mode=importlib``), and
lend them the ledger tests' throwaway PostgreSQL cluster (for the event log)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

NAME = "clearing_helpers"
if NAME not in sys.modules:
    spec = importlib.util.spec_from_file_location(NAME, Path(__file__).with_name(f"{NAME}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    spec.loader.exec_module(module)


def _load_pgcluster() -> object:
    name = "zhifu_tests_pgcluster"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parents[1] / "ledger" / "pgcluster.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_pg = _load_pgcluster()
pg_cluster = _pg.pg_cluster  # type: ignore[attr-defined]
pg_url = _pg.pg_url  # type: ignore[attr-defined]
