"""What the participants need from the host: settings, registry, tables, security module and
the custody of the working keys it issues.

Participants receive one :class:`Services` when the pipeline is built and keep nothing else;
per-transaction state lives in :class:`~zhifu.acquirer.context.TxnContext`.

>>> from zhifu.acquirer.database import Database
>>> from zhifu.security.hsm.soft import SoftHsm

if TYPE_CHECKING:
    from zhifu.acquirer.risk import AcquirerRisk
    from zhifu.issuer.link import IssuerLink
    from zhifu.ledger import Ledger
>>> from zhifu.security.store import KeyStore
>>> services = Services.build(AcquirerConfig(), Database(), SoftHsm(KeyStore.in_memory()))
>>> services.tables.version("capk"), services.registry.terminals()
(1, [])
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.custody import KeyCustody
from zhifu.acquirer.database import Database
from zhifu.acquirer.registry import Registry
from zhifu.acquirer.tables import ParameterTables
from zhifu.core.clock import Clock, SystemClock
from zhifu.security.hsm.soft import SoftHsm

if TYPE_CHECKING:
    from zhifu.acquirer.risk import AcquirerRisk
    from zhifu.issuer.link import IssuerLink
    from zhifu.ledger import Ledger

__all__ = ["Services"]


@dataclasses.dataclass(frozen=True)
class Services:
    """The host's long-lived dependencies, shared by every participant."""

    config: AcquirerConfig
    registry: Registry
    tables: ParameterTables
    hsm: SoftHsm
    clock: Clock
    custody: KeyCustody
    issuer: IssuerLink | None = None
    ledger: Ledger | None = None
    risk: AcquirerRisk | None = None

    @classmethod
    def build(
        cls,
        config: AcquirerConfig,
        db: Database,
        hsm: SoftHsm,
        clock: Clock | None = None,
        *,
        sweeps: bool = True,
        issuer: IssuerLink | None = None,
        ledger: Ledger | None = None,
    ) -> Services:
        """Registry and tables over ``db`` (tables seeded on first use).

        ``sweeps`` False: this host shares its key store with another and must not sweep it.
        ``issuer`` and ``ledger``: card payments (without them the host answers ``40``).
        """
        real_clock: Clock = clock or SystemClock()
        registry = Registry(db, clock=real_clock)
        custody = KeyCustody(hsm, registry, sweeps=sweeps)
        tables = ParameterTables(db)
        return cls(config, registry, tables, hsm, real_clock, custody, issuer, ledger)
