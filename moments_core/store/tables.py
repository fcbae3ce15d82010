"""The SQL tables of the log store, as SQLModel classes.

The schema itself is created by the Alembic migrations in ``migrations/versions``; these
classes describe the same tables for queries. Keep the two in step (a test checks it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlmodel import Column, Field, SQLModel

from .ids import CompactId


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zone type; storing naive UTC keeps ordering and ``since``/``until``
    filters correct there and on Postgres alike.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text in a few driver paths
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MomentRow(SQLModel, table=True):
    __tablename__ = "moments"
    __table_args__ = (
        PrimaryKeyConstraint("pk", name="pk_moments"),
        UniqueConstraint("moment_id", name="uq_moments_moment_id"),
        Index("ix_moments_agent_created", "agent_kind", "agent_id", "agent_variant", "created_at"),
        Index("ix_moments_created", "created_at"),
    )

    # Integer surrogate key: each snapshot row names its moment in a few bytes instead of
    # repeating a 36-character id.
    pk: int | None = Field(default=None, primary_key=True)
    moment_id: str = Field(max_length=64)
    agent_kind: str = Field(default="Agent", max_length=100)
    agent_id: str = Field(default="", max_length=200)
    agent_variant: str = Field(default="", max_length=100)
    agent_instance_id: str = Field(default="", max_length=100)
    config_version: int | None = Field(default=None)
    source: str = Field(default="chat", max_length=30)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    deleted: bool = Field(default=False)
    meta: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class SnapshotRow(SQLModel, table=True):
    """One snapshot, stored relative to its parent: ``kept`` occurrences of the parent's
    moment, then ``added`` (canonical MDL of the appended occurrences).

    Compact on purpose (revisions 0002 and 0003): a chat turn adds one short line, so
    every byte of per-row bookkeeping counts. The moment and the parent are integer keys,
    the timestamp two integers, the snapshot's own id 16 bytes; the appended MDL is the
    only text. Columns are in the order Postgres stores them, widest first (no padding).

    Keys differ by back end (revision 0003): on SQLite ``seq`` is the rowid (declared
    here) and ``ix_snapshots_moment`` indexes ``(moment_pk, seq)``; on Postgres the
    primary key itself is ``(moment_pk, seq)`` and there is no other index on them, so
    every lookup by ``seq`` also names the moment. On both, ``seq`` comes from the
    database (rowid, sequence) and is unique.
    """

    __tablename__ = "snapshots"
    __table_args__ = (
        PrimaryKeyConstraint("seq", name="pk_snapshots"),
        UniqueConstraint("snapshot_id", name="uq_snapshots_snapshot_id"),
        # A moment's rows in insertion order (parents first); children() also uses it,
        # so the parent link needs no index of its own. SQLite only: on Postgres the
        # primary key is this index (revision 0003).
        Index("ix_snapshots_moment", "moment_pk", "seq"),
    )

    # The timestamp as given: microseconds since the epoch (UTC) and its UTC offset.
    ts_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Insertion order: a parent is always stored before its children, so ordering by
    # seq gives "parents before children" and "oldest first" without comparing clocks.
    seq: int | None = Field(default=None, primary_key=True)
    moment_pk: int = Field(
        sa_column=Column(Integer, ForeignKey("moments.pk", name="fk_snapshots_moment"),
                         nullable=False)
    )
    parent_seq: int | None = Field(default=None)  # the parent's seq (None: a root)
    utc_offset_s: int = Field(default=0)
    kept: int = Field(default=0)
    added_count: int = Field(default=0)
    # 16 bytes for a UUID (see ids.py): stored twice, in the row and its unique index.
    snapshot_id: str = Field(sa_column=Column(CompactId(), nullable=False))
    previous_snapshot_id: str | None = Field(default=None, max_length=64)  # as written
    annotations_yaml: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    added: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Revision 0007: the lengths of the answers ``added`` holds, a minus sign before a
    # rejected one ("24", "-31,18"; answer_facts.encode_answers), NULL where it holds
    # none: what the Insights page counts, without parsing ``added``.
    answers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class FeedbackRow(SQLModel, table=True):
    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_moment", "moment_id"),)

    id: str = Field(primary_key=True, max_length=64)
    snapshot_id: str = Field(max_length=64, index=True)
    moment_id: str = Field(max_length=64)
    kind: str = Field(max_length=30)
    value_json: str = Field(default="null", sa_column=Column(Text, nullable=False))
    other_snapshot_id: str | None = Field(default=None, max_length=64)
    author: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConfigVersionRow(SQLModel, table=True):
    __tablename__ = "config_versions"
    __table_args__ = (
        UniqueConstraint("agent_kind", "agent_id", "agent_variant", "version",
                         name="uq_config_versions"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    agent_kind: str = Field(max_length=100)
    agent_id: str = Field(max_length=200)
    agent_variant: str = Field(max_length=100)
    version: int
    yaml_text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class S3OutboxRow(SQLModel, table=True):
    """Durable queue of snapshots still to be copied to the S3 mirror."""

    __tablename__ = "s3_outbox"

    seq: int | None = Field(default=None, primary_key=True)
    snapshot_id: str = Field(max_length=64, unique=True)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


# Plain Table objects for SQLAlchemy Core statements (faster than ORM sessions on the
# chat hot path, and typed the same way).
moments_t = MomentRow.__table__  # type: ignore[attr-defined]
snapshots_t = SnapshotRow.__table__  # type: ignore[attr-defined]
feedback_t = FeedbackRow.__table__  # type: ignore[attr-defined]
configs_t = ConfigVersionRow.__table__  # type: ignore[attr-defined]
outbox_t = S3OutboxRow.__table__  # type: ignore[attr-defined]
