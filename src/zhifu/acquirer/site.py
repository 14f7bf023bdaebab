"""The installation's shared security files in the data directory: the audit trail
(``audit.db``, its chain and checkpoint keys in the key store), the people (``access.db``:
users, sessions, API keys; TOTP secrets sealed under the LMK) and the risk rules' alerts and
block list (``risk.db``, written by the acquirer host). The command line and the web
app open them here, so both act on the same records.

>>> import tempfile
>>> with open_site(tempfile.mkdtemp(), environ={"ZHIFU_LMK": "11" * 32}) as site:
...     site.access.add_user("zhao", "merchant", "a long enough pass", actor="setup")
...     [r.action for r in site.trail.records()], site.trail.verify().ok
(['key.add', 'key.add', 'user.add'], True)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from zhifu.acquirer.config import AcquirerConfig, ensure_local_lmk, open_key_store
from zhifu.compliance import InstitutionRegistry
from zhifu.compliance.errors import NotFoundError
from zhifu.core.files import private_folder
from zhifu.security.access.store import AccessStore
from zhifu.security.audit_trail import AuditTrail
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.risk import RiskStore
from zhifu.security.sealing import LmkSealer
from zhifu.security.store import KeyStore

__all__ = ["Site", "open_site"]

AUDIT_FILE, ACCESS_FILE, RISK_FILE = "audit.db", "access.db", "risk.db"
COMPLIANCE_FILE = "compliance.db"


@dataclass
class Site:
    """The open audit trail and access store; ``lock`` serialises their use across threads."""

    trail: AuditTrail
    access: AccessStore
    store: KeyStore
    risk: RiskStore
    compliance: InstitutionRegistry
    lock: threading.RLock = field(default_factory=threading.RLock)

    def business_check(self, institution: str) -> bool:
        """Whether an institution may do business: True unless this installation keeps its
        licence and the licence is not registered (applied, suspended, revoked...)."""
        with self.lock:
            try:
                self.compliance.get(institution)
            except NotFoundError:
                return True  # not supervised here
            return self.compliance.may_do_business(institution)

    def record(self, actor: str, action: str, obj: str, outcome: str, origin: str = "") -> None:
        """Append one audit record (thread-safe)."""
        with self.lock:
            self.trail.append(actor, action, obj, outcome, origin=origin)

    def close(self) -> None:
        """Close the files."""
        with self.lock:
            self.access.close()
            self.risk.close()
            self.compliance.close()
            self.trail.close()
            self.store.close()


def _open(home: Path, environ: Mapping[str, str] | None) -> Site:
    config = AcquirerConfig.local(home)
    env = ensure_local_lmk(home, environ)
    store = open_key_store(config, env)
    private_folder(home)
    trail = AuditTrail.open(home / AUDIT_FILE, SoftHsm(store))
    trail.absorb_key_store(store)
    sealer = LmkSealer.from_environ(env)
    access = AccessStore.open(home / ACCESS_FILE, sealer=sealer)
    registry = InstitutionRegistry.open(home / COMPLIANCE_FILE)
    site = Site(trail, access, store, RiskStore.open(home / RISK_FILE), registry)
    registry.audit = site.record
    site.access.audit = site.record
    return site


def open_site_at(home: str | Path, environ: Mapping[str, str] | None = None) -> Site:
    """Open the site of ``home`` (the caller closes it)."""
    return _open(Path(home), environ)


@contextmanager
def open_site(home: str | Path, environ: Mapping[str, str] | None = None) -> Iterator[Site]:
    """The site of ``home``, closed at the end of the block."""
    site = _open(Path(home), environ)
    try:
        yield site
    finally:
        site.close()
