"""The card payment groups and their routes (docs/standards/iso8583-cup.md §4.1).

Every group starts like the management plane's (fields 41, 42, 60; terminal; MAC — which a
financial message must carry) and ends with the responder.

>>> sorted({route.group for route in PAYMENT_ROUTES})[:4]
['balance', 'batch-upload', 'completion', 'completion-void']
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from zhifu.acquirer.database import Database
from zhifu.acquirer.participants import CheckFields, CheckTerminal, Respond, VerifyMac
from zhifu.acquirer.payments.batch_upload import BatchUpload
from zhifu.acquirer.payments.kinds import KIND_OF
from zhifu.acquirer.payments.pay import Pay, recover_in_doubt
from zhifu.acquirer.payments.postings import Books
from zhifu.acquirer.payments.reversal import Reverse
from zhifu.acquirer.payments.settlement import ScriptAdvice, Settle
from zhifu.acquirer.payments.store import PaymentStore
from zhifu.acquirer.pipeline import Participant, Pipeline, Route
from zhifu.acquirer.services import Services
from zhifu.issuer.keys import zone_pin_key

__all__ = ["PAYMENT_ROUTES", "add_payment_groups"]

PAYMENT_ROUTES: Final = (
    *(
        Route(kind.value, mti, processing_code=f3, txn_type=t)
        for (mti, f3, t), kind in KIND_OF.items()
    ),
    Route("reversal", "0400"),
    Route("settlement", "0500", network_code="201"),
    Route("batch-upload", "0320"),
    Route("script-advice", "0620"),
)
"""Route -> group of every card payment message."""


def add_payment_groups(
    pipeline: Pipeline,
    services: Services,
    database: Database,
    settlement: Path | None,
    *,
    recover: bool = True,
) -> None:
    """Add the card payment groups (``settlement``: the folder of merchants' CSV files).

    ``recover``: first reverse the transactions a crash left in doubt (only the host that
    owns the database may: another one sharing it would cut off the first one's requests).
    """
    assert services.issuer is not None and services.ledger is not None
    store, books = PaymentStore(database), Books(services.ledger)
    if recover:
        recover_in_doubt(store, services.issuer, books)
    zpk = zone_pin_key(services.hsm)
    terminal, mac, respond = CheckTerminal(services), VerifyMac(services), Respond(services)
    fields = CheckFields(("41", "42", "60"))

    def group(*steps: Participant) -> tuple[Participant, ...]:
        return (fields, terminal, mac, *steps, respond)

    for kind in {k for k in KIND_OF.values()}:
        routes = [r for r in PAYMENT_ROUTES if r.group == kind.value]
        pipeline.add(kind.value, group(Pay(services, kind, store, books, zpk)), routes)
    fee = services.config.merchant_fee_bp
    others = {
        "reversal": group(Reverse(services, store, books)),
        "settlement": group(CheckFields(("48",)), Settle(store, books, fee, settlement)),
        "batch-upload": group(BatchUpload(store, services.issuer)),
        "script-advice": group(ScriptAdvice(services.issuer)),
    }
    for name, steps in others.items():
        pipeline.add(name, steps, [r for r in PAYMENT_ROUTES if r.group == name])
