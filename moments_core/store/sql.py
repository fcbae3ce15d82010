"""The SQL back end (SQLite file or any SQLAlchemy URL, e.g. Postgres via psycopg).

Writes use SQLAlchemy Core on the SQLModel tables: one short transaction per snapshot,
as a chat turn does it. Reads rebuild moments from the parent-relative rows in bulk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar, Unpack

from sqlalchemy import Table, and_, bindparam, func, inspect, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import aliased

from moments_core.mdl import Snapshot, now

from . import bulk, stamps
from .answer_facts import FactRow, encode_answers, fact_rows_from, facts_of
from .base import (
    FilterFields,
    LogStore,
    MomentFilter,
    MomentSummary,
    NewSnapshot,
    ParentState,
    agent_key,
)
from .delta import occurrence_texts, path_occurrences
from .engine import WRITE, create_store_engine
from .errors import NotFound, StoreError, StoreUnavailable
from .ids import CompactId
from .lru import LRU
from .migrate import upgrade
from .path_index import PathIndex, SqlPathIndex
from .rebuild import DbRow, node, snapshot_from_rows
from .records import (
    ConfigVersion,
    Feedback,
    MomentInfo,
    StoredSnapshot,
    TreeNode,
    columns,
    from_columns,
    to_json,
)
from .tables import configs_t, feedback_t, moments_t, outbox_t, snapshots_t

_AgentKey = tuple[str, str, str]
_T = TypeVar("_T")
_ATTEMPTS = 5  # tries of one write transaction when concurrent writers collide
_S = snapshots_t.c
# A snapshot row with what reconstruction needs, moment key first (bulk reads group by it).
_ROW_COLS = (
    _S.moment_pk, _S.seq, _S.snapshot_id, _S.parent_seq, _S.previous_snapshot_id, _S.ts_us,
    _S.utc_offset_s, _S.annotations_yaml, _S.kept, _S.added_count, _S.added,
)
# The path root -> snapshot in one query (ids, then the rows); SQLite and Postgres alike.
# Each step names the moment as well as the seq: on Postgres (moment_pk, seq) is the
# primary key and seq has no index of its own (revision 0003).
_PATH_SQL = text(
    "WITH RECURSIVE p(moment_pk, seq, parent_seq) AS ("
    " SELECT moment_pk, seq, parent_seq FROM snapshots WHERE snapshot_id = :sid"
    " UNION ALL"
    " SELECT s.moment_pk, s.seq, s.parent_seq FROM snapshots s"
    " JOIN p ON s.moment_pk = p.moment_pk AND s.seq = p.parent_seq)"
    " SELECT s.moment_pk, s.seq, s.snapshot_id, s.parent_seq, s.previous_snapshot_id,"
    " s.ts_us, s.utc_offset_s, s.annotations_yaml, s.kept, s.added_count, s.added,"
    " m.moment_id"
    " FROM p JOIN snapshots s ON s.moment_pk = p.moment_pk AND s.seq = p.seq"
    " JOIN moments m ON m.pk = s.moment_pk"
    " ORDER BY s.seq"
).bindparams(bindparam("sid", type_=CompactId())).columns(snapshot_id=CompactId())
_ROW_SELECT = f"SELECT {', '.join(c.name for c in _ROW_COLS)} FROM snapshots"  # noqa: S608
# The rows of a batch of moments, for the driver's own cursor (see _batch_rows).
_BATCH_SQL = {
    "sqlite": _ROW_SELECT + " WHERE moment_pk IN ({}) ORDER BY moment_pk, seq",
    "postgresql": _ROW_SELECT + " WHERE moment_pk = ANY(%s) ORDER BY moment_pk, seq",
}
_BATCH_MOMENTS = 500


class SqlStore(LogStore):
    """Log store on a SQL database; migrations are applied when it opens."""

    def __init__(self, url: str, *, migrate: bool = True, outbox: bool = False) -> None:
        self.url = url
        self.engine = create_store_engine(url)
        if migrate:
            upgrade(self.engine)
        # Answer facts (revision 0007) are written and read only where the column is: a
        # store opened with ``migrate=False`` on an older schema keeps to that schema.
        self._facts_column: bool | None = True if migrate else None
        self.outbox = outbox  # also queue each new snapshot for the S3 mirror
        # snapshot id -> (moment id, seq, canonical text of each occurrence): the parent
        # of the next chat turn is nearly always the snapshot saved just before.
        self._texts: LRU[str, tuple[str, int, tuple[str, ...]]] = LRU(512)
        # moment id -> (agent, the moment row's integer key)
        self._agents: LRU[str, tuple[_AgentKey, int]] = LRU(4096)

    def __repr__(self) -> str:  # the URL may hold a password: show the back end only
        return f"SqlStore({self.engine.dialect.name})"

    # --- helpers --------------------------------------------------------------------
    @property
    def _facts(self) -> bool:
        """Whether the schema has the answer facts column (asked once, when first needed)."""
        if self._facts_column is None:
            try:
                found = inspect(self.engine).get_columns(snapshots_t.name)
            except OperationalError as err:
                raise StoreUnavailable(f"the database is unavailable: {_reason(err)}") from None
            self._facts_column = any(c["name"] == "answers" for c in found)
        return self._facts_column

    def _write(self) -> Connection:
        return self.engine.connect().execution_options(**WRITE)

    def _insert_ignore(self, conn: Connection, table: Table, values: dict[str, Any]) -> bool:
        """Insert unless the key exists; True when a row was written."""
        name = conn.dialect.name
        if name in ("sqlite", "postgresql"):
            dialect = sqlite if name == "sqlite" else postgresql
            stmt = dialect.insert(table).values(**values).on_conflict_do_nothing()
            return bool(conn.execute(stmt).rowcount)
        try:
            with conn.begin_nested():
                conn.execute(table.insert().values(**values))
        except IntegrityError:
            return False
        return True

    def _insert_snapshot(self, conn: Connection, values: dict[str, Any]) -> int | None:
        """Insert a snapshot row unless its id is stored; the new row's seq, else None."""
        name = conn.dialect.name
        if name in ("sqlite", "postgresql"):
            dialect = sqlite if name == "sqlite" else postgresql
            seq = conn.scalar(dialect.insert(snapshots_t).values(**values)
                              .on_conflict_do_nothing().returning(_S.seq))
            return None if seq is None else int(seq)
        if not self._insert_ignore(conn, snapshots_t, values):
            return None
        return conn.scalar(select(_S.seq).where(_S.snapshot_id == values["snapshot_id"]))

    def _path_rows(self, conn: Connection, snapshot_id: str) -> list[DbRow]:
        rows = list(conn.execute(_PATH_SQL, {"sid": snapshot_id}))
        if not rows:
            raise NotFound(f"snapshot {snapshot_id} is not stored")
        return rows

    @staticmethod
    def _records(moment_id: str, rows: Sequence[DbRow]) -> list[StoredSnapshot]:
        """Compact rows of one moment (parents first) with their links as ids."""
        sid_of = {r.seq: r.snapshot_id for r in rows}
        return [_resolved(r, moment_id,
                          sid_of.get(r.parent_seq) if r.parent_seq is not None else None)
                for r in rows]

    def _texts_of(self, snapshot_id: str) -> tuple[str, int, tuple[str, ...]] | None:
        """(moment id, seq, occurrence texts) of a stored snapshot, or None."""
        cached = self._texts.get(snapshot_id)
        if cached is not None:
            return cached
        with self.engine.connect() as conn:
            rows = list(conn.execute(_PATH_SQL, {"sid": snapshot_id}))
        if not rows:
            return None
        mid = rows[-1].moment_id
        texts = occurrence_texts(path_occurrences([node(r) for r in self._records(mid, rows)]))
        value = (mid, int(rows[-1].seq), texts)
        self._texts.put(snapshot_id, value)
        return value

    def _moment_row(self, conn: Connection, moment_id: str) -> tuple[MomentInfo, int] | None:
        """The moment's stored info and row key, read in ``conn``'s transaction."""
        row = conn.execute(select(moments_t).where(moments_t.c.moment_id == moment_id)).first()
        return None if row is None else (from_columns(MomentInfo, row), int(row.pk))

    def _stored_agent(self, conn: Connection, moment_id: str) -> tuple[_AgentKey, int] | None:
        """Agent and row key of a stored moment, for reads (neither ever changes)."""
        cached = self._agents.get(moment_id)
        if cached is not None:
            return cached
        found = self._moment_row(conn, moment_id)
        if found is None:
            return None
        value = (agent_key(found[0]), found[1])
        self._agents.put(moment_id, value)  # read of a committed row: safe to keep
        return value

    def _join_moment(self, conn: Connection, moment_id: str, info: MomentInfo | None) -> int:
        """The key of the moment a write joins, after the store's rules on its state as
        this transaction sees it; creates the row when new. Nothing is cached here: the
        transaction may still roll back."""
        found = self._moment_row(conn, moment_id)
        moment = self.moment_for_save(found[0] if found else None, info, moment_id)
        if found is None:
            self._insert_ignore(conn, moments_t, columns(moment))
            found = self._moment_row(conn, moment_id)  # another writer may have won
            if found is None:
                raise StoreError(f"moment {moment_id} could not be created")
            self.moment_for_save(found[0], info, moment_id)
        return found[1]

    def _transaction(self, work: Callable[[Connection], _T]) -> _T:
        """Run ``work`` in one write transaction, retried when concurrent writers collide
        (a key taken meanwhile, a deadlock, a busy SQLite file). Driver errors never leave
        the store: they become ``StoreUnavailable`` (the database cannot be reached or
        stays busy) or ``StoreError``."""
        for attempt in range(_ATTEMPTS):
            try:
                with self._write() as conn, conn.begin():
                    return work(conn)
            except (IntegrityError, OperationalError) as err:
                if attempt + 1 < _ATTEMPTS:
                    time.sleep(0.01 * (2 ** attempt))
                    continue
                if isinstance(err, OperationalError):
                    raise StoreUnavailable(f"the database is unavailable: {_reason(err)}") from err
                raise StoreError(f"the write conflicts with stored data: {_reason(err)}") from err
            except DBAPIError as err:
                if err.connection_invalidated:
                    raise StoreUnavailable(f"the database is unavailable: {_reason(err)}") from err
                raise StoreError(f"the database refused the write: {_reason(err)}") from err
        raise AssertionError("unreachable")

    def _moment_pk(self, conn: Connection, moment_id: str) -> int:
        stored = self._stored_agent(conn, moment_id)
        if stored is None:
            raise NotFound(f"moment {moment_id} is not stored")
        return stored[1]

    # --- moments and snapshots ----------------------------------------------------------
    def _write_moment(self, info: MomentInfo) -> None:
        self._transaction(lambda conn: self._join_moment(conn, info.moment_id, info))

    def get_moment(self, moment_id: str) -> MomentInfo:
        with self.engine.connect() as conn:
            row = conn.execute(select(moments_t).where(moments_t.c.moment_id == moment_id)).first()
        if row is None:
            raise NotFound(f"moment {moment_id} is not stored")
        return from_columns(MomentInfo, row)

    def has_snapshot(self, snapshot_id: str) -> bool:
        if self._texts.get(snapshot_id) is not None:
            return True
        try:
            with self.engine.connect() as conn:
                return conn.execute(
                    select(_S.seq).where(_S.snapshot_id == snapshot_id)
                ).first() is not None
        except NotFound:  # an id no row can hold
            return False

    def _saved_before(self, snapshot_id: str) -> bool:
        # Only what this process wrote: the insert itself ignores a stored id, so asking
        # the database first would cost a query per save for nothing.
        return self._texts.get(snapshot_id) is not None

    def _parent_state(self, snapshot_id: str) -> ParentState | None:
        found = self._texts_of(snapshot_id)
        if found is None:
            return None
        mid, seq, texts = found
        return ParentState(snapshot_id, mid, texts, seq)

    def _write_snapshot(self, new: NewSnapshot, info: MomentInfo | None) -> None:
        snap, delta = new.snapshot, new.delta
        ts_us, offset_s = stamps.encode(snap.timestamp)
        values = {
            "snapshot_id": snap.id,
            "parent_seq": new.parent.handle if new.parent is not None else None,
            "previous_snapshot_id": new.previous_snapshot_id,
            "ts_us": ts_us, "utc_offset_s": offset_s,
            "annotations_yaml": snap.annotations_yaml,
            "kept": delta.kept, "added_count": delta.added_count, "added": delta.added,
        }

        if self._facts:  # the answers it appends, counted once here for aggregate views
            values["answers"] = encode_answers(
                facts_of(snap.moment.occurrences[delta.kept:], snap.annotations_yaml))

        def work(conn: Connection) -> int:
            moment_pk = self._join_moment(conn, snap.moment_id, info)
            seq = self._insert_snapshot(conn, {**values, "moment_pk": moment_pk})
            if seq is None:  # stored already (by another writer): saving is idempotent
                seq = conn.scalar(select(_S.seq).where(_S.snapshot_id == snap.id))
                if seq is None:
                    raise StoreError(f"snapshot {snap.id} could not be stored")
            elif self.outbox:
                self._insert_ignore(conn, outbox_t, {"snapshot_id": snap.id, "attempts": 0,
                                                     "last_error": ""})
            return int(seq)

        seq = self._transaction(work)
        # Committed: only now may the caches hold it.
        self._texts.put(snap.id, (snap.moment_id, seq, new.texts))

    def save_snapshot_mdl(
        self, mdl_text: str, info: MomentInfo | None = None, *, orphan_as_root: bool = False
    ) -> Snapshot:
        """Parse a snapshot written in MDL (with its header) and save it."""
        from moments_core.mdl import MDLSyntaxError, parse_snapshot

        try:
            snap = parse_snapshot(mdl_text)
        except MDLSyntaxError as err:
            raise StoreError(f"the snapshot text does not parse as MDL: {err}") from None
        self.save_snapshot(snap, info, orphan_as_root=orphan_as_root)
        return snap

    def _path_records(self, snapshot_id: str) -> list[StoredSnapshot]:
        with self.engine.connect() as conn:
            rows = self._path_rows(conn, snapshot_id)
        return self._records(rows[-1].moment_id, rows)

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        recs = self._path_records(snapshot_id)
        return snapshot_from_rows(recs[-1], [node(r) for r in recs])

    def children(self, snapshot_id: str) -> list[str]:
        # Through the moment's index: the parent link has none of its own (see tables.py).
        parent = aliased(snapshots_t)
        with self.engine.connect() as conn:
            return list(conn.scalars(
                select(_S.snapshot_id)
                .join(parent, and_(parent.c.moment_pk == _S.moment_pk,
                                   parent.c.seq == _S.parent_seq))
                .where(parent.c.snapshot_id == snapshot_id).order_by(_S.seq)
            ))

    def path(self, snapshot_id: str) -> list[Snapshot]:
        recs = self._path_records(snapshot_id)
        nodes = [node(r) for r in recs]
        return [snapshot_from_rows(r, nodes[: i + 1]) for i, r in enumerate(recs)]

    def _moment_rows(self, conn: Connection, moment_id: str) -> list[DbRow]:
        pk = self._moment_pk(conn, moment_id)
        return list(conn.execute(
            select(*_ROW_COLS).where(_S.moment_pk == pk).order_by(_S.seq)
        ))

    def tree(self, moment_id: str) -> list[TreeNode]:
        with self.engine.connect() as conn:
            rows = self._moment_rows(conn, moment_id)
        return bulk.tree_nodes(rows, bulk.parse_added(rows))

    def leaves(self, moment_id: str) -> list[Snapshot]:
        with self.engine.connect() as conn:
            rows = self._moment_rows(conn, moment_id)
        return bulk.leaf_snapshots(moment_id, rows, bulk.parse_added(rows))

    @staticmethod
    def _moment_filter(where: MomentFilter) -> list[Any]:
        conds: list[Any] = []
        m = moments_t.c
        for col, value in ((m.agent_kind, where.agent_kind), (m.agent_id, where.agent_id),
                           (m.agent_variant, where.agent_variant), (m.source, where.source)):
            if value is not None:
                conds.append(col == value)
        if where.since is not None:
            conds.append(moments_t.c.created_at >= where.since)
        if where.until is not None:
            conds.append(moments_t.c.created_at < where.until)
        if not where.include_deleted:
            conds.append(moments_t.c.deleted.is_(False))
        return conds

    def _list_moments(
        self, where: MomentFilter, limit: int | None, offset: int
    ) -> list[MomentSummary]:
        conds = self._moment_filter(where)
        page = (
            select(moments_t).where(and_(True, *conds))
            .order_by(moments_t.c.created_at.desc(), moments_t.c.moment_id).offset(offset)
        )
        if limit is not None:
            page = page.limit(limit)
        with self.engine.connect() as conn:
            rows = list(conn.execute(page))
            # Counts only for the moments on this page, so a page stays cheap however many
            # moments are stored. A leaf is a snapshot that is nobody's parent.
            pks = [r.pk for r in rows]
            counts: dict[int, tuple[int, int, int | None]] = {}
            for chunk in range(0, len(pks), 900):
                stmt = (
                    select(_S.moment_pk, func.count(), func.count(func.distinct(_S.parent_seq)),
                           func.max(_S.ts_us))
                    .where(_S.moment_pk.in_(pks[chunk:chunk + 900])).group_by(_S.moment_pk)
                )
                for pk, n, inner, last in conn.execute(stmt):
                    counts[pk] = (n, inner, last)
        out = []
        for r in rows:
            n, inner, last = counts.get(r.pk, (0, 0, None))
            out.append(MomentSummary(
                info=from_columns(MomentInfo, r), snapshots=n, leaves=n - inner,
                last_at=stamps.utc(last) if last is not None else None,
            ))
        return out

    def moment_infos(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> list[MomentInfo]:
        """Every matching moment's info, oldest first, without counting its snapshots."""
        conds = self._moment_filter(MomentFilter.of(where, by))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(moments_t).where(and_(True, *conds)).order_by(moments_t.c.created_at)
            ).all()
        return [from_columns(MomentInfo, r) for r in rows]

    def _moment_batches(
        self, conds: list[Any], batch_size: int
    ) -> Iterator[tuple[list[tuple[int, MomentInfo]], list[DbRow]]]:
        """Matching moments oldest first, ``batch_size`` at a time, each batch with the
        rows of all its snapshots (grouped by moment, parents first): two queries a batch.
        Pages by (created_at, pk) rather than OFFSET, so each page costs the same."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        m = moments_t.c
        after: tuple[datetime, int] | None = None
        while True:
            page = select(moments_t).where(and_(True, *conds))
            if after is not None:
                page = page.where(or_(m.created_at > after[0],
                                      and_(m.created_at == after[0], m.pk > after[1])))
            with self.engine.connect() as conn:
                infos = [(int(r.pk), from_columns(MomentInfo, r)) for r in conn.execute(
                    page.order_by(m.created_at, m.pk).limit(batch_size)
                )]
                if not infos:
                    return
                rows = self._batch_rows(conn, [pk for pk, _ in infos])
            yield infos, rows
            after = (infos[-1][1].created_at, infos[-1][0])

    @staticmethod
    def _batch_rows(conn: Connection, pks: list[int]) -> list[DbRow]:
        """Rows of the moments ``pks`` as plain tuples, straight from the driver: the
        per-row work of SQLAlchemy's result objects was most of a bulk read's time. The
        one column that needs converting, the snapshot id, is decoded where it is used
        (bulk.py). Same transaction as the moments page."""
        name = conn.dialect.name
        if name not in _BATCH_SQL:
            stmt = select(*_ROW_COLS).where(_S.moment_pk.in_(pks))
            return list(conn.execute(stmt.order_by(_S.moment_pk, _S.seq)))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if name == "sqlite":
                cursor.execute(_BATCH_SQL[name].format(", ".join("?" * len(pks))), pks)
            else:
                cursor.execute(_BATCH_SQL[name], (pks,))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _iter_leaves(self, where: MomentFilter) -> Iterator[tuple[MomentInfo, Snapshot]]:
        conds = self._moment_filter(where)
        for infos, rows in self._moment_batches(conds, _BATCH_MOMENTS):
            added = bulk.parse_added(rows)
            spans = _spans(rows)
            for pk, info in infos:
                start, end = spans.get(pk, (0, 0))
                for snap in bulk.leaf_snapshots(info.moment_id, rows[start:end],
                                                added[start:end]):
                    yield info, snap

    def _iter_trees(
        self, where: MomentFilter, batch_size: int
    ) -> Iterator[tuple[MomentInfo, list[TreeNode], list[Feedback]]]:
        conds = self._moment_filter(where)
        for infos, rows in self._moment_batches(conds, batch_size):
            ids = [info.moment_id for _, info in infos]
            with self.engine.connect() as conn:
                feedback = self._feedback(conn, feedback_t.c.moment_id.in_(ids))
            by_moment: dict[str, list[Feedback]] = {}
            for f in feedback:
                by_moment.setdefault(f.moment_id, []).append(f)
            added = bulk.parse_added(rows)
            spans = _spans(rows)
            for pk, info in infos:
                start, end = spans.get(pk, (0, 0))
                yield (info, bulk.tree_nodes(rows[start:end], added[start:end]),
                       by_moment.get(info.moment_id, []))

    def iter_snapshot_texts(
        self, where: MomentFilter | None = None, *, roots_only: bool = False,
        **by: Unpack[FilterFields],
    ) -> Iterator[tuple[str, object, object | None, str, str]]:
        """As ``LogStore.iter_snapshot_texts``, in one streamed query and without parsing
        anything (node keys are the rows' seq): what aggregate views (the Insights page's
        corpus charts) need over many thousands of conversations."""
        conds = self._moment_filter(MomentFilter.of(where, by))
        if roots_only:
            conds.append(_S.parent_seq.is_(None))
        stmt = (
            select(moments_t.c.moment_id, _S.seq, _S.parent_seq, _S.added, _S.annotations_yaml)
            .join(moments_t, _S.moment_pk == moments_t.c.pk)
            .where(and_(True, *conds))
        )
        with self.engine.connect() as conn:
            # Through SQLAlchemy's rows: a streamed result has already buffered its first
            # row when it is returned, so reading the driver's cursor directly (as this
            # did) silently lost one snapshot per scan.
            result = conn.execution_options(yield_per=20_000).execute(stmt)
            try:
                for part in result.partitions():
                    yield from part
            finally:
                result.close()

    def answer_facts(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> Iterator[FactRow]:
        """As ``LogStore.answer_facts``, from what each save wrote (revision 0007): the
        answers' lengths and the annotations of the rows that have answers, one query,
        nothing parsed but the annotations' few keys."""
        if not self._facts:
            yield from LogStore.answer_facts(self, where, **by)
            return
        conds = self._moment_filter(MomentFilter.of(where, by))
        stmt = (
            select(moments_t.c.moment_id, _S.answers, _S.annotations_yaml)
            .join(moments_t, _S.moment_pk == moments_t.c.pk)
            .where(_S.answers.is_not(None), *conds)
        )
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            try:
                # The driver's own tuples: SQLAlchemy's row objects cost more than the
                # query here. Not streamed (yield_per buffers a first row of its own).
                rows = result.cursor.fetchall()
            finally:
                result.close()
        for moment_id, answers, notes in rows:
            yield from fact_rows_from(moment_id, answers, notes)

    def fork_counts(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> dict[str, int]:
        """Per moment, how many snapshots start another branch: the sum over parents of
        (children - 1), computed by the database."""
        conds = self._moment_filter(MomentFilter.of(where, by))
        stmt = (
            select(moments_t.c.moment_id,
                   func.count(_S.parent_seq) - func.count(func.distinct(_S.parent_seq)))
            .join(moments_t, _S.moment_pk == moments_t.c.pk)
            .where(and_(True, *conds)).group_by(moments_t.c.moment_id)
        )
        with self.engine.connect() as conn:
            return {str(mid): int(n) for mid, n in conn.execute(stmt) if n}

    def all_feedback(self) -> list[Feedback]:
        """Every feedback record in one query (for aggregate views)."""
        with self.engine.connect() as conn:
            return self._feedback(conn)

    def delete_moment(self, moment_id: str) -> None:
        done = self._transaction(lambda conn: conn.execute(
            update(moments_t).where(moments_t.c.moment_id == moment_id).values(deleted=True)
        ).rowcount)
        if not done:
            raise NotFound(f"moment {moment_id} is not stored")

    # --- feedback -------------------------------------------------------------------------
    def _moment_of(self, conn: Connection, snapshot_id: str) -> str:
        mid = conn.scalar(
            select(moments_t.c.moment_id).join(snapshots_t, _S.moment_pk == moments_t.c.pk)
            .where(_S.snapshot_id == snapshot_id)
        )
        if mid is None:
            raise NotFound(f"snapshot {snapshot_id} is not stored")
        return str(mid)

    def _moment_of_snapshot(self, snapshot_id: str) -> str:
        cached = self._texts.get(snapshot_id)
        if cached is not None:
            return cached[0]
        with self.engine.connect() as conn:
            return self._moment_of(conn, snapshot_id)

    def _write_feedback(self, feedback: Feedback) -> None:
        """Idempotent on the feedback's id: the same id replaces the stored record."""
        values = columns(feedback)

        def work(conn: Connection) -> None:
            name = conn.dialect.name
            if name in ("sqlite", "postgresql"):
                dialect = sqlite if name == "sqlite" else postgresql
                stmt = dialect.insert(feedback_t).values(**values)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["id"],
                    set_={k: v for k, v in values.items() if k != "id"}))
                return
            conn.execute(feedback_t.delete().where(feedback_t.c.id == feedback.id))
            conn.execute(feedback_t.insert().values(**values))

        self._transaction(work)

    def list_feedback(
        self, moment_id: str | None = None, snapshot_id: str | None = None
    ) -> list[Feedback]:
        conds: list[Any] = []
        if moment_id is not None:
            conds.append(feedback_t.c.moment_id == moment_id)
        if snapshot_id is not None:
            conds.append((feedback_t.c.snapshot_id == snapshot_id)
                         | (feedback_t.c.other_snapshot_id == snapshot_id))
        try:
            with self.engine.connect() as conn:
                return self._feedback(conn, *conds)
        except NotFound:  # an id no row can hold: no feedback names it
            return []

    @staticmethod
    def _feedback(conn: Connection, *conds: Any) -> list[Feedback]:
        stmt = select(feedback_t).where(and_(True, *conds))
        return [from_columns(Feedback, r)
                for r in conn.execute(stmt.order_by(feedback_t.c.created_at, feedback_t.c.id))]

    # --- agent config versions ---------------------------------------------------------------
    def save_config_version(
        self, agent_kind: str, agent_id: str, agent_variant: str, yaml_text: str, author: str = ""
    ) -> ConfigVersion:
        c = configs_t.c
        for _attempt in range(5):  # Postgres writers may race for the same version number
            try:
                with self._write() as conn, conn.begin():
                    newest = conn.execute(
                        select(configs_t).where(c.agent_kind == agent_kind,
                                                c.agent_id == agent_id,
                                                c.agent_variant == agent_variant)
                        .order_by(c.version.desc()).limit(1)
                    ).first()
                    if newest is not None and newest.yaml_text == yaml_text:
                        return from_columns(ConfigVersion, newest)
                    version = ConfigVersion(agent_kind, agent_id, agent_variant,
                                            (newest.version if newest else 0) + 1, yaml_text,
                                            now(), author)
                    conn.execute(configs_t.insert().values(**columns(version)))
                    return version
            except IntegrityError:
                continue
        raise StoreError(f"could not store a new config version of {agent_id}-{agent_variant}")

    def list_config_versions(
        self, agent_kind: str | None = None, agent_id: str | None = None,
        agent_variant: str | None = None,
    ) -> list[ConfigVersion]:
        c = configs_t.c
        stmt = select(configs_t).order_by(c.agent_kind, c.agent_id, c.agent_variant, c.version)
        for col, value in ((c.agent_kind, agent_kind), (c.agent_id, agent_id),
                           (c.agent_variant, agent_variant)):
            if value is not None:
                stmt = stmt.where(col == value)
        with self.engine.connect() as conn:
            return [from_columns(ConfigVersion, r) for r in conn.execute(stmt)]

    def get_config_version(
        self, agent_kind: str, agent_id: str, agent_variant: str, version: int | None = None
    ) -> ConfigVersion:
        c = configs_t.c
        stmt = select(configs_t).where(c.agent_kind == agent_kind, c.agent_id == agent_id,
                                       c.agent_variant == agent_variant)
        stmt = stmt.where(c.version == version) if version is not None else stmt
        with self.engine.connect() as conn:
            row = conn.execute(stmt.order_by(c.version.desc()).limit(1)).first()
        if row is None:
            which = f"version {version}" if version is not None else "any version"
            raise NotFound(f"config {agent_kind}/{agent_id}/{agent_variant}: {which} not stored")
        return from_columns(ConfigVersion, row)

    # --- raw rows, for the S3 mirror and the benchmark ------------------------------------------
    def stored_snapshot(self, snapshot_id: str) -> StoredSnapshot:
        """A stored snapshot with its links as ids (what the S3 object holds). One row
        read, whatever the conversation's length."""
        parent = aliased(snapshots_t)
        stmt = (
            select(*_ROW_COLS, moments_t.c.moment_id,
                   parent.c.snapshot_id.label("parent_snapshot_id"))
            .join(moments_t, moments_t.c.pk == _S.moment_pk)
            .outerjoin(parent, and_(parent.c.moment_pk == _S.moment_pk,
                                    parent.c.seq == _S.parent_seq))
            .where(_S.snapshot_id == snapshot_id)
        )
        with self.engine.connect() as conn:
            r = conn.execute(stmt).first()
        if r is None:
            raise NotFound(f"snapshot {snapshot_id} is not stored")
        return _resolved(r, r.moment_id, r.parent_snapshot_id)

    def snapshot_record(self, snapshot_id: str) -> dict[str, Any]:
        """``stored_snapshot`` as the S3 object body's fields (the time as ISO text)."""
        return to_json(self.stored_snapshot(snapshot_id))

    def moment_records(self, moment_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = self._moment_rows(conn, moment_id)
        return [to_json(r) for r in self._records(moment_id, rows)]

    # --- path index (issue 17, H6) ----------------------------------------------------
    def path_index(self) -> PathIndex:
        return SqlPathIndex(self.engine)  # the table of revision 0004_path_index

    def close(self) -> None:
        self.engine.dispose()


def _reason(err: DBAPIError) -> str:
    """The driver's first line, without the statement and parameters SQLAlchemy appends."""
    text = str(err.orig).strip() if err.orig is not None else ""
    return text.splitlines()[0][:300] if text else type(err).__name__


def _resolved(r: DbRow, moment_id: str, parent_id: str | None) -> StoredSnapshot:
    """A compact snapshot row with its links as ids and its time as the datetime."""
    return StoredSnapshot(
        snapshot_id=r.snapshot_id, moment_id=moment_id, parent_id=parent_id,
        previous_snapshot_id=r.previous_snapshot_id,
        timestamp=stamps.decode(r.ts_us, r.utc_offset_s), annotations_yaml=r.annotations_yaml,
        kept=r.kept, added_count=r.added_count, added=r.added)


def _spans(rows: Sequence[DbRow]) -> dict[int, tuple[int, int]]:
    """moment key -> (start, end) of its rows in a batch grouped by moment."""
    spans: dict[int, tuple[int, int]] = {}
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][0] != rows[start][0]:
            spans[rows[start][0]] = (start, i)
            start = i
    return spans
