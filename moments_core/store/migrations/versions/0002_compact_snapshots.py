"""Compact snapshot rows: integer keys for the moment and the parent, integer timestamps.

A chat turn appends one line, so the 0001 row (three 36-character ids and a 32-character
ISO time, the ids again in two indexes) cost several times the text it held. Now the
moment is named by its integer ``moments.pk``, the parent by its ``seq``, the timestamp
by microseconds since the epoch plus the UTC offset in seconds, and the snapshot's own id
by 16 bytes when it is a UUID (``ids.py``); the ``ix_snapshots_parent`` index goes
(children are found through the moment's index).

Both tables are rebuilt (SQLite cannot add a primary key or change columns in place) and
every row is copied, converted in Python batch by batch; ``seq`` values are kept, so the
order of snapshots is unchanged.

Revision ID: 0002_compact_snapshots
Revises: 0001_initial
Create Date: 2026-01-02
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from moments_core.store import ids
from moments_core.store.stamps import decode, encode
from moments_core.store.tables import UTCDateTime

revision = "0002_compact_snapshots"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_BATCH = 5_000
_MOMENT_COLS = ("moment_id", "agent_kind", "agent_id", "agent_variant", "agent_instance_id",
                "config_version", "source", "created_at", "deleted", "meta")


def _moment_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("moment_id", sa.String(64), nullable=False),
        sa.Column("agent_kind", sa.String(100), nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("agent_variant", sa.String(100), nullable=False),
        sa.Column("agent_instance_id", sa.String(100), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(30), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
    ]


def _copy(select_sql: str, target: sa.Table, convert: Callable[[Any], dict[str, Any]]) -> None:
    """Copy rows in batches keyed on ``seq`` (the select's first column), converting each."""
    bind = op.get_bind()
    last = -(2**62)
    while True:
        rows: Sequence[Any] = bind.execute(
            sa.text(select_sql), {"last": last, "n": _BATCH}
        ).fetchall()
        if not rows:
            return
        bind.execute(target.insert(), [convert(r) for r in rows])
        last = rows[-1][0]


def _reset_serial(table: str, column: str) -> None:
    """Rows were copied with their own keys; Postgres's sequence must continue after them."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(  # names are this module's constants, never input
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"  # noqa: S608
            f" COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
        )


def _moment_indexes() -> None:
    op.create_index(
        "ix_moments_agent_created", "moments",
        ["agent_kind", "agent_id", "agent_variant", "created_at"],
    )
    op.create_index("ix_moments_created", "moments", ["created_at"])


def upgrade() -> None:
    cols = ", ".join(_MOMENT_COLS)
    op.create_table(
        "moments_0002",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        *_moment_columns(),
        sa.PrimaryKeyConstraint("pk", name="pk_moments"),
        sa.UniqueConstraint("moment_id", name="uq_moments_moment_id"),
    )
    # Oldest first, so surrogate keys follow creation order.
    op.execute(f"INSERT INTO moments_0002 ({cols}) SELECT {cols} FROM moments"  # noqa: S608
               " ORDER BY created_at, moment_id")

    snapshots = op.create_table(
        "snapshots_0002",
        sa.Column("seq", sa.Integer(), autoincrement=True),
        sa.Column("snapshot_id", sa.LargeBinary(), nullable=False),  # see ids.py
        sa.Column("moment_pk", sa.Integer(), nullable=False),
        sa.Column("parent_seq", sa.Integer(), nullable=True),
        sa.Column("previous_snapshot_id", sa.String(64), nullable=True),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("utc_offset_s", sa.Integer(), nullable=False),
        sa.Column("annotations_yaml", sa.Text(), nullable=False),
        sa.Column("kept", sa.Integer(), nullable=False),
        sa.Column("added_count", sa.Integer(), nullable=False),
        sa.Column("added", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_snapshots"),
        sa.UniqueConstraint("snapshot_id", name="uq_snapshots_snapshot_id"),
        sa.ForeignKeyConstraint(["moment_pk"], ["moments_0002.pk"], name="fk_snapshots_moment"),
    )
    assert snapshots is not None

    def convert(r: Any) -> dict[str, Any]:
        ts_us, offset = encode(datetime.fromisoformat(r.timestamp))
        # 0001 kept previous_snapshot_id only where it differed from the tree link; a link
        # to a parent that is not stored becomes a root that still says what it followed.
        prev = r.previous_snapshot_id
        if r.parent_seq is None and r.parent_id is not None and prev is None:
            prev = r.parent_id
        return {"seq": r.seq, "snapshot_id": ids.encode(r.snapshot_id),
                "moment_pk": r.moment_pk, "parent_seq": r.parent_seq,
                "previous_snapshot_id": prev, "ts_us": ts_us,
                "utc_offset_s": offset, "annotations_yaml": r.annotations_yaml,
                "kept": r.kept, "added_count": r.added_count, "added": r.added}

    _copy(
        "SELECT s.seq, s.snapshot_id, m.pk AS moment_pk, p.seq AS parent_seq, s.parent_id,"
        ' s.previous_snapshot_id, s."timestamp", s.annotations_yaml, s.kept, s.added_count,'
        " s.added FROM snapshots s JOIN moments_0002 m ON m.moment_id = s.moment_id"
        " LEFT JOIN snapshots p ON p.snapshot_id = s.parent_id"
        " WHERE s.seq > :last ORDER BY s.seq LIMIT :n",
        snapshots, convert,
    )
    op.drop_table("snapshots")
    op.drop_table("moments")
    # SQLite rewrites the foreign key of snapshots_0002 to follow this rename.
    op.rename_table("moments_0002", "moments")
    op.rename_table("snapshots_0002", "snapshots")
    _moment_indexes()
    op.create_index("ix_snapshots_moment", "snapshots", ["moment_pk", "seq"])
    _reset_serial("snapshots", "seq")
    if op.get_bind().dialect.name == "postgresql":  # names as a fresh table would have
        op.execute("ALTER SEQUENCE moments_0002_pk_seq RENAME TO moments_pk_seq")
        op.execute("ALTER SEQUENCE snapshots_0002_seq_seq RENAME TO snapshots_seq_seq")


def downgrade() -> None:
    cols = ", ".join(_MOMENT_COLS)
    op.create_table(
        "moments_0001", *_moment_columns(), sa.PrimaryKeyConstraint("moment_id"),
    )
    op.execute(f"INSERT INTO moments_0001 ({cols}) SELECT {cols} FROM moments")  # noqa: S608
    snapshots = op.create_table(
        "snapshots_0001",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("snapshot_id", sa.String(64), nullable=False, unique=True),
        sa.Column("moment_id", sa.String(64), sa.ForeignKey("moments_0001.moment_id"),
                  nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("previous_snapshot_id", sa.String(64), nullable=True),
        sa.Column("timestamp", sa.String(40), nullable=False),
        sa.Column("annotations_yaml", sa.Text(), nullable=False),
        sa.Column("kept", sa.Integer(), nullable=False),
        sa.Column("added_count", sa.Integer(), nullable=False),
        sa.Column("added", sa.Text(), nullable=False),
    )
    assert snapshots is not None

    def convert(r: Any) -> dict[str, Any]:
        ts = decode(r.ts_us, r.utc_offset_s)
        return {"seq": r.seq, "snapshot_id": ids.decode(r.snapshot_id),
                "moment_id": r.moment_id,
                "parent_id": None if r.parent_id is None else ids.decode(r.parent_id),
                "previous_snapshot_id": r.previous_snapshot_id,
                "timestamp": (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat(),
                "annotations_yaml": r.annotations_yaml, "kept": r.kept,
                "added_count": r.added_count, "added": r.added}

    _copy(
        "SELECT s.seq, s.snapshot_id, m.moment_id, p.snapshot_id AS parent_id,"
        " s.previous_snapshot_id, s.ts_us, s.utc_offset_s, s.annotations_yaml, s.kept,"
        " s.added_count, s.added FROM snapshots s JOIN moments m ON m.pk = s.moment_pk"
        " LEFT JOIN snapshots p ON p.seq = s.parent_seq"
        " WHERE s.seq > :last ORDER BY s.seq LIMIT :n",
        snapshots, convert,
    )
    op.drop_table("snapshots")
    op.drop_table("moments")
    op.rename_table("moments_0001", "moments")
    op.rename_table("snapshots_0001", "snapshots")
    _moment_indexes()
    op.create_index("ix_snapshots_moment", "snapshots", ["moment_id", "seq"])
    op.create_index("ix_snapshots_parent", "snapshots", ["parent_id"])
    _reset_serial("snapshots", "seq")
