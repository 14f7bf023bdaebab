"""Make ``clearing_helpers`` importable by the clearing tests (``--import-mode=importlib``)."""

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
