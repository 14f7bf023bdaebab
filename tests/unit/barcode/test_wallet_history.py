"""A customer's history (GET /v1/wallet/history): a year of payments and top-ups of the signing
institution's own wallet account, in and out, nothing older."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.signing import VerifyingKey
from zhifu.barcode.platform import operations
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.core.clock import FixedClock
from zhifu.crypto import sm2

DAY = 86_400


def _key(principal: str) -> VerifyingKey:
    return VerifyingKey("k", principal, "SM2-SM3", sm2.generate_keypair()[1])


def test_a_year_of_history_in_and_out(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 2, tzinfo=UTC))
    system = BarcodeSystem.open(tmp_path, clock=clock)
    try:
        system.add_merchant("M1", "zhifu", "Noodles")
        system.open_wallet("zhifu", "C1", "A1")
        system.top_up("zhifu", "A1", 10_000, "t1")
        clock.advance(30 * DAY)
        phone = system.phone("zhifu", *system.enroll_device("zhifu", "C1", "A1"))
        system.flows.micropay("M1", "O1", phone.next_code(), 1_234)
        own = _key("institution:zhifu")
        history = operations.wallet_history("A1").run(system, own)
        seen = [(e.direction, e.amount, e.kind) for e in history.entries]
        assert seen == [("in", 10_000, "top-up"), ("out", 1_234, "payment")]
        assert history.entries[0].at.startswith("2026-01-05T10:00")  # Asia/Shanghai
        clock.advance(340 * DAY)  # the top-up is now 370 days old, the payment 340
        later = operations.wallet_history("A1").run(system, own)
        assert [(e.direction, e.amount) for e in later.entries] == [("out", 1_234)]
        with pytest.raises(BarcodeError, match="account_unknown"):
            operations.wallet_history("A9").run(system, own)
        with pytest.raises(BarcodeError, match="account_unknown"):  # another's customer
            operations.wallet_history("A1").run(system, _key("institution:huanyu"))
        with pytest.raises(BarcodeError, match="principal_mismatch"):
            operations.wallet_history("A1").run(system, _key("merchant:M1"))
    finally:
        system.close()
