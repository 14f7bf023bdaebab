"""The ledger's tables (SQLAlchemy Core), their triggers, and the schema versions.

The tables are declared once with SQLAlchemy Core and compiled for SQLite or PostgreSQL.
Transfers are the postings: each row is one double entry (debit account, credit account,
amount), never updated or deleted; triggers refuse it, in both dialects. Account rows may only
change their four balances; a pending transfer's state may only move once, away from PENDING.

Schema versions are Alembic revisions (``migrations/``); :data:`SCHEMA_REVISION` is the head.
``Ledger.open`` creates a fresh database at the head and stamps it, so that ``alembic upgrade``
works on it later. Each revision's statements live here, frozen under its name.

>>> any("WITHOUT ROWID" in s for s in ddl_v1("sqlite"))
True
>>> any("FOR EACH ROW" in s for s in ddl_v1("postgresql"))
True
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from zhifu.core.errors import UsageError

SCHEMA_REVISION: Final = "0001"
IMMUTABLE_TABLES: Final = ("transfers", "transfer_failures", "account_balances")

metadata = sa.MetaData()
_id = sa.LargeBinary(16)


def _balances() -> list[sa.Column[int]]:
    return [
        sa.Column(name, sa.BigInteger, nullable=False)
        for name in ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
    ]


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", _id, primary_key=True),
    sa.Column("ledger", sa.BigInteger, nullable=False),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("flags", sa.Integer, nullable=False),
    sa.Column("user_data_128", _id),
    sa.Column("user_data_64", sa.BigInteger, nullable=False),
    sa.Column("user_data_32", sa.BigInteger, nullable=False),
    *_balances(),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.CheckConstraint(
        "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0"
        " AND credits_posted >= 0",
        name="accounts_balances_not_negative",
    ),
    sqlite_with_rowid=False,
    # Balances change in place all day: room on each page keeps the updates HOT (no index
    # entries, dead versions pruned on the page), and autovacuum visits the table often.
    postgresql_with={"fillfactor": 50, "autovacuum_vacuum_scale_factor": 0.01},
)
sa.Index("accounts_timestamp", accounts.c.timestamp, unique=True)

transfers = sa.Table(
    "transfers",
    metadata,
    sa.Column("id", _id, primary_key=True),
    sa.Column("debit_account_id", _id, nullable=False),
    sa.Column("credit_account_id", _id, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("ledger", sa.BigInteger, nullable=False),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("flags", sa.Integer, nullable=False),
    sa.Column("pending_id", _id),
    sa.Column("timeout", sa.BigInteger, nullable=False),
    sa.Column("user_data_128", _id),
    sa.Column("user_data_64", sa.BigInteger, nullable=False),
    sa.Column("user_data_32", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.CheckConstraint("amount >= 0", name="transfers_amount_not_negative"),
    sqlite_with_rowid=False,
)
sa.Index("transfers_timestamp", transfers.c.timestamp, unique=True)
sa.Index("transfers_debit", transfers.c.debit_account_id, transfers.c.timestamp)
sa.Index("transfers_credit", transfers.c.credit_account_id, transfers.c.timestamp)

pending_transfers = sa.Table(
    "pending_transfers",
    metadata,
    sa.Column("id", _id, primary_key=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False),  # 0: no timeout
    sa.Column("state", sa.SmallInteger, nullable=False),  # model.PendingState
    sa.Column("resolved_by", _id),  # the post or void transfer
    sa.Column("resolved_at", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
_open_with_timeout = sa.and_(pending_transfers.c.state == 1, pending_transfers.c.expires_at > 0)
sa.Index(
    "pending_transfers_due",
    pending_transfers.c.expires_at,
    sqlite_where=_open_with_timeout,
    postgresql_where=_open_with_timeout,
)

transfer_failures = sa.Table(  # ids burnt by a transient failure
    "transfer_failures",
    metadata,
    sa.Column("id", _id, primary_key=True),
    sa.Column("result", sa.Integer, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

account_balances = sa.Table(  # history of accounts flagged HISTORY
    "account_balances",
    metadata,
    sa.Column("account_id", _id, primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    *_balances(),
    sqlite_with_rowid=False,
)


def _dialect(name: str) -> Dialect:
    if name == "sqlite":
        return sqlite.dialect()
    if name == "postgresql":
        return postgresql.dialect()  # type: ignore[no-untyped-call]
    raise UsageError(f"unsupported database {name!r}", argument="url")


def _tables_ddl(dialect: Dialect) -> list[str]:
    out: list[str] = []
    for table in metadata.sorted_tables:
        out.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            compiled = CreateIndex(index).compile(
                dialect=dialect, compile_kwargs={"literal_binds": True}
            )
            out.append(str(compiled).strip())
    return out


_SQLITE_BALANCES_ONLY = """
CREATE TRIGGER accounts_fixed_fields BEFORE UPDATE OF
 id, ledger, code, flags, user_data_128, user_data_64, user_data_32, timestamp ON accounts
BEGIN SELECT RAISE(ABORT, 'ledger: only the balances of an account may change'); END"""
_SQLITE_PENDING_ONCE = """
CREATE TRIGGER pending_transfers_once BEFORE UPDATE ON pending_transfers
WHEN OLD.state <> 1 OR NEW.state = 1 OR NEW.id IS NOT OLD.id OR NEW.expires_at <> OLD.expires_at
BEGIN SELECT RAISE(ABORT, 'ledger: a pending transfer resolves at most once'); END"""


def _sqlite_triggers() -> list[str]:
    out = [_SQLITE_BALANCES_ONLY.strip(), _SQLITE_PENDING_ONCE.strip()]
    for table in (*IMMUTABLE_TABLES, "accounts", "pending_transfers"):
        out.append(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'ledger: {table} rows are never deleted'); END"
        )
    for table in IMMUTABLE_TABLES:
        out.append(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'ledger: {table} rows are never updated'); END"
        )
    return out


_PG_REFUSE = """
CREATE FUNCTION ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger: % on % refused (%)', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
    USING ERRCODE = 'integrity_constraint_violation';
END $$"""


def _pg_triggers() -> list[str]:
    out = [_PG_REFUSE.strip()]
    for table in IMMUTABLE_TABLES:
        out.append(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION ledger_refuse('rows are immutable')"
        )
    for table in (*IMMUTABLE_TABLES, "accounts", "pending_transfers"):
        out.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('never truncated')"
        )
    out += [
        "CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts "
        "FOR EACH ROW EXECUTE FUNCTION ledger_refuse('accounts are never deleted')",
        "CREATE TRIGGER accounts_fixed_fields BEFORE UPDATE OF id, ledger, code, flags,"
        " user_data_128, user_data_64, user_data_32, timestamp ON accounts "
        "FOR EACH ROW EXECUTE FUNCTION ledger_refuse('only balances may change')",
        "CREATE TRIGGER pending_transfers_no_delete BEFORE DELETE ON pending_transfers "
        "FOR EACH ROW EXECUTE FUNCTION ledger_refuse('never deleted')",
        "CREATE TRIGGER pending_transfers_once BEFORE UPDATE ON pending_transfers FOR EACH ROW "
        "WHEN (OLD.state <> 1 OR NEW.state = 1 OR NEW.id <> OLD.id"
        " OR NEW.expires_at <> OLD.expires_at) "
        "EXECUTE FUNCTION ledger_refuse('a pending transfer resolves at most once')",
    ]
    return out


def ddl_v1(dialect_name: str) -> list[str]:
    """The statements of revision 0001 (tables, indexes, triggers) for a dialect."""
    statements = _tables_ddl(_dialect(dialect_name))
    if dialect_name == "sqlite":
        return statements + _sqlite_triggers()
    return statements + _pg_triggers()


def drop_v1(dialect_name: str) -> list[str]:
    """Undo revision 0001 (used by the Alembic downgrade only)."""
    drops = [f"DROP TABLE IF EXISTS {t.name}" for t in reversed(metadata.sorted_tables)]
    if dialect_name == "postgresql":
        drops.append("DROP FUNCTION IF EXISTS ledger_refuse()")
    return drops


REVISIONS: Final = ((SCHEMA_REVISION, ddl_v1),)
VERSION_TABLE_DDL: Final = (
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
)


def bootstrap_statements(dialect_name: str) -> list[str]:
    """Everything that makes an empty database a ledger at :data:`SCHEMA_REVISION`."""
    statements: list[str] = []
    for _revision, ddl in REVISIONS:
        statements += ddl(dialect_name)
    statements.append(VERSION_TABLE_DDL)
    statements.append(f"INSERT INTO alembic_version (version_num) VALUES ('{SCHEMA_REVISION}')")  # noqa: S608 - constant SQL, values are bound
    return statements
