"""Who is who: API keys, merchants, collection codes, wallet accounts and devices.

Rows live in the platform database (:mod:`zhifu.barcode.platform.db`); reads on the payment path
come from in-memory maps filled at start and kept up to date by the ``add_*`` methods; a miss reads
the table again, so a party enrolled by another process is found too. :class:`DeviceSecrets`
is an institution's :class:`~zhifu.barcode.codes.payment_store.DeviceDirectory`: a device's secret
is derived from the institution's master key and the device handle, so no device secret is
stored anywhere.

>>> from zhifu.barcode.platform.db import Database
>>> d = Directory(Database())
>>> d.add_merchant(Merchant("M100001", "zhifu", "Noodles"))
>>> d.merchant("M100001").fee_bp
38
>>> d.merchant("M999") is None
True
"""

from __future__ import annotations

import threading
import time
from typing import Any, Final

from zhifu.barcode.api.signing import VerifyingKey, load_public_key, public_key_pem
from zhifu.barcode.codes.payment_code import derive_device_secret
from zhifu.barcode.model import Device, Merchant, PayeeKind, WalletAccount
from zhifu.barcode.platform.db import Database
from zhifu.barcode.registry import CollectionKind
from zhifu.core.errors import UsageError

_COLUMNS: Final[dict[str, str]] = {
    "api_keys": "key_id, principal, algorithm, public_key",
    "merchants": "merchant_id, institution, name, kind, mcc, fee_bp, notify_url",
    "collection_codes": "token, institution, merchant_id, kind",
    "wallet_accounts": "institution, account_id, customer_id, agreed_limit",
    "devices": "institution, handle, customer_id, account_id, grade",
}


class Directory:
    """Registered parties, cached in memory (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._keys: dict[str, VerifyingKey] = {}
        self._merchants: dict[str, Merchant] = {}
        self._codes: dict[tuple[str, str], tuple[str, CollectionKind]] = {}
        self._accounts: dict[tuple[str, str], WalletAccount] = {}
        self._devices: dict[tuple[str, str], Device] = {}
        self._load()

    def _load(self, where: str = "", params: tuple[str, ...] = (), *only: str) -> None:
        """Fill the caches from the tables (all rows, or those matching ``where``)."""
        tables = only or ("api_keys", "merchants", "collection_codes", "wallet_accounts", "devices")
        for table in tables:
            sql = f"SELECT {_COLUMNS[table]} FROM {table} {where}"  # noqa: S608 - constant names
            for row in self.db.all(sql, params):
                self._remember(table, row)

    def _remember(self, table: str, row: tuple[Any, ...]) -> None:
        if table == "api_keys":
            _, public = load_public_key(row[3])
            self._keys[row[0]] = VerifyingKey(row[0], row[1], row[2], public)
        elif table == "merchants":
            m_id, inst, name, kind, mcc, fee_bp, url = row
            self._merchants[m_id] = Merchant(m_id, inst, name, PayeeKind(kind), mcc, fee_bp, url)
        elif table == "collection_codes":
            self._codes[(row[1], row[0])] = (row[2], CollectionKind(row[3]))
        elif table == "wallet_accounts":
            self._accounts[(row[0], row[1])] = WalletAccount(*row)
        else:
            self._devices[(row[0], row[1])] = Device(*row)

    def _miss(self, table: str, where: str, params: tuple[str, ...]) -> None:
        """Read one row that is not cached yet (enrolled by another process)."""
        self._load(f"WHERE {where}", params, table)

    # -- keys ----------------------------------------------------------------------------------

    def add_key(self, key: VerifyingKey) -> None:
        """Register a public key for a principal (``merchant:<id>``, ``institution:<id>``)."""
        kind, _, who = key.principal.partition(":")
        if kind not in ("merchant", "institution", "platform") or not who:
            raise UsageError("principal is merchant:<id> or institution:<id>", argument="key")
        self.db.run(
            lambda cur: cur.execute(
                "INSERT OR REPLACE INTO api_keys (key_id, principal, algorithm, public_key,"
                " created_us) VALUES (?, ?, ?, ?, ?)",
                (
                    key.key_id,
                    key.principal,
                    key.algorithm,
                    public_key_pem(key.public_key),
                    time.time_ns() // 1000,
                ),
            )
        )
        with self._lock:
            self._keys[key.key_id] = key

    def key(self, key_id: str) -> VerifyingKey | None:
        if key_id not in self._keys:
            self._miss("api_keys", "key_id = ?", (key_id,))
        return self._keys.get(key_id)

    # -- merchants and their collection codes -------------------------------------------------

    def add_merchant(self, merchant: Merchant) -> None:
        if not 0 <= merchant.fee_bp <= 10_000:
            raise UsageError("fee_bp is 0-10000 basis points", argument="fee_bp")
        self.db.run(
            lambda cur: cur.execute(
                "INSERT OR REPLACE INTO merchants (merchant_id, institution, name, kind, mcc,"
                " fee_bp, notify_url) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    merchant.merchant_id,
                    merchant.institution,
                    merchant.name,
                    merchant.kind.value,
                    merchant.mcc,
                    merchant.fee_bp,
                    merchant.notify_url,
                ),
            )
        )
        with self._lock:
            self._merchants[merchant.merchant_id] = merchant

    def merchant(self, merchant_id: str) -> Merchant | None:
        if merchant_id not in self._merchants:
            self._miss("merchants", "merchant_id = ?", (merchant_id,))
        return self._merchants.get(merchant_id)

    def add_collection_code(
        self, institution: str, token: str, merchant_id: str, kind: CollectionKind
    ) -> None:
        self.db.run(
            lambda cur: cur.execute(
                "INSERT INTO collection_codes (token, institution, merchant_id, kind, created_us)"
                " VALUES (?, ?, ?, ?, ?)",
                (token, institution, merchant_id, kind.value, time.time_ns() // 1000),
            )
        )
        with self._lock:
            self._codes[(institution, token)] = (merchant_id, kind)

    def collection_code(self, institution: str, token: str) -> tuple[str, CollectionKind] | None:
        """(merchant id, kind) of a static collection code, or None."""
        if (institution, token) not in self._codes:
            self._miss("collection_codes", "institution = ? AND token = ?", (institution, token))
        return self._codes.get((institution, token))

    # -- wallets --------------------------------------------------------------------------------

    def add_account(self, account: WalletAccount) -> None:
        self.db.run(
            lambda cur: cur.execute(
                "INSERT OR REPLACE INTO wallet_accounts (institution, account_id, customer_id,"
                " agreed_limit) VALUES (?, ?, ?, ?)",
                (
                    account.institution,
                    account.account_id,
                    account.customer_id,
                    account.agreed_limit,
                ),
            )
        )
        with self._lock:
            self._accounts[(account.institution, account.account_id)] = account

    def account(self, institution: str, account_id: str) -> WalletAccount | None:
        if (institution, account_id) not in self._accounts:
            where = "institution = ? AND account_id = ?"
            self._miss("wallet_accounts", where, (institution, account_id))
        return self._accounts.get((institution, account_id))

    def add_device(self, device: Device) -> None:
        if (device.institution, device.handle) in self._devices:
            raise UsageError("the handle is already enrolled", argument="handle")
        self.db.run(
            lambda cur: cur.execute(
                "INSERT INTO devices (institution, handle, customer_id, account_id, grade)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    device.institution,
                    device.handle,
                    device.customer_id,
                    device.account_id,
                    device.grade,
                ),
            )
        )
        with self._lock:
            self._devices[(device.institution, device.handle)] = device

    def devices_of(self, institution: str, customer_id: str) -> list[Device]:
        """The devices a customer has enrolled at an institution (read from the table)."""
        sql = f"SELECT {_COLUMNS['devices']} FROM devices WHERE institution = ? AND customer_id = ?"  # noqa: S608
        return [Device(*row) for row in self.db.all(sql, (institution, customer_id))]

    def device(self, institution: str, handle: str) -> Device | None:
        if (institution, handle) not in self._devices:
            self._miss("devices", "institution = ? AND handle = ?", (institution, handle))
        return self._devices.get((institution, handle))


class DeviceSecrets:
    """An institution's device directory: secrets derived from its master key, on demand."""

    def __init__(self, directory: Directory, institution: str, master_key: bytes) -> None:
        if len(master_key) < 16:
            raise UsageError("the master key needs at least 16 bytes", argument="master_key")
        self._directory = directory
        self._institution = institution
        self._master = bytes(master_key)
        self._cache: dict[str, bytes] = {}

    def __repr__(self) -> str:  # never the master key
        return f"DeviceSecrets({self._institution!r})"

    def device_secret(self, handle: str) -> bytes | None:
        if self._directory.device(self._institution, handle) is None:
            return None
        secret = self._cache.get(handle)
        if secret is None:
            secret = self._cache[handle] = derive_device_secret(self._master, handle)
        return secret
