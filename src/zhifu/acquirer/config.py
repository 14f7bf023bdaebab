"""The acquirer host's settings and its local data directory (``var/``).

``make run`` starts the host with :meth:`AcquirerConfig.local`: everything lives in one data
directory, ``var/`` under the working directory unless ``ZHIFU_HOME`` names another::

    var/            mode 0700 when zhifu creates it
      acquirer.db   merchants, terminals, parameter tables, message journal (SQLite)
      keys.db       the security module's key store (keys sealed under the LMK)
      lmk.key       local master key, created on first start ONLY when no LMK is configured

Every file there has mode 0600, SQLite's ``-wal`` and ``-shm`` files included
(:mod:`zhifu.core.files`).

The LMK comes from ``ZHIFU_LMK`` (64 hex digits) or the file named by ``ZHIFU_LMK_FILE``. When
neither is set, a local run creates ``var/lmk.key`` (mode 0600, 32 random bytes as hex) and
logs a warning: a production host takes its LMK from a real key custodian, never from a file
generated next to the database it protects.

>>> cfg = AcquirerConfig(port=0)
>>> cfg.host, cfg.port, cfg.db_path, cfg.idle_timeout_seconds
('127.0.0.1', 0, ':memory:', 120.0)
>>> AcquirerConfig(port=70000)
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: port: must be 0 to 65535, got 70000
>>> zhifu_home({"ZHIFU_HOME": "/srv/zhifu"}).as_posix()
'/srv/zhifu'
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from zhifu.codec.home import HOME_ENV
from zhifu.codec.home import data_home as zhifu_home
from zhifu.core.errors import UsageError
from zhifu.core.files import private_file, private_folder
from zhifu.security.store import LMK_ENV, LMK_FILE_ENV, KeyStore

__all__ = [
    "DEFAULT_PORT",
    "HOME_ENV",
    "AcquirerConfig",
    "ensure_local_lmk",
    "open_key_store",
    "zhifu_home",
]

DEFAULT_PORT = 5800
DB_FILE, KEY_STORE_FILE, LMK_FILE = "acquirer.db", "keys.db", "lmk.key"
LOCAL_LMK_WARNING = (
    "no LMK configured ({env} / {file_env}): created a local one at {path} for this "
    "development host. Use a real LMK in production (set {env} or {file_env})."
)

log = logging.getLogger("zhifu.acquirer")


@dataclasses.dataclass(frozen=True)
class AcquirerConfig:
    """Everything the host needs to know; the defaults suit tests (all in memory).

    ``max_frame_length`` bounds one frame body; ``queue_size`` bounds the frames read ahead
    on one connection (pipelining). A new connection is refused past ``max_connections`` in
    all or ``max_connections_per_address`` from its source address; it is closed when its
    first frame has not arrived within ``first_frame_timeout_seconds``, and later when a
    frame takes longer than ``idle_timeout_seconds``. ``page_size`` is the number of records
    in one CAPK/AID query response; ``mak_double_length`` gives 003/004 sign-ons a true
    double-length MAK instead of the single-length MAK terminals expect in practice
    (``docs/acquirer.md``, "Sign-on keys"). ``card_payments`` False: the host answers
    financial requests ``40`` (no issuer, no ledger); ``merchant_fee_bp`` is the merchant fee
    taken at batch settlement, in basis points (38 = 0.38%). ``issuer_address`` (``HOST:PORT``)
    sends authorisations to an issuer host over TCP instead of the in-process issuer;
    ``issuer_tls`` over TLS 1.3, trusting ``tls_folder``'s CA and presenting its
    ``client-acquirer`` certificate (``zhifu pki init --client acquirer``).
    ``bank_code`` is the acquiring bank's CNAPS code and ``issuer_bank_code`` that of the bank
    whose cards the issuer serves: settled card batches become interbank obligations between
    them, for BEPS clearing. ``tls_folder`` (a folder made by ``zhifu pki init``) puts TLS 1.3
    on the port, with client certificates required when ``tls_client_auth``. ``risk`` is how
    the risk rules act (:mod:`zhifu.acquirer.risk`): ``enforce`` (refuse, block) or ``monitor``
    (alert and audit only); ``risk_rules`` a JSON file of rules replacing the default set
    (``zhifu/security/risk/rules.json`` is the format); ``risk_webhook`` a URL every alert is
    POSTed to, signed with the secret in ``ZHIFU_RISK_WEBHOOK_SECRET``.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    db_path: str = ":memory:"
    key_store_path: str = ":memory:"
    profile: str = "cup"
    institution_id: str = "48888888"
    max_frame_length: int = 8192
    queue_size: int = 16
    idle_timeout_seconds: float = 120.0
    first_frame_timeout_seconds: float = 10.0
    max_connections: int = 1024
    max_connections_per_address: int = 32
    workers: int = 4
    tls_folder: str = ""
    tls_client_auth: bool = False
    page_size: int = 10
    mak_double_length: bool = False
    card_payments: bool = True
    merchant_fee_bp: int = 38
    issuer_address: str = ""
    issuer_tls: bool = False
    bank_code: str = "103100000026"
    issuer_bank_code: str = "102100099996"
    risk: str = "enforce"
    risk_rules: str = ""
    risk_webhook: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise UsageError(f"must be 0 to 65535, got {self.port}", argument="port")
        if not 64 <= self.max_frame_length <= 0xFFFF:
            raise UsageError("must be 64 to 65535 bytes", argument="max_frame_length")
        for name in ("queue_size", "max_connections", "max_connections_per_address", "workers"):
            if getattr(self, name) < 1:
                raise UsageError("must be at least 1", argument=name)
        for name in ("idle_timeout_seconds", "first_frame_timeout_seconds"):
            if not getattr(self, name) > 0:
                raise UsageError("must be positive", argument=name)
        if not 1 <= self.page_size <= 20:
            raise UsageError(
                "must be 1 to 20 records (field 62 is 512 bytes)", argument="page_size"
            )
        if self.risk not in {"enforce", "monitor"}:
            raise UsageError("enforce or monitor", argument="risk")
        if not 0 <= self.merchant_fee_bp <= 10_000:
            raise UsageError("must be 0 to 10000 basis points", argument="merchant_fee_bp")
        iid = self.institution_id
        if not (iid.isascii() and iid.isdigit() and 1 <= len(iid) <= 11):
            raise UsageError("field 32 is 1 to 11 digits", argument="institution_id")

    @classmethod
    def local(
        cls,
        home: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> AcquirerConfig:
        """The configuration of a local run: database and key store in the data directory."""
        root = Path(home) if home is not None else zhifu_home(environ)
        paths = {"db_path": str(root / DB_FILE), "key_store_path": str(root / KEY_STORE_FILE)}
        return dataclasses.replace(cls(), **{**paths, **overrides})  # type: ignore[arg-type]

    @property
    def home(self) -> Path | None:
        """The data directory (that of the database file), None when in memory."""
        return None if self.db_path == ":memory:" else Path(self.db_path).parent


def ensure_local_lmk(home: str | Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment to open the key store with, creating ``home/lmk.key`` if need be.

    When ``ZHIFU_LMK`` or ``ZHIFU_LMK_FILE`` is set, the environment is returned unchanged.
    Otherwise the local key file is used (created with mode 0600 on first start, with a
    warning), and the returned environment names it in ``ZHIFU_LMK_FILE``.
    """
    env = dict(os.environ if environ is None else environ)
    if env.get(LMK_ENV) or env.get(LMK_FILE_ENV):
        return env
    path = private_folder(home) / LMK_FILE
    if private_file(path, (secrets.token_hex(32) + "\n").encode("ascii")):
        log.warning(LOCAL_LMK_WARNING.format(env=LMK_ENV, file_env=LMK_FILE_ENV, path=path))
    env[LMK_FILE_ENV] = str(path)
    return env


def open_key_store(config: AcquirerConfig, environ: Mapping[str, str] | None = None) -> KeyStore:
    """The key store of ``config``: in memory, or on disk with the LMK of a local run."""
    if config.key_store_path == ":memory:":
        return KeyStore.in_memory()
    home = private_folder(Path(config.key_store_path).parent)
    return KeyStore.open(config.key_store_path, environ=ensure_local_lmk(home, environ))
