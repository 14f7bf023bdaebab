"""The running services the console's pages look at, kept in the app's state.

``zhifu serve`` hands the app what it started in the same process: ``acquirer`` (the
:class:`~zhifu.acquirer.host.AcquirerHost`, with its issuer, registry and ledger), ``clearing``
(the :class:`~zhifu.clearing.service.ClearingService` of the BEPS centres) and ``home`` (the data
directory). A page whose service is not in this process says so instead of failing.

>>> from litestar.datastructures import State
>>> state = State({STATE_KEY: {"home": "/tmp/x"}})
>>> service_of(state, "home"), service_of(state, "clearing")
('/tmp/x', None)
"""

from __future__ import annotations

from typing import Any, Final

from litestar.datastructures import State

__all__ = ["NAMES", "STATE_KEY", "service_of"]

STATE_KEY: Final = "services"
NAMES: Final = ("acquirer", "clearing", "home")
"""The services a page may ask for."""


def service_of(state: State, name: str) -> Any:
    """The service ``name`` (one of :data:`NAMES`) running beside the app, or None."""
    if name not in NAMES:
        raise KeyError(name)
    found: dict[str, Any] = state.get(STATE_KEY) or {}
    return found.get(name)
