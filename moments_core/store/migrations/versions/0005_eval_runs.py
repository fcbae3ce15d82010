"""Evaluation run records (issue 16): one row per run of a suite.

The record itself is JSON (``record_json``: variants with their config versions, every
case's turns and verdicts, the judge's reasoning, timings); the other columns are what
``moments eval list`` shows and filters by. Branches from 0003 beside 0004_path_index;
``migrate.upgrade`` applies every head.

Revision ID: 0005_eval_runs
Revises: 0003_pg_snapshot_layout
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_eval_runs"
down_revision = "0003_pg_snapshot_layout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("suite_name", sa.String(200), nullable=False),
        sa.Column("suite_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("variants", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("record_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_eval_runs"),
    )
    op.create_index("ix_eval_runs_suite_created", "eval_runs", ["suite_name", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_eval_runs_suite_created", table_name="eval_runs")
    op.drop_table("eval_runs")
