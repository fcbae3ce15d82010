"""The log store's one interface and its rules; the SQL and S3 back ends implement it.
The stored records are declared in records.py (re-exported here).

A snapshot is stored *relative to its parent*: how many of the parent's occurrences it
keeps, plus the occurrences it appends. Reading a snapshot walks its parents.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack

from moments_core.mdl import Snapshot, new_id

from .answer_facts import FactRow, fact_row, facts_of
from .delta import Delta, check_added, compute_delta, occurrence_texts
from .errors import MomentDeleted, NotFound, StoreError, StoreUnavailable
from .filters import FilterFields, MomentFilter
from .path_index import MemoryPathIndex, PathHit, PathIndex
from .records import (
    FEEDBACK_KINDS,
    MOMENT_SOURCES,
    ConfigVersion,
    Feedback,
    FeedbackKind,
    MomentInfo,
    MomentSource,
    TreeNode,
)
from .storable import check_occurrence_texts, check_text


@dataclass(slots=True)
class MomentSummary:
    """One row of a moment listing."""

    info: MomentInfo
    snapshots: int
    leaves: int
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ParentState:
    """What a save needs of its parent: its moment and the canonical text of each of its
    occurrences; ``handle`` is the back end's own (the SQL row's seq)."""

    snapshot_id: str
    moment_id: str
    texts: tuple[str, ...]
    handle: Any = None


@dataclass(frozen=True, slots=True)
class NewSnapshot:
    """A snapshot that passed every check, as a back end's ``_write_snapshot`` stores it."""

    snapshot: Snapshot
    parent: ParentState | None
    delta: Delta
    texts: tuple[str, ...]  # canonical text of every occurrence (the next save's parent)

    @property
    def snapshot_id(self) -> str:
        return self.snapshot.id

    @property
    def moment_id(self) -> str:
        return self.snapshot.moment_id

    @property
    def parent_id(self) -> str | None:
        return self.parent.snapshot_id if self.parent is not None else None

    @property
    def previous_snapshot_id(self) -> str | None:
        """The previous id as written, kept only when the tree link does not say it."""
        prev = self.snapshot.previous_snapshot_id
        return None if prev == self.parent_id else prev


def agent_key(info: MomentInfo) -> tuple[str, str, str]:
    """What "the same agent" means when a snapshot joins an existing moment."""
    return (info.agent_kind, info.agent_id, info.agent_variant)


def check_info(info: MomentInfo) -> None:
    if info.source not in MOMENT_SOURCES:
        raise StoreError(f"moment {info.moment_id!r}: source {info.source!r} is not one of"
                         f" {', '.join(sorted(MOMENT_SOURCES))}")
    for name in ("moment_id", "agent_kind", "agent_id", "agent_variant", "agent_instance_id",
                 "source"):
        check_text(getattr(info, name), f"moment {info.moment_id!r}: its {name}")


class LogStore(ABC):
    """Every snapshot kept, as trees.

    The rules of a write live here, once: ``save_snapshot``, ``save_moment`` and
    ``add_feedback`` check their input and call a back end's ``_write_*`` method, which
    stores what passed (atomically where the back end can) after applying
    ``moment_for_save`` to the moment's state it read itself.

    A save to a soft-deleted moment is refused with ``MomentDeleted`` on every back end:
    a deleted conversation stays deleted (nothing resurrects it), and the caller learns
    that its turn was not kept.
    """

    # --- the rules ----------------------------------------------------------------------
    @staticmethod
    def moment_for_save(
        stored: MomentInfo | None, info: MomentInfo | None, moment_id: str
    ) -> MomentInfo:
        """The moment a save joins, from its stored state (None: not stored yet) and the
        caller's info. Refuses a deleted moment and another agent's moment."""
        if stored is None:
            return info if info is not None else MomentInfo(moment_id=moment_id, source="api")
        if stored.deleted:
            raise MomentDeleted(f"moment {moment_id} was deleted: it takes no more snapshots")
        if info is not None and agent_key(stored) != agent_key(info):
            raise StoreError(f"moment {moment_id} belongs to agent {'/'.join(agent_key(stored))},"
                             f" not {'/'.join(agent_key(info))}")
        return stored

    # --- moments and snapshots ----------------------------------------------------
    def save_moment(self, info: MomentInfo) -> None:
        """Create the moment's record (idempotent on ``moment_id``). Refuses another
        agent's moment and a deleted one."""
        check_info(info)
        self._write_moment(info)

    @abstractmethod
    def _write_moment(self, info: MomentInfo) -> None:
        """Create the record unless stored, after ``moment_for_save`` on what is stored."""

    @abstractmethod
    def get_moment(self, moment_id: str) -> MomentInfo:
        """Raises NotFound."""

    def save_snapshot(
        self, snapshot: Snapshot, info: MomentInfo | None = None, *, orphan_as_root: bool = False
    ) -> None:
        """Store a snapshot (idempotent on its id). Its parent (``previous_snapshot_id``)
        must already be stored in the same moment; ``info`` creates the moment when new.

        Raises StoreError, with nothing written, when the parent is missing (unless
        ``orphan_as_root``: the import keeps such a snapshot as a root), when the moment
        belongs to another agent, when it was deleted (``MomentDeleted``), when an
        occurrence holds text no store can keep (a lone surrogate, NUL), or when the
        occurrences do not write and parse back. ``StoreUnavailable`` when the back end
        does not answer. A root may name its moment id as previous id, as the older
        system wrote it."""
        sid, mid = snapshot.id, snapshot.moment_id
        where = f"snapshot {sid}"
        if self._saved_before(sid):
            return
        if info is not None and info.moment_id != mid:
            raise StoreError(f"{where} is in moment {mid}, but the info names {info.moment_id}")
        check_text(mid, f"{where}: its moment id")
        check_text(sid, f"{where}: its id")
        if info is not None:
            check_info(info)
        occurrences = snapshot.moment.occurrences
        texts = occurrence_texts(occurrences)
        check_occurrence_texts(texts, (type(o).__name__ for o in occurrences), where)
        check_text(snapshot.annotations_yaml, f"{where}: its annotations")
        prev = snapshot.previous_snapshot_id
        parent: ParentState | None = None
        if prev is not None and prev != sid:
            parent = self._parent_state(prev)
            if parent is None:
                # The older system wrote the moment id as the root's previous id.
                if not (prev == mid or orphan_as_root):
                    raise StoreError(f"{where}: its parent snapshot {prev} is not stored")
            elif parent.moment_id != mid:
                raise StoreError(f"{where}: its parent {prev} is in moment {parent.moment_id},"
                                 f" not {mid}")
        delta = compute_delta(parent.texts if parent is not None else (), texts)
        check_added(delta.added, delta.added_count, where)
        self._write_snapshot(NewSnapshot(snapshot, parent, delta, texts), info)

    def _saved_before(self, snapshot_id: str) -> bool:
        """Whether the snapshot is known to be stored (then a save does nothing)."""
        return self.has_snapshot(snapshot_id)

    @abstractmethod
    def _parent_state(self, snapshot_id: str) -> ParentState | None:
        """The stored snapshot's moment and occurrence texts, or None when not stored."""

    @abstractmethod
    def _write_snapshot(self, new: NewSnapshot, info: MomentInfo | None) -> None:
        """Store a checked snapshot: read the moment's state, apply ``moment_for_save``
        (creating the moment from ``info`` when new), write. Caches filled here hold only
        what was durably written."""

    def has_snapshot(self, snapshot_id: str) -> bool:
        """Whether a snapshot with this id is stored."""
        try:
            self._moment_of_snapshot(snapshot_id)
        except NotFound:
            return False
        return True

    @abstractmethod
    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        """The snapshot with its full moment. Raises NotFound."""

    @abstractmethod
    def children(self, snapshot_id: str) -> list[str]:
        """Ids of the snapshots whose parent is this one, oldest first."""

    @abstractmethod
    def path(self, snapshot_id: str) -> list[Snapshot]:
        """The snapshots from the root to this one."""

    @abstractmethod
    def tree(self, moment_id: str) -> list[TreeNode]:
        """Every snapshot of the moment, parents before children."""

    @abstractmethod
    def leaves(self, moment_id: str) -> list[Snapshot]:
        """Snapshots without children, with full moments."""

    # --- reads over many moments: a MomentFilter (or its fields as keywords) -----------
    def list_moments(
        self, where: MomentFilter | None = None, *, limit: int | None = None, offset: int = 0,
        **by: Unpack[FilterFields],
    ) -> list[MomentSummary]:
        """Newest first."""
        return self._list_moments(MomentFilter.of(where, by), limit, offset)

    @abstractmethod
    def _list_moments(
        self, where: MomentFilter, limit: int | None, offset: int
    ) -> list[MomentSummary]: ...

    def iter_leaves(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> Iterator[tuple[MomentInfo, Snapshot]]:
        """Every leaf with its full moment, moment by moment, in bulk (not a query per
        snapshot); memory bounded by one moment's tree."""
        return self._iter_leaves(MomentFilter.of(where, by))

    @abstractmethod
    def _iter_leaves(self, where: MomentFilter) -> Iterator[tuple[MomentInfo, Snapshot]]: ...

    def iter_trees(
        self, where: MomentFilter | None = None, *, batch_size: int = 500,
        **by: Unpack[FilterFields],
    ) -> Iterator[tuple[MomentInfo, list[TreeNode], list[Feedback]]]:
        """Every moment matching the filter, oldest first, with its whole tree (parents
        before children, ``children`` filled, ``added`` = parsed occurrences) and all its
        feedback, read in batches of ``batch_size`` moments; memory bounded by one batch.
        Occurrence objects are shared by the snapshots that keep them: read-only.
        Rebuild a snapshot's moment with ``rebuild.moment_occurrences``."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        return self._iter_trees(MomentFilter.of(where, by).moments_only(), batch_size)

    def _iter_trees(
        self, where: MomentFilter, batch_size: int
    ) -> Iterator[tuple[MomentInfo, list[TreeNode], list[Feedback]]]:
        """Default: moment by moment (S3 has no bulk read); SQL reads a few queries a batch."""
        infos = sorted((s.info for s in self._list_moments(where, None, 0)),
                       key=lambda i: (i.created_at, i.moment_id))
        for start in range(0, len(infos), batch_size):
            for info in infos[start:start + batch_size]:
                yield info, self.tree(info.moment_id), self.list_feedback(info.moment_id)

    # --- fast paths for aggregate views: defaults here, overridden where faster --------
    def moment_infos(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> list[MomentInfo]:
        """Every matching moment's info, oldest first, without counting snapshots."""
        summaries = self._list_moments(MomentFilter.of(where, by).moments_only(), None, 0)
        return sorted((s.info for s in summaries), key=lambda i: (i.created_at, i.moment_id))

    def iter_snapshot_texts(
        self, where: MomentFilter | None = None, *, roots_only: bool = False,
        **by: Unpack[FilterFields],
    ) -> Iterator[tuple[str, object, object | None, str, str]]:
        """(moment id, node key, parent's node key, appended MDL, annotations YAML) of
        every snapshot of the matching moments (node keys are unique within a moment);
        with ``roots_only``, only the roots."""
        from moments_core.mdl import write_occurrences

        for info, nodes, _ in self.iter_trees(MomentFilter.of(where, by)):
            for n in nodes:
                if roots_only and n.parent_id is not None:
                    continue
                added = write_occurrences(list(n.added))
                yield info.moment_id, n.snapshot_id, n.parent_id, added, n.annotations_yaml

    def answer_facts(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> Iterator[FactRow]:
        """(moment id, then ``AnswerFact``'s fields) for every answer and rejected answer
        in the matching moments' trees, each counted once however many paths share it.
        Derived here from the trees; the SQL store reads the ones it wrote with each
        snapshot."""
        for info, nodes, _ in self.iter_trees(MomentFilter.of(where, by)):
            for n in nodes:
                for fact in facts_of(n.added, n.annotations_yaml):
                    yield fact_row(info.moment_id, fact)

    def fork_counts(
        self, where: MomentFilter | None = None, **by: Unpack[FilterFields]
    ) -> dict[str, int]:
        """Per moment (only those with any), how many snapshots start another branch:
        the sum over parents of (children - 1)."""
        out: dict[str, int] = {}
        for info, nodes, _ in self.iter_trees(MomentFilter.of(where, by)):
            forks = sum(max(0, len(n.children) - 1) for n in nodes)
            if forks:
                out[info.moment_id] = forks
        return out

    def all_feedback(self) -> list[Feedback]:
        """Every feedback record (for aggregate views)."""
        return self.list_feedback()

    @abstractmethod
    def delete_moment(self, moment_id: str) -> None:
        """Soft delete: hidden from listings and exports, still readable by id; later
        saves to it are refused (``MomentDeleted``)."""

    # --- feedback -----------------------------------------------------------------
    def add_feedback(self, feedback: Feedback) -> Feedback:
        """Store feedback; fills ``id`` and ``moment_id`` when empty. The snapshot (and the
        other snapshot of a preference, which may be in another moment: the compare
        page's lanes each have their own) must be stored."""
        try:
            value_json = json.dumps(feedback.value)
        except (TypeError, ValueError) as err:
            raise StoreError(f"feedback value {feedback.value!r} is not JSON: {err}") from None
        if feedback.kind not in FEEDBACK_KINDS:
            raise StoreError(f"feedback kind {feedback.kind!r} is not one of"
                             f" {', '.join(sorted(FEEDBACK_KINDS))}")
        for name in ("author", "snapshot_id"):
            check_text(getattr(feedback, name), f"feedback {name}")
        check_text(value_json, "feedback value")
        mid = self._moment_of_snapshot(feedback.snapshot_id)
        if feedback.other_snapshot_id is not None:
            self._moment_of_snapshot(feedback.other_snapshot_id)
        if feedback.moment_id and feedback.moment_id != mid:
            raise StoreError(
                f"snapshot {feedback.snapshot_id} is in moment {mid}, not {feedback.moment_id}"
            )
        feedback.moment_id = mid
        feedback.id = feedback.id or new_id()
        self._write_feedback(feedback)
        return feedback

    @abstractmethod
    def _moment_of_snapshot(self, snapshot_id: str) -> str:
        """The moment id of a stored snapshot. Raises NotFound."""

    @abstractmethod
    def _write_feedback(self, feedback: Feedback) -> None:
        """Store checked feedback; idempotent on its id (the same id replaces it)."""

    @abstractmethod
    def list_feedback(
        self, moment_id: str | None = None, snapshot_id: str | None = None
    ) -> list[Feedback]: ...

    # --- agent config versions ----------------------------------------------------
    @abstractmethod
    def save_config_version(
        self, agent_kind: str, agent_id: str, agent_variant: str, yaml_text: str, author: str = ""
    ) -> ConfigVersion:
        """Store as the next version (1, 2, ...); identical text to the newest is not
        stored again, the newest is returned."""

    @abstractmethod
    def list_config_versions(
        self, agent_kind: str | None = None, agent_id: str | None = None,
        agent_variant: str | None = None,
    ) -> list[ConfigVersion]:
        """Oldest first within a variant."""

    @abstractmethod
    def get_config_version(
        self, agent_kind: str, agent_id: str, agent_variant: str, version: int | None = None
    ) -> ConfigVersion:
        """The named version, or the newest. Raises NotFound."""

    # --- eval runs (issue 16, H7): records kept by moments_core/store/eval_runs.py -------
    def save_eval_run(self, record: dict[str, Any]) -> None:
        """Create or replace an evaluation run's record (its plain dict, ``run_id`` set)."""
        from .eval_runs import save_eval_run

        save_eval_run(self, record)

    def get_eval_run(self, run_id: str) -> dict[str, Any]:
        """An evaluation run's record. Raises NotFound."""
        from .eval_runs import get_eval_run

        return get_eval_run(self, run_id)

    def list_eval_runs(self, suite_name: str | None = None, limit: int | None = None
                       ) -> list[Any]:
        """Summaries (``eval_runs.EvalRunSummary``) of the stored runs, newest first."""
        from .eval_runs import list_eval_runs

        return list(list_eval_runs(self, suite_name, limit))

    # --- path index (issue 17, H6): where a stateless chat client's history ends ------
    def path_index(self) -> PathIndex:
        """Keys of conversation paths -> snapshots (``path_index.path_keys``). This default
        keeps them in memory while the store object lives; SQL and S3 keep them stored."""
        index = self.__dict__.get("_memory_path_index")
        if index is None:
            index = self.__dict__.setdefault("_memory_path_index", MemoryPathIndex())
        assert isinstance(index, PathIndex)
        return index

    def find_path(self, keys: Sequence[str]) -> PathHit | None:
        """The first of ``keys`` (longest history first) that is indexed, or None."""
        return self.path_index().find(keys)

    def index_path(self, key: str, snapshot_id: str, moment_id: str) -> None:
        """Index a path's key; a key indexed already keeps its snapshot."""
        self.path_index().put(key, snapshot_id, moment_id)

    def close(self) -> None:  # noqa: B027 - optional for back ends
        """Release connections."""


__all__ = [
    "FEEDBACK_KINDS",
    "MOMENT_SOURCES",
    "ConfigVersion",
    "Feedback",
    "FeedbackKind",
    "FilterFields",
    "LogStore",
    "MomentDeleted",
    "MomentFilter",
    "MomentInfo",
    "MomentSource",
    "MomentSummary",
    "NewSnapshot",
    "NotFound",
    "ParentState",
    "StoreError",
    "StoreUnavailable",
    "TreeNode",
    "agent_key",
]
