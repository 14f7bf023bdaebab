"""Alembic environment of the ledger: the URL comes from ``-x url=...`` or ZHIFU_LEDGER_URL."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from zhifu.ledger import schema

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "ZHIFU_LEDGER_URL"
    )
    if not url:
        raise SystemExit("give the ledger database: -x url=... or ZHIFU_LEDGER_URL")
    return url


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=schema.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=schema.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
