"""One simulated payment institution: its own ledger, its wallet's payment codes, its key.

zhifu runs three (``zhifu``, ``huanyu``, ``qingniao``; prefixes 91/92/93, hosts
``pay.<id>.test``; :mod:`zhifu.barcode.registry`). Each is an acquirer (its merchants' money
sits in its ledger) and an issuer (its wallet customers' balances sit in its ledger and it
verifies the payment codes its phones show). Each ledger is a separate database.

The wallet side: a device is enrolled with a random handle; its secret is derived from the
institution's master key (HMAC-SM3, :func:`~zhifu.barcode.codes.payment_code.derive_device_secret`)
and given to the phone once; :meth:`InstitutionNode.redeem` checks and spends a code and
names the payer, or refuses with the code outcome's error (``auth_code_expired``...).

>>> from zhifu.barcode.platform.db import Database
>>> from zhifu.barcode.platform.directory import Directory
>>> from zhifu.barcode.platform.guards import SqliteUsedCodes
>>> from zhifu.crypto import sm2
>>> from zhifu.ledger import Ledger
>>> db = Database()
>>> node = InstitutionNode("huanyu", Ledger.open("sqlite://"), Directory(db), bytes(32),
...     SqliteUsedCodes(db), SigningKey("huanyu-1", "SM2-SM3", sm2.generate_keypair()[0]))
>>> node.layout.prefix
'92'
>>> node.redeem("920000000000000000")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.barcode.api.errors.BarcodeError: auth_code_unknown_device: ...
>>> node.ledger.close()
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Final

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.signing import SigningKey
from zhifu.barcode.codes.payment_code import (
    LAYOUT_HUANYU,
    LAYOUT_QINGNIAO,
    LAYOUT_ZHIFU,
    CodeLayout,
    CodeOutcome,
    CodePolicy,
    PaymentCodeIssuer,
    new_handle,
)
from zhifu.barcode.codes.payment_store import UsedCodeStore
from zhifu.barcode.model import Device, Payer, WalletAccount
from zhifu.barcode.platform.directory import DeviceSecrets, Directory
from zhifu.barcode.platform.postings import (
    CUSTOMER_CODE,
    MERCHANT_CODE,
    SYSTEM_ACCOUNTS,
    customer_account,
    merchant_account,
    system_account,
    top_up,
)
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError
from zhifu.core.rng import RandomSource, SystemRandomSource
from zhifu.ledger import (
    BATCH_EVENTS_MAX,
    Account,
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    Ledger,
)
from zhifu.ledger.chart import BY_CODE, LEDGER_CNY
from zhifu.ledger.model import Transfer

LAYOUTS: Final[dict[str, CodeLayout]] = {
    "zhifu": LAYOUT_ZHIFU,
    "huanyu": LAYOUT_HUANYU,
    "qingniao": LAYOUT_QINGNIAO,
}
_OUTCOME_ERRORS: Final[dict[CodeOutcome, str]] = {
    CodeOutcome.MALFORMED: "auth_code_malformed",
    CodeOutcome.OTHER_ISSUER: "auth_code_unknown_issuer",
    CodeOutcome.UNKNOWN_DEVICE: "auth_code_unknown_device",
    CodeOutcome.INVALID: "auth_code_invalid",
    CodeOutcome.NOT_YET_VALID: "auth_code_not_yet_valid",
    CodeOutcome.EXPIRED: "auth_code_expired",
    CodeOutcome.USED: "auth_code_used",
}
_OK: Final = (CreateAccountResult.OK, CreateAccountResult.EXISTS)


class InstitutionNode:
    """A simulated institution (see the module docstring)."""

    def __init__(  # noqa: PLR0917 - what makes an institution, in order
        self,
        institution_id: str,
        ledger: Ledger,
        directory: Directory,
        master_key: bytes,
        used_codes: UsedCodeStore,
        signing_key: SigningKey,
        *,
        clock: Clock | None = None,
        policy: CodePolicy | None = None,
    ) -> None:
        if institution_id not in LAYOUTS:
            raise UsageError(f"{institution_id!r} is not a simulated institution", argument="id")
        self.id = institution_id
        self.ledger = ledger
        self.directory = directory
        self.layout = LAYOUTS[institution_id]
        self.signing_key = signing_key
        self.clock = clock or SystemClock()
        self.policy = policy or CodePolicy()
        self._secrets = DeviceSecrets(directory, institution_id, master_key)
        self._bindings: dict[str, tuple[bytes, float]] = {}
        self.codes = PaymentCodeIssuer(
            self.layout, self._secrets, used_codes, self.clock, self.policy
        )
        self._open(
            [
                Account(system_account(self.id, role), LEDGER_CNY, code, BY_CODE[code].flags)
                for role, code in SYSTEM_ACCOUNTS.items()
            ]
        )

    def __repr__(self) -> str:
        return f"InstitutionNode({self.id!r})"

    def _open(self, accounts: Sequence[Account]) -> None:
        results = self.ledger.create_accounts(list(accounts))
        bad = [r.name for r in results if r not in _OK]
        if bad:
            raise RuntimeError(f"{self.id}: ledger refused accounts: {bad}")

    # -- enrolment -----------------------------------------------------------------------------

    def open_merchant(self, merchant_id: str) -> int:
        """Open the merchant's settlement account; its ledger id."""
        account_id = merchant_account(self.id, merchant_id)
        self._open([Account(account_id, LEDGER_CNY, MERCHANT_CODE, BY_CODE[MERCHANT_CODE].flags)])
        return account_id

    def open_wallet(self, customer_id: str, account_id: str, agreed_limit: int = 2_000_000) -> int:
        """Open a customer's payment account (balance never below zero); its ledger id."""
        ledger_id = customer_account(self.id, account_id)
        flags = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        self._open([Account(ledger_id, LEDGER_CNY, CUSTOMER_CODE, flags)])
        self.directory.add_account(WalletAccount(self.id, account_id, customer_id, agreed_limit))
        return ledger_id

    def history(self, account_id: str, *, since_ns: int) -> list[Transfer]:
        """A wallet account's transfers from ``since_ns`` (ledger time) on, oldest first."""
        if self.directory.account(self.id, account_id) is None:
            raise BarcodeError("account_unknown")
        ledger_id = customer_account(self.id, account_id)
        found: list[Transfer] = []
        while True:  # pages of the ledger's largest batch
            page = self.ledger.get_account_transfers(ledger_id, timestamp_min=since_ns)
            found += page
            if len(page) < BATCH_EVENTS_MAX:
                return found
            since_ns = page[-1].timestamp + 1

    def top_up(self, account_id: str, amount: int, reference: str) -> CreateTransferResult:
        """Credit a wallet (e.g. from a bank card); idempotent by ``reference``."""
        if self.directory.account(self.id, account_id) is None:
            raise BarcodeError("account_unknown")
        return self.ledger.create_transfers([top_up(self.id, account_id, amount, reference)])[0]

    def start_binding(
        self, customer_id: str, *, now: float, rng: RandomSource | None = None
    ) -> str:
        """The one-time code (6 digits, 5 minutes, one use) that a customer who already has a
        device must give to bind another one — sent to the customer by a channel of the
        institution (an SMS to the bound phone number); kept here as its hash only."""
        code = f"{(rng or SystemRandomSource()).below(10**6):06d}"
        self._bindings[customer_id] = (hashlib.sha256(code.encode()).digest(), now + 300)
        return code

    def _step_up(self, customer_id: str, code: str, now: float) -> None:
        """Refuse a new device of a customer who has one unless the binding code is given."""
        if not self.directory.devices_of(self.id, customer_id):
            return  # the first device: the account's own opening checks stand for it
        if not code:
            raise BarcodeError("step_up_required")
        pending = self._bindings.pop(customer_id, None)  # one try per code
        digest = hashlib.sha256(code.encode()).digest()
        if pending is None or now > pending[1] or not hmac.compare_digest(pending[0], digest):
            raise BarcodeError("step_up_invalid")

    def enroll_device(
        self,
        customer_id: str,
        account_id: str,
        *,
        grade: str = "C",
        rng: RandomSource | None = None,
        step_up: str = "",
        now: float | None = None,
    ) -> tuple[str, bytes]:
        """Enrol a phone: (handle, device secret) to provision on it, once. A customer's second
        device needs ``step_up``, the code of :meth:`start_binding` (JR/T 0092's step-up on a
        new device)."""
        account = self.directory.account(self.id, account_id)
        if account is None or account.customer_id != customer_id:
            raise BarcodeError("account_unknown")
        self._step_up(customer_id, step_up, time.time() if now is None else now)
        if grade not in ("A", "B", "C"):
            raise UsageError("a payment code is a dynamic code: grade A, B or C", argument="grade")
        source = rng or SystemRandomSource()
        for _ in range(32):
            handle = new_handle(source, self.layout)
            if self.directory.device(self.id, handle) is None:
                break
        else:
            raise UsageError("no free device handle", argument="handle")
        self.directory.add_device(Device(self.id, handle, customer_id, account_id, grade))
        secret = self._secrets.device_secret(handle)
        assert secret is not None
        return handle, secret

    # -- the issuer's checks -------------------------------------------------------------------

    def redeem(self, code: str) -> Payer:
        """Check and spend a payment code (single use whatever happens next); the payer."""
        answer = self.codes.redeem(code)
        if not answer.accepted:
            raise BarcodeError(_OUTCOME_ERRORS[answer.outcome])
        assert answer.handle is not None
        device = self.directory.device(self.id, answer.handle)
        assert device is not None
        return Payer(self.id, device.customer_id, device.account_id, device.grade)

    def payer(self, customer_id: str, account_id: str, grade: str) -> Payer:
        """The payer of a wallet-initiated payment, checked against the institution's accounts."""
        account = self.directory.account(self.id, account_id)
        if account is None or account.customer_id != customer_id:
            raise BarcodeError("account_unknown")
        return Payer(self.id, customer_id, account_id, grade)

    def agreed_limit(self, account_id: str) -> int:
        account = self.directory.account(self.id, account_id)
        return 0 if account is None else account.agreed_limit

    def balance(self, ledger_id: int) -> int:
        """credits_posted - debits_posted of a ledger account (0 if absent)."""
        found = self.ledger.lookup_accounts([ledger_id])
        return found[0].credits_posted - found[0].debits_posted if found else 0

    def apply(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """Send a chain of transfers to this institution's ledger."""
        return self.ledger.create_transfers(list(transfers))
