"""Signed downloads on the terminal: the platform key it trusts, applying a package, the store.

* :mod:`~zhifu.terminal.download.trust` — the platform public key installed at manufacture,
  and the audit trail of every package applied or refused;
* :mod:`~zhifu.terminal.download.apply` — verify a package and apply all of it, or nothing;
* :mod:`~zhifu.terminal.download.store` — ``downloads.json`` and the program files, replaced
  atomically.

The package format is shared with the platform and lives in :mod:`zhifu.security.download`;
``docs/terminal.md`` ("Downloads") has the rules.
"""

from zhifu.terminal.download.apply import Applied, apply_file, apply_package
from zhifu.terminal.download.store import DownloadStore, TrustedKey
from zhifu.terminal.download.trust import install_platform_key

__all__ = [
    "Applied",
    "DownloadStore",
    "TrustedKey",
    "apply_file",
    "apply_package",
    "install_platform_key",
]
