"""A conversation as a person sees it in a chat: one branch of a moment's tree.

Each visible line knows the snapshot that added it, and the alternatives at that point
(the other children of that snapshot's parent), so a chat page can offer regenerate,
edit and a ``< 2/3 >`` switcher without knowing how the store keeps trees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from moments_core.mdl import Occurrence, Participant, Self
from moments_core.store.base import LogStore, TreeNode


@dataclass(slots=True)
class BranchLine:
    """One occurrence on the branch, with where it came from."""

    occurrence: Occurrence
    snapshot_id: str  # the snapshot that added it
    parent_id: str | None  # that snapshot's parent (where an edit or regenerate forks)
    siblings: list[str]  # alternatives at this point, oldest first (includes snapshot_id)
    last_of_snapshot: bool  # the snapshot's last line: where the switcher goes

    @property
    def is_dialogue(self) -> bool:
        return isinstance(self.occurrence, Self | Participant)

    @property
    def position(self) -> int:
        """1-based index among the alternatives."""
        return self.siblings.index(self.snapshot_id) + 1


@dataclass(slots=True)
class BranchView:
    moment_id: str
    leaf_id: str
    lines: list[BranchLine]
    nodes: dict[str, TreeNode]

    @property
    def occurrences(self) -> list[Occurrence]:
        return [line.occurrence for line in self.lines]


def newest_leaf_under(nodes: dict[str, TreeNode], snapshot_id: str) -> str:
    """Follow the newest child down to a leaf: where switching to a branch lands."""
    sid = snapshot_id
    while nodes[sid].children:
        sid = max(nodes[sid].children, key=lambda c: (nodes[c].timestamp, c))
    return sid


def branch_view(store: LogStore, moment_id: str, leaf_id: str) -> BranchView:
    """The branch from the root to ``leaf_id`` (which need not be a leaf of the tree)."""
    nodes = {n.snapshot_id: n for n in store.tree(moment_id)}
    if leaf_id not in nodes:
        raise KeyError(f"snapshot {leaf_id} is not in moment {moment_id}")
    path: list[str] = []
    sid: str | None = leaf_id
    while sid is not None and sid in nodes:
        path.append(sid)
        sid = nodes[sid].parent_id
    path.reverse()
    lines: list[BranchLine] = []
    for sid in path:
        node = nodes[sid]
        # A child keeps a prefix of its parent's lines and appends its own.
        del lines[node.kept:]
        parent = node.parent_id
        siblings = list(nodes[parent].children) if parent in nodes else [sid]
        for i, occ in enumerate(node.added):
            lines.append(BranchLine(occ, sid, parent, siblings, i == len(node.added) - 1))
    return BranchView(moment_id, leaf_id, lines, nodes)


def cut_before(view: BranchView, snapshot_id: str, *, last_line: bool = False) -> int:
    """How many lines stay on screen while ``snapshot_id`` is replaced (regenerated or
    edited): the lines before it added anything, or, with ``last_line``, all but its last
    line (a regenerate keeps what came before the answer in the same snapshot)."""
    own = [i for i, line in enumerate(view.lines) if line.snapshot_id == snapshot_id]
    if not own:
        return len(view.lines)
    return own[-1] if last_line else own[0]


@dataclass(slots=True)
class RecentConversation:
    """One row of a "recent conversations" list: enough to reopen it on its newest leaf."""

    moment_id: str
    leaf_id: str
    title: str  # the first participant line ("" when nobody spoke yet)
    variant: tuple[str, str, str]
    last_at: datetime | None


def recent_conversations(store: LogStore, limit: int = 10, source: str | None = "chat"
                         ) -> list[RecentConversation]:
    """The newest moments (by last activity), each with its newest leaf and a title."""
    out: list[RecentConversation] = []
    for summary in store.list_moments(source=source, limit=limit):
        info = summary.info
        nodes = {n.snapshot_id: n for n in store.tree(info.moment_id)}
        if not nodes:
            continue
        title = next((o.says for n in nodes.values() for o in n.added
                      if isinstance(o, Participant)), "")
        leaves = [n for n in nodes.values() if not n.children]
        leaf = max(leaves, key=lambda n: (n.timestamp, n.snapshot_id))
        out.append(RecentConversation(
            info.moment_id, leaf.snapshot_id, title,
            (info.agent_kind, info.agent_id, info.agent_variant),
            summary.last_at or info.created_at,
        ))
    return out


def switch_to(view: BranchView, line: BranchLine, step: int) -> str:
    """The leaf to show after moving ``step`` alternatives from ``line``'s branch."""
    i = (line.siblings.index(line.snapshot_id) + step) % len(line.siblings)
    return newest_leaf_under(view.nodes, line.siblings[i])
