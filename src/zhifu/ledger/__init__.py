"""The core ledger (核心账务): double entry, two-phase holds, idempotency; SQLite or PostgreSQL.

The model and the contract are TigerBeetle's (accounts and transfers with caller-chosen 128-bit
ids, results per event in precedence order, pending transfers posted or voided at most once,
linked chains all or nothing); the storage is a database. See ``docs/ledger.md``.

>>> from zhifu.ledger import CreateTransferResult
>>> CreateTransferResult.EXISTS.name
'EXISTS'
"""

from zhifu.ledger.audit import CheckReport
from zhifu.ledger.ledger import Ledger
from zhifu.ledger.model import (
    AMOUNT_MAX,
    BATCH_EVENTS_MAX,
    Account,
    AccountBalance,
    AccountFilter,
    AccountFilterFlags,
    AccountFlags,
    Transfer,
    TransferFlags,
)
from zhifu.ledger.results import CreateAccountResult, CreateTransferResult

__all__ = [
    "AMOUNT_MAX",
    "BATCH_EVENTS_MAX",
    "Account",
    "AccountBalance",
    "AccountFilter",
    "AccountFilterFlags",
    "AccountFlags",
    "CheckReport",
    "CreateAccountResult",
    "CreateTransferResult",
    "Ledger",
    "Transfer",
    "TransferFlags",
]
