"""SQL store that also copies every snapshot to S3 (MOMENTS_S3_MIRROR=1).

A snapshot is saved in SQL together with a row in the ``s3_outbox`` table, in one
transaction: the queue is as durable as the snapshot itself. After each save the queue is
drained; when S3 does not answer, the rows stay (with their error) and the next drain,
after ``retry_after_s``, tries again. Any process using the same database can drain it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from moments_core.mdl import Snapshot

from .base import (
    ConfigVersion,
    Feedback,
    LogStore,
    MomentInfo,
    MomentSummary,
    TreeNode,
)
from .s3 import S3Store, StoredSnapshot
from .sql import SqlStore
from .tables import outbox_t

log = logging.getLogger(__name__)


class MirroredStore(LogStore):
    """Reads and writes go to ``sql``; snapshots are copied to ``s3`` through the outbox."""

    def __init__(self, sql: SqlStore, s3: S3Store, *, retry_after_s: float = 30.0) -> None:
        sql.outbox = True
        self.sql = sql
        self.s3 = s3
        self.retry_after_s = retry_after_s
        self._next_try = 0.0
        self._lock = threading.Lock()
        self.drain()

    def __repr__(self) -> str:
        return f"MirroredStore({self.sql!r} -> {self.s3!r})"

    def pending(self) -> int:
        """Snapshots still waiting to be copied to S3."""
        with self.sql.engine.connect() as conn:
            return len(list(conn.scalars(select(outbox_t.c.seq))))

    def drain(self, *, force: bool = False, batch: int = 200) -> int:
        """Copy queued snapshots to S3; returns how many were copied. Stops at the first
        failure (S3 is likely down) and leaves the rest queued."""
        if not force and time.monotonic() < self._next_try:
            return 0
        if not self._lock.acquire(blocking=False):
            return 0  # another thread of this process is draining
        copied = 0
        try:
            while True:
                with self.sql.engine.connect() as conn:
                    queued = list(conn.execute(
                        select(outbox_t.c.seq, outbox_t.c.snapshot_id)
                        .order_by(outbox_t.c.seq).limit(batch)
                    ))
                if not queued:
                    return copied
                for seq, sid in queued:
                    try:
                        rec = StoredSnapshot(**{
                            k: v for k, v in self.sql.snapshot_record(sid).items() if k != "seq"
                        })
                        self.s3.put_record(self.sql.get_moment(rec.moment_id), rec)
                    except Exception as err:  # noqa: BLE001 - S3 down or refusing: keep it queued
                        self._failed(seq, err)
                        return copied
                    with self.sql.engine.connect().execution_options(
                        moments_write=True
                    ) as conn, conn.begin():
                        conn.execute(delete(outbox_t).where(outbox_t.c.seq == seq))
                    copied += 1
        finally:
            self._lock.release()

    def _failed(self, seq: int, err: Exception) -> None:
        self._next_try = time.monotonic() + self.retry_after_s
        message = f"{type(err).__name__}: {err}"[:500]
        log.warning("S3 mirror unavailable, snapshots stay queued: %s", message)
        with self.sql.engine.connect().execution_options(moments_write=True) as conn, \
                conn.begin():
            conn.execute(update(outbox_t).where(outbox_t.c.seq == seq).values(
                attempts=outbox_t.c.attempts + 1, last_error=message))

    # --- writes: SQL first, then the mirror -------------------------------------------------
    def save_snapshot(
        self, snapshot: Snapshot, info: MomentInfo | None = None, *, orphan_as_root: bool = False
    ) -> None:
        self.sql.save_snapshot(snapshot, info, orphan_as_root=orphan_as_root)
        self.drain()

    def save_moment(self, info: MomentInfo) -> None:
        self.sql.save_moment(info)

    def delete_moment(self, moment_id: str) -> None:
        self.sql.delete_moment(moment_id)

    def add_feedback(self, feedback: Feedback) -> Feedback:
        return self.sql.add_feedback(feedback)

    def save_config_version(
        self, agent_kind: str, agent_id: str, agent_variant: str, yaml_text: str, author: str = ""
    ) -> ConfigVersion:
        return self.sql.save_config_version(agent_kind, agent_id, agent_variant, yaml_text,
                                            author)

    # --- reads: SQL only ------------------------------------------------------------------------
    def get_moment(self, moment_id: str) -> MomentInfo:
        return self.sql.get_moment(moment_id)

    def has_snapshot(self, snapshot_id: str) -> bool:
        return self.sql.has_snapshot(snapshot_id)

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        return self.sql.get_snapshot(snapshot_id)

    def children(self, snapshot_id: str) -> list[str]:
        return self.sql.children(snapshot_id)

    def path(self, snapshot_id: str) -> list[Snapshot]:
        return self.sql.path(snapshot_id)

    def tree(self, moment_id: str) -> list[TreeNode]:
        return self.sql.tree(moment_id)

    def leaves(self, moment_id: str) -> list[Snapshot]:
        return self.sql.leaves(moment_id)

    def list_moments(
        self,
        agent_kind: str | None = None,
        agent_id: str | None = None,
        agent_variant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[MomentSummary]:
        return self.sql.list_moments(agent_kind, agent_id, agent_variant, since, until, source,
                                     include_deleted, limit, offset)

    def iter_leaves(
        self,
        agent_kind: str | None = None,
        agent_id: str | None = None,
        agent_variant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_deleted: bool = False,
    ) -> Iterator[tuple[MomentInfo, Snapshot]]:
        return self.sql.iter_leaves(agent_kind, agent_id, agent_variant, since, until,
                                    include_deleted)

    def iter_snapshot_texts(
        self, **filters: Any
    ) -> Iterator[tuple[str, int, int | None, str, str]]:
        """Aggregate reads go to SQL, like every read."""
        return self.sql.iter_snapshot_texts(**filters)

    def all_feedback(self) -> list[Feedback]:
        return self.sql.all_feedback()

    def fork_counts(self, **filters: Any) -> dict[str, int]:
        return self.sql.fork_counts(**filters)

    def moment_infos(self, **filters: Any) -> list[MomentInfo]:
        return self.sql.moment_infos(**filters)

    def iter_trees(
        self,
        agent_kind: str | None = None,
        agent_id: str | None = None,
        agent_variant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
        include_deleted: bool = False,
        batch_size: int = 500,
    ) -> Iterator[tuple[MomentInfo, list[TreeNode], list[Feedback]]]:
        return self.sql.iter_trees(agent_kind, agent_id, agent_variant, since, until, source,
                                   include_deleted, batch_size)

    def list_feedback(
        self, moment_id: str | None = None, snapshot_id: str | None = None
    ) -> list[Feedback]:
        return self.sql.list_feedback(moment_id, snapshot_id)

    def list_config_versions(
        self, agent_kind: str | None = None, agent_id: str | None = None,
        agent_variant: str | None = None,
    ) -> list[ConfigVersion]:
        return self.sql.list_config_versions(agent_kind, agent_id, agent_variant)

    def get_config_version(
        self, agent_kind: str, agent_id: str, agent_variant: str, version: int | None = None
    ) -> ConfigVersion:
        return self.sql.get_config_version(agent_kind, agent_id, agent_variant, version)

    def close(self) -> None:
        self.sql.close()
        self.s3.close()
