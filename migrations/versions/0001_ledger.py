"""The ledger: accounts, transfers (the postings), pending states, burnt ids, balance history.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from zhifu.ledger import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in schema.ddl_v1(dialect):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in schema.drop_v1(dialect):
        op.execute(statement)
