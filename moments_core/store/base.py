"""The log store's one interface and its records; the SQL and S3 back ends implement it.

A snapshot is stored *relative to its parent*: how many of the parent's occurrences it
keeps, plus the occurrences it appends. Reading a snapshot walks its parents.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from moments_core.mdl import Snapshot, now
from moments_core.mdl.yamlio import load_yaml


class StoreError(RuntimeError):
    """A store operation that cannot be done; the message says why."""


class NotFound(StoreError):
    """The named moment, snapshot or config does not exist."""


@dataclass(slots=True)
class MomentInfo:
    """Who a moment belongs to and where it came from."""

    moment_id: str
    agent_kind: str = "Agent"
    agent_id: str = ""
    agent_variant: str = ""
    agent_instance_id: str = ""
    config_version: int | None = None
    source: str = "chat"  # chat | compare | corpus | import | api
    created_at: datetime = field(default_factory=now)
    deleted: bool = False
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. compare_session_id


@dataclass(slots=True)
class MomentSummary:
    """One row of a moment listing."""

    info: MomentInfo
    snapshots: int
    leaves: int
    last_at: datetime | None = None


@dataclass(slots=True)
class TreeNode:
    """A snapshot inside its moment's tree, without the full moment."""

    snapshot_id: str
    parent_id: str | None
    timestamp: datetime
    kept: int  # occurrences kept from the parent
    added: list[Any]  # the occurrences this snapshot appends (typed Occurrence objects)
    children: list[str] = field(default_factory=list)
    annotations_yaml: str = ""  # the snapshot's annotations, as written

    @property
    def annotations(self) -> dict[str, Any]:
        """The annotations parsed: {} when there are none or they do not parse as a
        YAML mapping."""
        if not self.annotations_yaml:
            return {}
        try:
            value = load_yaml(self.annotations_yaml)
        except (yaml.YAMLError, RecursionError):
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class Feedback:
    """A rating, thumbs, label, comment, exclusion, or a preference between two snapshots."""

    snapshot_id: str
    kind: str  # rating | thumbs | label | comment | exclude | preference
    value: Any = None  # 1..5 for rating, +1/-1 for thumbs, text, bool, or "tie"
    moment_id: str = ""
    other_snapshot_id: str | None = None  # for preference: value names the winner
    author: str = ""
    id: str = ""
    created_at: datetime = field(default_factory=now)


@dataclass(slots=True)
class ConfigVersion:
    agent_kind: str
    agent_id: str
    agent_variant: str
    version: int
    yaml_text: str
    created_at: datetime = field(default_factory=now)
    author: str = ""


class LogStore(ABC):
    """Every snapshot kept, as trees."""

    # --- moments and snapshots ----------------------------------------------------
    @abstractmethod
    def save_moment(self, info: MomentInfo) -> None:
        """Create the moment's record (idempotent on ``moment_id``)."""

    @abstractmethod
    def get_moment(self, moment_id: str) -> MomentInfo:
        """Raises NotFound."""

    @abstractmethod
    def save_snapshot(
        self, snapshot: Snapshot, info: MomentInfo | None = None, *, orphan_as_root: bool = False
    ) -> None:
        """Store a snapshot (idempotent on its id). Its parent (``previous_snapshot_id``)
        must already be stored in the same moment; ``info`` creates the moment when new.

        Raises StoreError, with nothing written, when the parent is missing (unless
        ``orphan_as_root``: the import keeps such a snapshot as a root), when the moment
        belongs to another agent, or when the occurrences do not write and parse back.
        A root may name its moment id as previous id, as the older system wrote it."""

    def has_snapshot(self, snapshot_id: str) -> bool:
        """Whether a snapshot with this id is stored."""
        try:
            self.get_snapshot(snapshot_id)
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

    @abstractmethod
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
        """Newest first."""

    @abstractmethod
    def iter_leaves(
        self,
        agent_kind: str | None = None,
        agent_id: str | None = None,
        agent_variant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_deleted: bool = False,
    ) -> Iterator[tuple[MomentInfo, Snapshot]]:
        """Every leaf with its full moment, moment by moment, in bulk (not a query per
        snapshot); memory bounded by one moment's tree."""

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
        """Every moment matching the filters, oldest first, with its whole tree (parents
        before children, ``children`` filled, ``added`` = parsed occurrences) and all its
        feedback, read in batches of ``batch_size`` moments; memory bounded by one batch.
        Occurrence objects are shared by the snapshots that keep them: read-only.

        This default reads moment by moment (S3 has no bulk read); the SQL store reads a
        few queries per batch. Rebuild a snapshot's moment with
        ``rebuild.moment_occurrences``."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        summaries = self.list_moments(agent_kind, agent_id, agent_variant, since, until,
                                      source, include_deleted)
        infos = sorted((s.info for s in summaries), key=lambda i: (i.created_at, i.moment_id))
        for start in range(0, len(infos), batch_size):
            for info in infos[start:start + batch_size]:
                yield info, self.tree(info.moment_id), self.list_feedback(info.moment_id)

    @abstractmethod
    def delete_moment(self, moment_id: str) -> None:
        """Soft delete: hidden from listings and exports, still readable by id."""

    # --- feedback -----------------------------------------------------------------
    @abstractmethod
    def add_feedback(self, feedback: Feedback) -> Feedback:
        """Store feedback; fills ``id`` and ``moment_id`` when empty."""

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

    def close(self) -> None:  # noqa: B027 - optional for back ends
        """Release connections."""
