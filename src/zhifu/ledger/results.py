"""The outcome of each event of ``create_accounts`` and ``create_transfers``.

The members carry the names of TigerBeetle's results (``tigerbeetle.CreateTransferResult``) and
are declared in order of descending precedence: when several apply to an event, the first one
declared is returned. The numbers are zhifu's own and are frozen (a test pins them); a new
result gets a new number and is declared where its precedence puts it.

``transient`` results depend on the state of other objects (an account not yet created, funds
not yet there). As in TigerBeetle, a transfer id that failed with a transient result is burnt:
any later transfer with that id gets ``ID_ALREADY_FAILED``, so a retry can never turn an answer
that was already given into a different one.

>>> CreateTransferResult.EXCEEDS_CREDITS.transient
True
>>> CreateTransferResult.EXISTS_WITH_DIFFERENT_AMOUNT.transient
False
>>> CreateTransferResult.LINKED_EVENT_FAILED < CreateTransferResult.EXISTS
True
"""

from __future__ import annotations

from enum import IntEnum


class CreateAccountResult(IntEnum):
    """Outcome of one account of ``create_accounts`` (descending precedence)."""

    OK = 0
    LINKED_EVENT_FAILED = 1
    LINKED_EVENT_CHAIN_OPEN = 2
    TIMESTAMP_MUST_BE_ZERO = 3
    RESERVED_FLAG = 4
    ID_MUST_NOT_BE_ZERO = 5
    ID_MUST_NOT_BE_INT_MAX = 6
    EXISTS_WITH_DIFFERENT_FLAGS = 7
    EXISTS_WITH_DIFFERENT_USER_DATA_128 = 8
    EXISTS_WITH_DIFFERENT_USER_DATA_64 = 9
    EXISTS_WITH_DIFFERENT_USER_DATA_32 = 10
    EXISTS_WITH_DIFFERENT_LEDGER = 11
    EXISTS_WITH_DIFFERENT_CODE = 12
    EXISTS = 13
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = 14
    DEBITS_PENDING_MUST_BE_ZERO = 15
    DEBITS_POSTED_MUST_BE_ZERO = 16
    CREDITS_PENDING_MUST_BE_ZERO = 17
    CREDITS_POSTED_MUST_BE_ZERO = 18
    LEDGER_MUST_NOT_BE_ZERO = 19
    CODE_MUST_NOT_BE_ZERO = 20

    @property
    def transient(self) -> bool:
        """No account result depends on other state."""
        return False


class CreateTransferResult(IntEnum):
    """Outcome of one transfer of ``create_transfers`` (descending precedence)."""

    OK = 0
    LINKED_EVENT_FAILED = 1
    LINKED_EVENT_CHAIN_OPEN = 2
    TIMESTAMP_MUST_BE_ZERO = 3
    RESERVED_FLAG = 4
    ID_MUST_NOT_BE_ZERO = 5
    ID_MUST_NOT_BE_INT_MAX = 6
    EXISTS_WITH_DIFFERENT_FLAGS = 7
    EXISTS_WITH_DIFFERENT_PENDING_ID = 8
    EXISTS_WITH_DIFFERENT_TIMEOUT = 9
    EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID = 10
    EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID = 11
    EXISTS_WITH_DIFFERENT_AMOUNT = 12
    EXISTS_WITH_DIFFERENT_USER_DATA_128 = 13
    EXISTS_WITH_DIFFERENT_USER_DATA_64 = 14
    EXISTS_WITH_DIFFERENT_USER_DATA_32 = 15
    EXISTS_WITH_DIFFERENT_LEDGER = 16
    EXISTS_WITH_DIFFERENT_CODE = 17
    EXISTS = 18
    ID_ALREADY_FAILED = 19
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = 20
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = 21
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX = 22
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = 23
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX = 24
    ACCOUNTS_MUST_BE_DIFFERENT = 25
    PENDING_ID_MUST_BE_ZERO = 26
    PENDING_ID_MUST_NOT_BE_ZERO = 27
    PENDING_ID_MUST_NOT_BE_INT_MAX = 28
    PENDING_ID_MUST_BE_DIFFERENT = 29
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = 30
    LEDGER_MUST_NOT_BE_ZERO = 31
    CODE_MUST_NOT_BE_ZERO = 32
    DEBIT_ACCOUNT_NOT_FOUND = 33
    CREDIT_ACCOUNT_NOT_FOUND = 34
    ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER = 35
    TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS = 36
    PENDING_TRANSFER_NOT_FOUND = 37
    PENDING_TRANSFER_NOT_PENDING = 38
    PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID = 39
    PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID = 40
    PENDING_TRANSFER_HAS_DIFFERENT_LEDGER = 41
    PENDING_TRANSFER_HAS_DIFFERENT_CODE = 42
    EXCEEDS_PENDING_TRANSFER_AMOUNT = 43
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = 44
    PENDING_TRANSFER_ALREADY_POSTED = 45
    PENDING_TRANSFER_ALREADY_VOIDED = 46
    PENDING_TRANSFER_EXPIRED = 47
    OVERFLOWS_DEBITS_PENDING = 48
    OVERFLOWS_CREDITS_PENDING = 49
    OVERFLOWS_DEBITS_POSTED = 50
    OVERFLOWS_CREDITS_POSTED = 51
    OVERFLOWS_DEBITS = 52
    OVERFLOWS_CREDITS = 53
    OVERFLOWS_TIMEOUT = 54
    EXCEEDS_CREDITS = 55
    EXCEEDS_DEBITS = 56

    @property
    def transient(self) -> bool:
        """True if the same transfer could succeed later (then its id is burnt)."""
        return self in _TRANSIENT


_TRANSIENT = frozenset(
    {
        CreateTransferResult.DEBIT_ACCOUNT_NOT_FOUND,
        CreateTransferResult.CREDIT_ACCOUNT_NOT_FOUND,
        CreateTransferResult.PENDING_TRANSFER_NOT_FOUND,
        CreateTransferResult.EXCEEDS_CREDITS,
        CreateTransferResult.EXCEEDS_DEBITS,
    }
)
