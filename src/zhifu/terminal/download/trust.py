"""The platform key a terminal trusts, and the terminal's audit trail of downloads.

At manufacture the platform's public key is installed in the terminal's security module as a
VERIFICATION key (:func:`install_platform_key`); ``downloads.json`` names it. A second key
replaces the first only when asked to (``replace``), and the old one is deleted.

Every package applied or refused, and every key installed, is a record of the terminal's audit
trail ``TERM/audit.db`` (:class:`~zhifu.security.audit_trail.AuditTrail`: HMAC-SM3 chain and
signed checkpoints under keys made in the terminal's security module when the platform key is
installed). The trail is not part of the store: a refused package leaves ``state.json``,
``downloads.json``, ``keys.db`` and the program files as they were and adds one record here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from zhifu.core.errors import UsageError
from zhifu.core.files import private_file
from zhifu.security.audit_trail import AuditTrail
from zhifu.security.download.signing import ALGORITHM_NAMES, key_id
from zhifu.security.hsm.asym import public_key_encoding
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm
from zhifu.terminal.download.store import DownloadStore, TrustedKey
from zhifu.terminal.state import TerminalState, open_hsm

__all__ = ["AUDIT_FILE", "PLATFORM_KEY_LABEL", "install_platform_key", "record"]

AUDIT_FILE: Final = "audit.db"
PLATFORM_KEY_LABEL: Final = "platform key"

log = logging.getLogger("zhifu.terminal.download")


def record(
    folder: Path, hsm: SoftHsm, terminal_id: str, action: str, obj: str, *, outcome: str,
    detail: str,
) -> None:  # fmt: skip
    """One record in the terminal's audit trail (and the log): never a key or a program byte."""
    private_file(folder / AUDIT_FILE)  # mode 0600 before SQLite opens it
    trail = AuditTrail.open(folder / AUDIT_FILE, hsm)
    try:
        trail.append(f"terminal:{terminal_id}", action, obj, outcome, origin="download",
                     detail=detail)  # fmt: skip
    finally:
        trail.close()
    log.info("%s %s %s: %s", action, obj, outcome, detail)


def install_platform_key(
    folder: Path | str, public_key: bytes, algorithm: KeyAlgorithm, *, replace: bool = False
) -> TrustedKey:
    """Install the platform's public key (SM2 point or RSA DER) in the terminal's security module.

    Refused (``UsageError`` naming ``replace``) when the terminal trusts another key already,
    unless ``replace``; installing the key trusted already changes nothing.
    """
    if algorithm not in ALGORITHM_NAMES:
        raise UsageError("the platform key is SM2 or RSA", argument="algorithm")
    root = Path(folder)
    state = TerminalState.load(root)
    store = DownloadStore.load(root)
    hsm = open_hsm(root)
    try:
        old = store.signer
        encoded, _ = public_key_encoding(algorithm, public_key)
        if old is not None and old.key_id == key_id(algorithm, encoded):
            return old
        if old is not None and not replace:
            raise UsageError(
                f"this terminal already trusts platform key {old.key_id}; give replace (--replace)"
                " to install another one in its place",
                argument="replace",
            )
        handle = hsm.import_public_key(public_key, algorithm, label=PLATFORM_KEY_LABEL)
        trusted = TrustedKey(handle.id, key_id(algorithm, encoded), ALGORITHM_NAMES[algorithm])
        store.signer = trusted
        store.save()
        if old is not None:
            hsm.delete_key(old.handle, reason="platform key replaced")
        detail = f"{trusted.algorithm} key {trusted.key_id}" + (
            f" in place of {old.key_id}" if old else ""
        )
        record(root, hsm, state.terminal_id, "download.trust", "platform key",
               outcome="installed", detail=detail)  # fmt: skip
        return trusted
    finally:
        hsm.store.close()
