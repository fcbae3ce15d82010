"""Join the two branches of this round (0004_path_index, 0005_eval_runs) into one head.

They were written side by side from 0003 and touch different tables, so the merge changes
nothing; it only gives the next migration a single parent again.

Revision ID: 0006_merge_heads
Revises: 0004_path_index, 0005_eval_runs
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0006_merge_heads"
down_revision = ("0004_path_index", "0005_eval_runs")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
