"""The acquirer's side of the books: merchants' pending settlement and the acquirer clearing.

An approved purchase or completion credits the merchant's pending settlement account (chart
22412) from the acquirer clearing account (30011); a void or refund debits it back; a
reversal undoes the original's posting. Batch settlement then pays the merchant: pending
settlement → the merchant's deposit account (20112) less the fee, the fee → fee income (60211).
The merchant's pending account may go below zero (refunds after the money was paid out: the
merchant then owes, and the next settlement nets it).

Ids come from the transaction id (:func:`zhifu.ledger.ids.derive_id`), so a posting is made
once whatever the retries; the existence of the posting is also what a reversal looks for.
"""

from __future__ import annotations

import functools
from typing import Final

from zhifu.acquirer.payments.kinds import MERCHANT_CREDITS, MERCHANT_DEBITS
from zhifu.issuer.link import Kind
from zhifu.ledger import Account, CreateAccountResult, CreateTransferResult, Ledger, Transfer
from zhifu.ledger.chart import BY_KEY, LEDGER_CNY
from zhifu.ledger.ids import derive_id

__all__ = [
    "ACQUIRER_CLEARING",
    "FEE_INCOME",
    "Books",
    "merchant_accounts",
]

ACQUIRER_CLEARING: Final = derive_id("acquirer", "system", "acquirer_clearing")
FEE_INCOME: Final = derive_id("acquirer", "system", "fee_income_acquiring")
CODE_CARD: Final = 11
CODE_CARD_BACK: Final = 12
CODE_SETTLE: Final = 13
CODE_FEE: Final = 14
_OPENED: Final = (CreateAccountResult.OK, CreateAccountResult.EXISTS)


@functools.lru_cache(maxsize=65_536)
def merchant_accounts(merchant_id: str) -> tuple[int, int]:
    """(pending settlement, deposit) account ids of a merchant."""
    return (derive_id("acquirer", "merchant-settlement", merchant_id),
            derive_id("acquirer", "merchant-deposit", merchant_id))  # fmt: skip


class Books:
    """Opens accounts on first use and posts the acquirer's transfers."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._opened: set[str] = set()
        self._open([
            Account(ACQUIRER_CLEARING, LEDGER_CNY, BY_KEY["acquirer_clearing"].code),
            Account(FEE_INCOME, LEDGER_CNY, BY_KEY["fee_income_acquiring"].code),
        ])  # fmt: skip

    def _open(self, accounts: list[Account]) -> None:
        results = self.ledger.create_accounts(accounts)
        if any(r not in _OPENED for r in results):
            raise RuntimeError(f"the acquirer's accounts did not open: {results}")

    def merchant(self, merchant_id: str) -> tuple[int, int]:
        """The merchant's accounts, opened the first time."""
        pending, deposit = merchant_accounts(merchant_id)
        if merchant_id not in self._opened:
            self._open([
                Account(pending, LEDGER_CNY, BY_KEY["merchant_settlement"].code),
                Account(deposit, LEDGER_CNY, BY_KEY["corporate_deposits"].code),
            ])  # fmt: skip
            self._opened.add(merchant_id)
        return pending, deposit

    def _post(self, transfers: list[Transfer]) -> bool:
        results = self.ledger.create_transfers(transfers)
        return all(r in (CreateTransferResult.OK, CreateTransferResult.EXISTS) for r in results)

    def post_approval(self, kind: Kind, txn_id: str, merchant_id: str, amount: int) -> bool:
        """The merchant-side posting of an approved transaction (True: done or nothing to do)."""
        if kind not in MERCHANT_CREDITS and kind not in MERCHANT_DEBITS:
            return True
        pending, _ = self.merchant(merchant_id)
        debit, credit = (ACQUIRER_CLEARING, pending)
        if kind in MERCHANT_DEBITS:
            debit, credit = credit, debit
        transfer = Transfer(derive_id("acquirer", "card", txn_id), debit, credit, amount,
                            LEDGER_CNY, CODE_CARD)  # fmt: skip
        return self._post([transfer])

    def reverse_posting(self, txn_id: str) -> bool:
        """Undo the posting of ``txn_id`` if there is one; True when something was undone."""
        found = self.ledger.lookup_transfers([derive_id("acquirer", "card", txn_id)])
        if not found:
            return False
        original = found[0]
        back = Transfer(
            derive_id("acquirer", "reversal", txn_id), original.credit_account_id,
            original.debit_account_id, original.amount, LEDGER_CNY, CODE_CARD_BACK,
        )  # fmt: skip
        return self._post([back])

    def settle_batch(self, key: str, merchant_id: str, net: int, fee: int) -> bool:
        """Pay a batch's ``net`` to the merchant's deposit, less ``fee`` to fee income."""
        pending, deposit = self.merchant(merchant_id)
        transfers = []
        if net - fee:
            transfers.append(Transfer(derive_id("acquirer", "settle", key), pending, deposit,
                                      abs(net - fee), LEDGER_CNY, CODE_SETTLE))  # fmt: skip
            if net - fee < 0:
                t = transfers[0]
                t.debit_account_id, t.credit_account_id = deposit, pending
        if fee > 0:
            transfers.append(Transfer(derive_id("acquirer", "fee", key), pending, FEE_INCOME, fee,
                                      LEDGER_CNY, CODE_FEE))  # fmt: skip
        return self._post(transfers) if transfers else True
