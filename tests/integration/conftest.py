"""Fixtures every integration test may use: a throwaway PostgreSQL cluster on a free port
(``pg_cluster``, ``pg_url``) and ledger URLs on both databases (``ledger_url``), from
``tests/unit/ledger/pgcluster.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _load_pgcluster() -> object:
    name = "zhifu_tests_pgcluster"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parents[1] / "unit" / "ledger" / "pgcluster.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_pg = _load_pgcluster()
pg_cluster = _pg.pg_cluster  # type: ignore[attr-defined]
pg_url = _pg.pg_url  # type: ignore[attr-defined]
ledger_url = _pg.ledger_url  # type: ignore[attr-defined]
