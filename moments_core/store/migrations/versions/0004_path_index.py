"""The path index of the OpenAI-compatible API: a hash of a conversation's history ->
the snapshot it ends at (see ``moments_core/store/path_index.py``).

One row per indexed history, keyed by the hex SHA-256 of the path; on SQLite the table
is ``WITHOUT ROWID`` (the key is the row's only index). Nothing else changes.

Revision ID: 0004_path_index
Revises: 0003_pg_snapshot_layout
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_path_index"
down_revision = "0003_pg_snapshot_layout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "path_index",
        sa.Column("path_key", sa.String(64), nullable=False),
        sa.Column("snapshot_id", sa.String(64), nullable=False),
        sa.Column("moment_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("path_key", name="pk_path_index"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("path_index")
