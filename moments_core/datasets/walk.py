"""The one tree walk every exporter is fed by.

The store hands over one moment at a time (its tree and its feedback); this module turns
it into a ``TreeView`` (full occurrence lists per snapshot, feedback per snapshot) and the
conversations to export from it, after the shared filters. Memory is bounded by one
moment's tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from moments_core.mdl import Occurrence
from moments_core.store.base import Feedback, LogStore, MomentFilter, MomentInfo, TreeNode

from .feedback import rating_value

# Annotation key of a snapshot whose Self lines came from a client (see client_written_ids).
CLIENT_SELF_LINES = "client_self_lines"

Branches = Literal["all", "latest"]
Split = Literal["train", "validation"]


@dataclass(frozen=True, slots=True)
class ExportFilters(MomentFilter):
    """The store's ``MomentFilter`` (which moments) plus what every format filters on
    within them. ``None`` (or "all") for a field means any."""

    min_rating: float | None = None  # keeps conversations whose mean rating is at least this
    include_excluded: bool = False  # conversations marked "exclude" are left out by default
    branches: Branches = "all"  # every branch (each leaf) or only each moment's newest leaf
    validation_fraction: float = 0.0  # share of moments that go to the validation split
    seed: int = 0

    def __post_init__(self) -> None:
        # Explicit: a slots dataclass is a new class, which a bare super() does not see.
        super(ExportFilters, self).__post_init__()
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError("validation_fraction must be in [0, 1)")
        if self.branches not in ("all", "latest"):
            raise ValueError("branches must be 'all' or 'latest'")

    def split_of(self, moment_id: str) -> Split:
        """Seeded and stable: a moment always lands in the same split for one seed."""
        if self.validation_fraction <= 0:
            return "train"
        digest = hashlib.blake2b(f"{self.seed}:{moment_id}".encode(), digest_size=8).digest()
        return "validation" if int.from_bytes(digest) / 2**64 < self.validation_fraction \
            else "train"


@dataclass(slots=True)
class TreeView:
    """One moment's tree with full occurrence lists and feedback by snapshot."""

    info: MomentInfo
    nodes: dict[str, TreeNode]
    order: list[str]  # parents before children
    feedback: list[Feedback]
    by_snapshot: dict[str, list[Feedback]] = field(default_factory=dict)
    excluded_ids: set[str] = field(default_factory=set)  # snapshots marked "exclude"
    _occ: dict[str, list[Occurrence]] = field(default_factory=dict)
    _origin: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, info: MomentInfo, nodes: list[TreeNode], feedback: list[Feedback]) -> TreeView:
        view = cls(info, {n.snapshot_id: n for n in nodes}, [n.snapshot_id for n in nodes],
                   feedback)
        for fb in feedback:
            view.by_snapshot.setdefault(fb.snapshot_id, []).append(fb)
        view.excluded_ids = {fb.snapshot_id for fb in feedback
                             if fb.kind == "exclude" and view.excluded(fb.snapshot_id)}
        return view

    def occurrences(self, snapshot_id: str) -> list[Occurrence]:
        """The snapshot's full moment: its parent's kept prefix plus what it adds."""
        cached = self._occ.get(snapshot_id)
        if cached is not None:
            return cached
        # Iterative, parents first, so deep trees do not recurse.
        chain = []
        sid: str | None = snapshot_id
        while sid is not None and sid not in self._occ:
            chain.append(sid)
            node = self.nodes.get(sid)
            sid = node.parent_id if node is not None else None
        for sid in reversed(chain):
            node = self.nodes[sid]
            parent = node.parent_id
            base = self._occ.get(parent, []) if parent else []
            base_origin = self._origin.get(parent, []) if parent else []
            self._occ[sid] = base[: node.kept] + list(node.added)
            self._origin[sid] = base_origin[: node.kept] + [sid] * len(node.added)
        return self._occ[snapshot_id]

    def origins(self, snapshot_id: str) -> list[str]:
        """For each occurrence of the snapshot's moment, the snapshot that added it."""
        self.occurrences(snapshot_id)
        return self._origin[snapshot_id]

    def client_written_ids(self) -> set[str]:
        """Snapshots holding ``Self`` lines a client sent rather than the agent wrote (the
        OpenAI-compatible endpoint keeps a foreign history's assistant turns, annotated
        ``client_self_lines``). A path through one is never exported: training data must
        not teach the model lines someone else put in the agent's mouth."""
        return {sid for sid, node in self.nodes.items()
                if CLIENT_SELF_LINES in node.annotations_yaml
                and node.annotations.get(CLIENT_SELF_LINES)}

    def leaves(self) -> list[str]:
        return [sid for sid in self.order if not self.nodes[sid].children]

    def path_ids(self, snapshot_id: str) -> list[str]:
        out = []
        sid: str | None = snapshot_id
        while sid is not None and sid in self.nodes:
            out.append(sid)
            sid = self.nodes[sid].parent_id
        out.reverse()
        return out

    # --- feedback ---------------------------------------------------------------------
    def latest(self, snapshot_id: str, kind: str) -> Feedback | None:
        found = [f for f in self.by_snapshot.get(snapshot_id, []) if f.kind == kind]
        return max(found, key=lambda f: f.created_at) if found else None

    def thumbs(self, snapshot_id: str) -> int | None:
        """+1 or -1: the latest thumbs given to this snapshot, if any."""
        fb = self.latest(snapshot_id, "thumbs")
        if fb is None:
            return None
        try:
            value = float(fb.value)
        except (TypeError, ValueError):
            return None
        # 0 is a thumbs taken back (a second press in the chat page).
        return None if value == 0 else 1 if value > 0 else -1

    def rating(self, snapshot_id: str) -> float | None:
        fb = self.latest(snapshot_id, "rating")
        return rating_value(fb.value) if fb is not None else None

    def labels(self, snapshot_id: str) -> list[str]:
        return sorted({str(f.value) for f in self.by_snapshot.get(snapshot_id, [])
                       if f.kind == "label" and f.value})

    def excluded(self, snapshot_id: str) -> bool:
        fb = self.latest(snapshot_id, "exclude")
        return bool(fb is not None and fb.value not in (False, 0, "false", "0", None))


@dataclass(slots=True)
class Conversation:
    """One root-to-snapshot path of a moment, ready for a format to write."""

    tree: TreeView
    snapshot_id: str
    occurrences: list[Occurrence]
    origins: list[str]  # the snapshot that added each occurrence
    split: Split = "train"

    @property
    def info(self) -> MomentInfo:
        return self.tree.info

    def rating(self) -> float | None:
        """Mean of the ratings given along the path (None when unrated)."""
        ratings = [r for sid in self.tree.path_ids(self.snapshot_id)
                   if (r := self.tree.rating(sid)) is not None]
        return sum(ratings) / len(ratings) if ratings else None


def conversations_of(tree: TreeView, filters: ExportFilters) -> list[Conversation]:
    """The conversations of one moment that pass the filters."""
    leaves = tree.leaves()
    if filters.branches == "latest" and leaves:
        leaves = [max(leaves, key=lambda sid: tree.nodes[sid].timestamp)]
    split = filters.split_of(tree.info.moment_id)
    out = []
    excluded = tree.excluded_ids if not filters.include_excluded else set()
    excluded = excluded | tree.client_written_ids()
    for leaf in leaves:
        if excluded and any(s in excluded for s in tree.path_ids(leaf)):
            continue
        conv = Conversation(tree, leaf, tree.occurrences(leaf), tree.origins(leaf), split)
        if filters.min_rating is not None:
            rating = conv.rating()
            if rating is None or rating < filters.min_rating:
                continue
        out.append(conv)
    return out


def iter_trees(store: LogStore, filters: ExportFilters) -> Iterator[TreeView]:
    """Every moment matching the agent/time/source filters, one tree at a time."""
    for info, nodes, feedback in store.iter_trees(filters.moments_only()):
        yield TreeView.build(info, nodes, feedback)
