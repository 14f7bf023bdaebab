"""Where the issuer keeps its files, and where the bank's ledger is.

``data_home()/issuer/`` (mode 0700) holds ``issuer.db``: the card records and the answers. The
ledger (the books of the issuer and the acquirer side) is ``ZHIFU_LEDGER_URL`` when set, else
the SQLite file ``data_home()/ledger.db``.

>>> import os
>>> os.environ["ZHIFU_LEDGER_URL"] = "sqlite://"
>>> ledger_url()
'sqlite://'
>>> del os.environ["ZHIFU_LEDGER_URL"]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from zhifu.codec.home import data_home
from zhifu.core.files import private_folder

__all__ = ["LEDGER_ENV", "issuer_home", "ledger_url"]

LEDGER_ENV: Final = "ZHIFU_LEDGER_URL"


def issuer_home(home: Path | str | None = None) -> Path:
    """The issuer's folder under ``home`` (default: the data directory), created 0700."""
    return private_folder(Path(home or data_home()) / "issuer")


def ledger_url(home: Path | str | None = None) -> str:
    """The ledger's URL: ``ZHIFU_LEDGER_URL``, else ``sqlite:///<home>/ledger.db``."""
    url = os.environ.get(LEDGER_ENV, "").strip()
    if url:
        return url
    folder = private_folder(Path(home or data_home()))
    return f"sqlite:///{folder.resolve() / 'ledger.db'}"
