"""SQL store that also copies every snapshot to S3 (MOMENTS_S3_MIRROR=1).

A snapshot is saved in SQL together with a row in the ``s3_outbox`` table, in one
transaction: the queue is as durable as the snapshot itself. A background thread copies
the queue to S3 (woken after each save): a caller's save never waits for S3, whether S3
is fast, down, or a long backlog is being copied. When S3 does not answer, the rows stay
(with their error) and the thread tries again after ``retry_after_s``. Any process using
the same database can drain it. Each copy costs at most three S3 requests (``put_record``).

The rules of a write are the SQL store's (``LogStore``'s, applied here once); deletes are
not copied to S3 (the copy is a backup of snapshots, SQL is the truth).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Unpack

from sqlalchemy import delete, func, select, update

from moments_core.mdl import Snapshot

from .answer_facts import FactRow
from .base import FilterFields, LogStore, MomentFilter, MomentSummary, NewSnapshot, ParentState
from .path_index import PathIndex
from .records import ConfigVersion, Feedback, MomentInfo, TreeNode
from .s3 import S3Store
from .sql import SqlStore
from .tables import outbox_t

log = logging.getLogger(__name__)
_CHUNK = 16  # snapshots copied at once; their rows leave the queue in one transaction


class MirroredStore(LogStore):
    """Reads and writes go to ``sql``; snapshots are copied to ``s3`` through the outbox,
    in the background (``background=False``: only when ``drain()`` is called)."""

    def __init__(self, sql: SqlStore, s3: S3Store, *, retry_after_s: float = 30.0,
                 background: bool = True) -> None:
        sql.outbox = True
        self.sql = sql
        self.s3 = s3
        self.retry_after_s = retry_after_s
        self._next_try = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._copier = ThreadPoolExecutor(max_workers=8, thread_name_prefix="moments-mirror")
        if background:
            self._thread = threading.Thread(target=self._run, name="moments-s3-mirror",
                                            daemon=True)
            self._thread.start()
            self._wake.set()  # copy what an earlier process left queued

    def __repr__(self) -> str:
        return f"MirroredStore({self.sql!r} -> {self.s3!r})"

    # --- the copy to S3 -------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=self.retry_after_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.drain()
            except Exception as err:  # noqa: BLE001 - the thread must live on; rows stay queued
                log.warning("S3 mirror: drain failed (%s)", type(err).__name__)

    def kick(self) -> None:
        """Ask the background thread to drain now (ignoring the retry delay)."""
        self._next_try = 0.0
        self._wake.set()

    def wait_drained(self, timeout_s: float) -> bool:
        """Wake the copy and wait until nothing is queued; False after ``timeout_s``."""
        self.kick()
        deadline = time.monotonic() + timeout_s
        while self.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def pending(self) -> int:
        """Snapshots still waiting to be copied to S3."""
        with self.sql.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(outbox_t)) or 0)

    def drain(self, *, force: bool = False, batch: int = 200) -> int:
        """Copy queued snapshots to S3; returns how many this call copied. Stops at the
        first failed chunk (S3 is likely down) and leaves the rest queued. Without ``force``
        it does nothing before the retry delay, or while another thread drains; with
        ``force`` it waits for that thread and goes on from where it stopped."""
        if not force and time.monotonic() < self._next_try:
            return 0
        if not self._lock.acquire(blocking=force):
            return 0
        copied = 0
        infos: dict[str, MomentInfo] = {}
        try:
            while not self._stop.is_set():
                with self.sql.engine.connect() as conn:
                    queued = list(conn.execute(
                        select(outbox_t.c.seq, outbox_t.c.snapshot_id)
                        .order_by(outbox_t.c.seq).limit(batch)
                    ))
                if not queued:
                    return copied
                for start in range(0, len(queued), _CHUNK):
                    chunk = queued[start:start + _CHUNK]
                    # A few copies at once (each waits on S3's round trips, not the CPU);
                    # the chunk's copied rows leave the queue in one transaction (a crash
                    # before it copies them again, which writes the same objects).
                    outcomes = list(self._copier.map(lambda row: self._copy(row[1], infos),
                                                     chunk))
                    done = [seq for (seq, _), err in zip(chunk, outcomes, strict=True)
                            if err is None]
                    self._dequeue(done)
                    copied += len(done)
                    failed = [(seq, err) for (seq, _), err in zip(chunk, outcomes, strict=True)
                              if err is not None]
                    if failed:  # S3 down or refusing: keep the rest queued, try later
                        self._failed(*failed[0])
                        return copied
            return copied
        finally:
            self._lock.release()

    def _copy(self, snapshot_id: str, infos: dict[str, MomentInfo]) -> Exception | None:
        """Copy one queued snapshot to S3 (at most three requests); the error, if any."""
        try:
            rec = self.sql.stored_snapshot(snapshot_id)
            info = infos.get(rec.moment_id)
            if info is None:
                info = infos[rec.moment_id] = self.sql.get_moment(rec.moment_id)
            self.s3.put_record(info, rec)
        except Exception as err:  # noqa: BLE001 - reported to drain(), which keeps it queued
            return err
        return None

    def _dequeue(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self.sql.engine.connect().execution_options(moments_write=True) as conn, \
                conn.begin():
            conn.execute(delete(outbox_t).where(outbox_t.c.seq.in_(seqs)))

    def _failed(self, seq: int, err: Exception) -> None:
        self._next_try = time.monotonic() + self.retry_after_s
        message = f"{type(err).__name__}: {err}"[:500]
        log.warning("S3 mirror unavailable, snapshots stay queued: %s", message)
        with self.sql.engine.connect().execution_options(moments_write=True) as conn, \
                conn.begin():
            conn.execute(update(outbox_t).where(outbox_t.c.seq == seq).values(
                attempts=outbox_t.c.attempts + 1, last_error=message))

    # --- the store's hooks: SQL's, then wake the copy ----------------------------------------
    def _write_moment(self, info: MomentInfo) -> None:
        self.sql._write_moment(info)

    def _saved_before(self, snapshot_id: str) -> bool:
        return self.sql._saved_before(snapshot_id)

    def _parent_state(self, snapshot_id: str) -> ParentState | None:
        return self.sql._parent_state(snapshot_id)

    def _write_snapshot(self, new: NewSnapshot, info: MomentInfo | None) -> None:
        self.sql._write_snapshot(new, info)
        self._wake.set()

    def _moment_of_snapshot(self, snapshot_id: str) -> str:
        return self.sql._moment_of_snapshot(snapshot_id)

    def _write_feedback(self, feedback: Feedback) -> None:
        self.sql._write_feedback(feedback)

    def delete_moment(self, moment_id: str) -> None:
        self.sql.delete_moment(moment_id)

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

    def _list_moments(
        self, where: MomentFilter, limit: int | None, offset: int
    ) -> list[MomentSummary]:
        return self.sql._list_moments(where, limit, offset)

    def _iter_leaves(self, where: MomentFilter) -> Iterator[tuple[MomentInfo, Snapshot]]:
        return self.sql._iter_leaves(where)

    def _iter_trees(
        self, where: MomentFilter, batch_size: int
    ) -> Iterator[tuple[MomentInfo, list[TreeNode], list[Feedback]]]:
        return self.sql._iter_trees(where, batch_size)

    def moment_infos(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> list[MomentInfo]:
        return self.sql.moment_infos(MomentFilter.of(where, by))

    def iter_snapshot_texts(
        self, where: MomentFilter | None = None, *, roots_only: bool = False,
        **by: Unpack[FilterFields],
    ) -> Iterator[tuple[str, object, object | None, str, str]]:
        return self.sql.iter_snapshot_texts(MomentFilter.of(where, by), roots_only=roots_only)

    def answer_facts(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> Iterator[FactRow]:
        return self.sql.answer_facts(MomentFilter.of(where, by))

    def fork_counts(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> dict[str, int]:
        return self.sql.fork_counts(MomentFilter.of(where, by))

    def all_feedback(self) -> list[Feedback]:
        return self.sql.all_feedback()

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

    # --- path index (issue 17, H6) ----------------------------------------------------
    def path_index(self) -> PathIndex:
        return self.sql.path_index()  # SQL is the truth; S3 only mirrors snapshots

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._copier.shutdown(wait=True)
        self.sql.close()
        self.s3.close()
