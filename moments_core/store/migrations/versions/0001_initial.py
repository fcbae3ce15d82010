"""Log store: moments, snapshots relative to their parent, feedback, config versions,
and the S3 mirror's outbox.

Revision ID: 0001_initial
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from moments_core.store.tables import UTCDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moments",
        sa.Column("moment_id", sa.String(64), primary_key=True),
        sa.Column("agent_kind", sa.String(100), nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("agent_variant", sa.String(100), nullable=False),
        sa.Column("agent_instance_id", sa.String(100), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(30), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_moments_agent_created", "moments",
        ["agent_kind", "agent_id", "agent_variant", "created_at"],
    )
    op.create_index("ix_moments_created", "moments", ["created_at"])

    op.create_table(
        "snapshots",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("snapshot_id", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "moment_id", sa.String(64), sa.ForeignKey("moments.moment_id"), nullable=False
        ),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("previous_snapshot_id", sa.String(64), nullable=True),
        sa.Column("timestamp", sa.String(40), nullable=False),
        sa.Column("annotations_yaml", sa.Text(), nullable=False),
        sa.Column("kept", sa.Integer(), nullable=False),
        sa.Column("added_count", sa.Integer(), nullable=False),
        sa.Column("added", sa.Text(), nullable=False),
    )
    op.create_index("ix_snapshots_moment", "snapshots", ["moment_id", "seq"])
    op.create_index("ix_snapshots_parent", "snapshots", ["parent_id"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("snapshot_id", sa.String(64), nullable=False),
        sa.Column("moment_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("other_snapshot_id", sa.String(64), nullable=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_feedback_moment", "feedback", ["moment_id"])
    op.create_index("ix_feedback_snapshot_id", "feedback", ["snapshot_id"])

    op.create_table(
        "config_versions",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agent_kind", sa.String(100), nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("agent_variant", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "agent_kind", "agent_id", "agent_variant", "version", name="uq_config_versions"
        ),
    )

    op.create_table(
        "s3_outbox",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("snapshot_id", sa.String(64), nullable=False, unique=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("s3_outbox", "config_versions", "feedback", "snapshots", "moments"):
        op.drop_table(table)
