"""A conversation as a person sees it in a chat: one branch of a moment's tree.

Each visible line knows the snapshot that added it, and the alternatives at that point
(the other children of that snapshot's parent), so a chat page can offer regenerate,
edit and a ``< 2/3 >`` switcher without knowing how the store keeps trees.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def switch_to(view: BranchView, line: BranchLine, step: int) -> str:
    """The leaf to show after moving ``step`` alternatives from ``line``'s branch."""
    i = (line.siblings.index(line.snapshot_id) + step) % len(line.siblings)
    return newest_leaf_under(view.nodes, line.siblings[i])
