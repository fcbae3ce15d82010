"""Alembic environment: runs on the connection the store hands over (never a URL of its own).

``moments_core.store.migrate.upgrade`` puts that connection in
``config.attributes["connection"]``, already inside a transaction that holds a lock, so
two processes opening a fresh database at once do not both create the tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import moments_core.store.tables  # noqa: F401  (registers the tables on the metadata)

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
)
with context.begin_transaction():
    context.run_migrations()
