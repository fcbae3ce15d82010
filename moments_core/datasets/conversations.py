"""Rows of the Conversations page: one per moment, with a preview and its turn count,
and a text search over what was said. No UI library needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from moments_core.mdl import Occurrence, Participant, Self
from moments_core.mdl.display import occurrence_text
from moments_core.store.base import (
    LogStore,
    MomentFilter,
    MomentInfo,
    MomentSource,
    MomentSummary,
    TreeNode,
)

from .feedback import moment_ratings
from .turns import tree_turns
from .walk import TreeView

# Moment sources the dashboard offers as filters: every source the store accepts.
SOURCES: tuple[str, ...] = get_args(MomentSource)
PREVIEW_CHARS = 80


@dataclass(frozen=True, slots=True)
class ConversationRow:
    moment_id: str
    variant: str
    source: str
    user: str  # who asked, when the client said (the OpenAI-compatible API's ``user``)
    created_at: datetime
    first_line: str  # the first participant line of the newest branch
    last_answer: str  # the agent's last answer on the newest branch
    turns: int  # agent answers on all branches (moments_core.datasets.turns)
    branches: int  # leaves
    snapshots: int
    rating: float | None
    deleted: bool
    newest_leaf: str  # where "open" and "continue" land

    def as_dict(self) -> dict[str, object]:
        return {
            "first line": self.first_line, "last answer": self.last_answer,
            "variant": self.variant, "source": self.source, "user": self.user,
            "created": self.created_at, "turns": self.turns, "branches": self.branches,
            "rating": self.rating, "deleted": self.deleted, "moment": self.moment_id,
        }


def variant_name(info: MomentInfo) -> str:
    return f"{info.agent_kind}-{info.agent_id}-{info.agent_variant}"


def newest_leaf(nodes: Sequence[TreeNode]) -> str | None:
    """The leaf written last (ties: the larger id), or None for an empty tree."""
    leaves = [n for n in nodes if not n.children]
    if not leaves:
        return None
    return max(leaves, key=lambda n: (n.timestamp, n.snapshot_id)).snapshot_id


def _short(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def preview(occurrences: Sequence[Occurrence]) -> tuple[str, str]:
    """(first participant line, last agent answer) of a path, shortened for a table."""
    first = next((o for o in occurrences if isinstance(o, Participant)), None)
    last = next((o for o in reversed(occurrences) if isinstance(o, Self)), None)
    return (_short(f"{first.name}: {first.says}") if first else "",
            _short(last.says) if last else "")


def conversation_row(summary: MomentSummary, nodes: list[TreeNode],
                     rating: float | None) -> ConversationRow:
    info = summary.info
    leaf = newest_leaf(nodes)
    path = TreeView.build(info, nodes, []).occurrences(leaf) if leaf else []
    first, last = preview(path)
    return ConversationRow(
        moment_id=info.moment_id, variant=variant_name(info), source=info.source,
        user=str(info.meta.get("user") or ""), created_at=info.created_at,
        first_line=first, last_answer=last, turns=tree_turns(nodes),
        branches=summary.leaves, snapshots=summary.snapshots, rating=rating,
        deleted=info.deleted, newest_leaf=leaf or "",
    )


def matches(nodes: Iterable[TreeNode], text: str) -> bool:
    """Whether any line of the tree (what was said, thought, observed) holds ``text``,
    ignoring case."""
    needle = text.casefold()
    return any(needle in occurrence_text(occ).casefold()
               for node in nodes for occ in node.added)


@dataclass(frozen=True, slots=True)
class ListQuery(MomentFilter):
    """The store's moment filter plus a text search over what was said."""

    search: str = ""


def _list(store: LogStore, query: ListQuery, limit: int | None, offset: int
          ) -> list[MomentSummary]:
    return store.list_moments(query.moments_only(), limit=limit, offset=offset)


def list_conversations(store: LogStore, query: ListQuery, limit: int, offset: int = 0
                       ) -> tuple[list[ConversationRow], bool]:
    """A page of rows, newest first, and whether another page follows. With a search
    text, every matching moment's tree is read and searched (a full scan)."""
    search = query.search.strip()
    trees: dict[str, list[TreeNode]] = {}
    if search:
        # One bulk walk over the trees (a few queries per batch of moments), newest first
        # after it; the page's summaries are then counted from the trees themselves.
        found: list[MomentSummary] = []
        for info, nodes, _ in store.iter_trees(query.moments_only()):
            if matches(nodes, search):
                leaves = sum(1 for n in nodes if not n.children)
                found.append(MomentSummary(info, len(nodes), leaves))
                trees[info.moment_id] = nodes
        found.sort(key=lambda s: (s.info.created_at, s.info.moment_id), reverse=True)
        page = found[offset: offset + limit + 1]
    else:
        page = _list(store, query, limit + 1, offset)
    has_next = len(page) > limit
    page = page[:limit]
    ids = [s.info.moment_id for s in page]
    ratings = moment_ratings(store, ids)
    rows = [conversation_row(s, trees.get(s.info.moment_id) or store.tree(s.info.moment_id),
                             ratings.get(s.info.moment_id)) for s in page]
    return rows, has_next
