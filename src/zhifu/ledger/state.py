"""The engine's working state: an account's balances and a pending transfer's resolution.

>>> from zhifu.ledger.model import Account
>>> state = AccountState.created(Account(1, 156, 20111), timestamp=7)
>>> state.debits_posted += 5
>>> state.balances(), state.origin
((0, 5, 0, 0), (0, 0, 0, 0))
"""

from __future__ import annotations

from zhifu.ledger.model import Account, AccountFlags, PendingState


class AccountState:
    """An account as the engine works on it: immutable fields plus mutable balances."""

    __slots__ = (
        "code",
        "credits_pending",
        "credits_posted",
        "debits_pending",
        "debits_posted",
        "flags",
        "id",
        "is_new",
        "ledger",
        "origin",
        "timestamp",
        "user_data_32",
        "user_data_64",
        "user_data_128",
    )

    def __init__(self, row: tuple[int, ...]) -> None:
        (
            self.id,
            self.ledger,
            self.code,
            self.flags,
            self.user_data_128,
            self.user_data_64,
            self.user_data_32,
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
            self.timestamp,
        ) = row
        self.is_new = False
        self.origin = self.balances()

    @classmethod
    def created(cls, account: Account, timestamp: int) -> AccountState:
        state = cls(
            (
                account.id,
                account.ledger,
                account.code,
                int(account.flags),
                account.user_data_128,
                account.user_data_64,
                account.user_data_32,
                0,
                0,
                0,
                0,
                timestamp,
            )
        )
        state.is_new = True
        return state

    def balances(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)

    def set_balances(self, dp: int, dpo: int, cp: int, cpo: int) -> None:
        self.debits_pending, self.debits_posted = dp, dpo
        self.credits_pending, self.credits_posted = cp, cpo

    def balance_row(self, timestamp: int) -> tuple[int, int, int, int, int, int]:
        return (self.id, timestamp, *self.balances())

    def to_account(self) -> Account:
        return Account(
            self.id,
            self.ledger,
            self.code,
            AccountFlags(self.flags),
            self.user_data_128,
            self.user_data_64,
            self.user_data_32,
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
            self.timestamp,
        )


class Pending:
    """The state of a pending transfer (the transfer itself is immutable)."""

    __slots__ = (
        "amount",
        "credit_account_id",
        "debit_account_id",
        "expires_at",
        "id",
        "is_new",
        "resolved_at",
        "resolved_by",
        "state",
    )

    def __init__(  # noqa: PLR0917 - mirrors the table's columns
        self,
        id: int,
        debit_account_id: int,
        credit_account_id: int,
        amount: int,
        expires_at: int,
        state: int = PendingState.PENDING,
        resolved_by: int = 0,
        resolved_at: int = 0,
    ) -> None:
        self.id = id
        self.debit_account_id = debit_account_id
        self.credit_account_id = credit_account_id
        self.amount = amount
        self.expires_at = expires_at
        self.state = state
        self.resolved_by = resolved_by
        self.resolved_at = resolved_at
        self.is_new = False
