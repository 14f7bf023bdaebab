"""The acquirer host: UnionPay POS ISO 8583 over TCP, management plane.

* :mod:`~zhifu.acquirer.server` — asyncio TCP front door (:func:`serve_acquirer`,
  :func:`run_acquirer`), its connection caps in :mod:`~zhifu.acquirer.limits`;
  :mod:`~zhifu.acquirer.background` runs it beside the web app;
* :mod:`~zhifu.acquirer.host` — one frame in, one frame out, journalled;
* :mod:`~zhifu.acquirer.pipeline` — participants (prepare / commit / abort) in groups selected
  by MTI + processing code + 60.1 / 60.3; :mod:`~zhifu.acquirer.routes` the management groups;
  :mod:`~zhifu.acquirer.participants` the steps; :mod:`~zhifu.acquirer.context` the
  per-transaction state;
* :mod:`~zhifu.acquirer.registry` — merchants and terminals, keys by handle;
  :mod:`~zhifu.acquirer.custody` — working keys from generation to a terminal, orphans swept;
  :mod:`~zhifu.acquirer.tables` — CA public keys and AIDs for download;
  :mod:`~zhifu.acquirer.journal` — every message, redacted, with timing;
* :mod:`~zhifu.acquirer.config` — settings and the ``var/`` data directory with its LMK.

>>> from zhifu.acquirer import AcquirerHost, register_terminal
>>> host = AcquirerHost.in_memory()
>>> reg = register_terminal(host.services.registry, host.services.hsm, "898100012345678",
...                         "10000001")
>>> [c.kcv == reg.components[i].kcv for i, c in enumerate(reg.components)]
[True, True]
"""

from zhifu.acquirer.background import BackgroundAcquirer, start_in_background
from zhifu.acquirer.config import DEFAULT_PORT, AcquirerConfig, ensure_local_lmk, zhifu_home
from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.host import AcquirerHost, Reply
from zhifu.acquirer.journal import Journal, JournalEntry
from zhifu.acquirer.pipeline import Participant, Pipeline, Route, Verdict
from zhifu.acquirer.registry import Registration, Registry, Terminal, register_terminal
from zhifu.acquirer.server import AcquirerServer, run_acquirer, serve_acquirer
from zhifu.acquirer.tables import AidParameters, CaPublicKey, ParameterTables

__all__ = [
    "DEFAULT_PORT",
    "AcquirerConfig",
    "AcquirerHost",
    "AcquirerServer",
    "AidParameters",
    "BackgroundAcquirer",
    "CaPublicKey",
    "Journal",
    "JournalEntry",
    "ParameterTables",
    "Participant",
    "Pipeline",
    "Registration",
    "Registry",
    "Reply",
    "Result",
    "Route",
    "Terminal",
    "TxnContext",
    "Verdict",
    "ensure_local_lmk",
    "register_terminal",
    "run_acquirer",
    "serve_acquirer",
    "start_in_background",
    "zhifu_home",
]
