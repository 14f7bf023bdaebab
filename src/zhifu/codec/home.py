"""The data directory every zhifu process shares: ``ZHIFU_HOME``, else ``var`` here.

The acquirer keeps ``acquirer.db``, ``keys.db`` and ``lmk.key`` in it, the barcode platform its
``barcode/`` folder, the BEPS centres their ``clearing/`` folder (``docs/acquirer.md``,
``docs/barcode.md``, ``docs/clearing.md``). Every process works the directory out with
:func:`data_home`, so the web server, ``zhifu serve`` and the ``zhifu`` commands agree on it.

An empty ``ZHIFU_HOME`` counts as unset (``ZHIFU_HOME= make run`` uses ``var``, not the working
directory itself). A relative value, like the default, is relative to the working directory
and is returned as it is: the caller that opens a file resolves it then.

>>> data_home({"ZHIFU_HOME": "/srv/zhifu"}).as_posix()
'/srv/zhifu'
>>> data_home({}).as_posix(), data_home({"ZHIFU_HOME": ""}).as_posix()
('var', 'var')
>>> (data_home({"ZHIFU_HOME": "data"}) / "barcode").as_posix()
'data/barcode'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT_HOME", "HOME_ENV", "data_home"]

HOME_ENV: Final = "ZHIFU_HOME"
DEFAULT_HOME: Final = "var"


def data_home(environ: Mapping[str, str] | None = None) -> Path:
    """The data directory named by ``environ`` (the process environment when None)."""
    env = os.environ if environ is None else environ
    return Path(env.get(HOME_ENV) or DEFAULT_HOME)
