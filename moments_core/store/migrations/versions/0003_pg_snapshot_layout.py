"""Postgres: a leaner snapshot table (SQLite is left as it is).

On Postgres revision 0002 gave the snapshot table three B-tree indexes: the primary key
on ``seq``, ``(moment_pk, seq)`` and the unique snapshot id. Every lookup by ``seq`` is
within a known moment (the path walk carries the moment's key, ``children`` joins on
it), so the primary key becomes ``(moment_pk, seq)`` and the separate index on ``seq``
goes: about 25 bytes a row. ``seq`` still comes from its own sequence, so it stays
unique and in insertion order. The columns are reordered widest first (the 8-byte
timestamp, then the 4-byte integers, then the variable-length values), so Postgres pads
nothing between them, and the primary key's pages are packed full (``fillfactor=100``:
rows are never updated, new keys come at the end of their moment). The unique snapshot
id index keeps the default: its keys are random UUIDs, inserted anywhere.

SQLite needs none of this: there ``seq`` is the rowid (no index of its own) and a
record has no alignment padding, so this revision changes nothing on SQLite.

The table is rebuilt and every row copied in one statement, in ``seq`` order; ``seq``
values and their sequence are kept.

Revision ID: 0003_pg_snapshot_layout
Revises: 0002_compact_snapshots
Create Date: 2026-01-03
"""

from __future__ import annotations

from alembic import op

revision = "0003_pg_snapshot_layout"
down_revision = "0002_compact_snapshots"
branch_labels = None
depends_on = None

# Widest first: no padding between columns (int8, int4 x 6, then varlena).
_COLS_0003 = ("ts_us", "seq", "moment_pk", "parent_seq", "utc_offset_s", "kept",
              "added_count", "snapshot_id", "previous_snapshot_id", "annotations_yaml",
              "added")
_COLS_0002 = ("seq", "snapshot_id", "moment_pk", "parent_seq", "previous_snapshot_id",
              "ts_us", "utc_offset_s", "annotations_yaml", "kept", "added_count", "added")
_TYPES = {
    "ts_us": "bigint NOT NULL",
    "seq": "integer NOT NULL DEFAULT nextval('snapshots_seq_seq'::regclass)",
    "moment_pk": "integer NOT NULL",
    "parent_seq": "integer",
    "utc_offset_s": "integer NOT NULL",
    "kept": "integer NOT NULL",
    "added_count": "integer NOT NULL",
    "snapshot_id": "bytea NOT NULL",
    "previous_snapshot_id": "varchar(64)",
    "annotations_yaml": "text NOT NULL",
    "added": "text NOT NULL",
}


def _rebuild(cols: tuple[str, ...], primary_key: str, fillfactor: str) -> None:
    """Copy ``snapshots`` into a new table with ``cols`` in this order and the given
    primary key, then put it in the old one's place, the ``seq`` sequence moved along."""
    names = ", ".join(cols)
    columns = ", ".join(f"{c} {_TYPES[c]}" for c in cols)
    # Names are this module's constants, never input.
    op.execute(f"CREATE TABLE snapshots_new ({columns}) WITH (fillfactor=100)")
    op.execute(f"INSERT INTO snapshots_new ({names})"  # noqa: S608
               f" SELECT {names} FROM snapshots ORDER BY seq")
    op.execute("ALTER SEQUENCE snapshots_seq_seq OWNED BY snapshots_new.seq")
    op.execute("DROP TABLE snapshots")
    op.execute("ALTER TABLE snapshots_new RENAME TO snapshots")
    op.execute(f"ALTER TABLE snapshots ADD CONSTRAINT pk_snapshots PRIMARY KEY ({primary_key})"
               f"{fillfactor}")
    op.execute("ALTER TABLE snapshots ADD CONSTRAINT uq_snapshots_snapshot_id"
               " UNIQUE (snapshot_id)")
    op.execute("ALTER TABLE snapshots ADD CONSTRAINT fk_snapshots_moment"
               " FOREIGN KEY (moment_pk) REFERENCES moments (pk)")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild(_COLS_0003, "moment_pk, seq", " WITH (fillfactor=100)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild(_COLS_0002, "seq", "")
    op.execute("CREATE INDEX ix_snapshots_moment ON snapshots (moment_pk, seq)")
