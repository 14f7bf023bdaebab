"""The test terminal (``terminal_client.py``), loaded by path (``--import-mode=importlib``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

NAME = "zhifu_tests_acquirer_terminal"


def load_terminal_client() -> ModuleType:
    """The terminal_client module (loaded once)."""
    if NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            NAME, Path(__file__).with_name("terminal_client.py")
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[NAME]


@pytest.fixture(scope="session")
def tc() -> ModuleType:
    """The test-terminal module: TestTerminal, start_acquirer, enrol, form_tmk."""
    return load_terminal_client()
