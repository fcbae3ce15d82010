"""Text views of stored moments for the CLI: one line per moment, a tree as indented text."""

from __future__ import annotations

from moments_core.mdl import Occurrence

from .base import MomentSummary, TreeNode


def moment_line(s: MomentSummary) -> str:
    i = s.info
    agent = f"{i.agent_kind}/{i.agent_id}/{i.agent_variant}"
    deleted = "  (deleted)" if i.deleted else ""
    return (f"{i.moment_id}  {agent}  {i.source}  snapshots={s.snapshots}  leaves={s.leaves}"
            f"  {i.created_at.isoformat(timespec='seconds')}{deleted}")


def _first_words(occ: Occurrence, words: int = 8) -> str:
    text = getattr(occ, "says", None)
    if not isinstance(text, str):
        text = occ.to_mdl().partition(":")[2]
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def tree_lines(nodes: list[TreeNode]) -> list[str]:
    """Depth-first, children indented under their parent; leaves marked."""
    by_id = {n.snapshot_id: n for n in nodes}
    lines: list[str] = []
    roots = [n for n in nodes if n.parent_id is None or n.parent_id not in by_id]
    stack = [(n, 0) for n in reversed(roots)]
    while stack:
        n, depth = stack.pop()
        last = n.added[-1] if n.added else None
        what = f"{last.speaker}: {_first_words(last)}" if last is not None else "(no new line)"
        leaf = "  [leaf]" if not n.children else ""
        lines.append(f"{'  ' * depth}{n.snapshot_id}  {what}{leaf}")
        stack.extend((by_id[c], depth + 1) for c in reversed(n.children))
    return lines
