"""A moment's snapshot tree as Graphviz DOT text (drawn by the dashboard, or by `dot`)."""

from __future__ import annotations

from moments_core.mdl import Occurrence, Participant, Rejected, Self

from .base import TreeNode

COLOURS = {"agent": "#dbeafe", "participant": "#dcfce7", "rejected": "#fee2e2", "other": "#f3f4f6"}


def node_label(added: list[Occurrence], words: int = 6) -> tuple[str, str]:
    """(label, colour key) for a snapshot: the last line it adds, speaker + first words."""
    dialogue = [o for o in added if isinstance(o, Self | Participant | Rejected)]
    occ = dialogue[-1] if dialogue else (added[-1] if added else None)
    if occ is None:
        return "(empty)", "other"
    text = getattr(occ, "says", None) or getattr(occ, "text", None) or occ.kind
    short = " ".join(str(text).split()[:words])
    if len(str(text).split()) > words:
        short += " …"
    if any(isinstance(o, Rejected) for o in added):
        colour = "rejected"
    elif isinstance(occ, Self):
        colour = "agent"
    elif isinstance(occ, Participant):
        colour = "participant"
    else:
        colour = "other"
    return f"{occ.speaker}: {short}", colour


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def tree_dot(nodes: list[TreeNode], selected: str | None = None) -> str:
    """DOT for the tree: colour by who spoke (agent, participant, a regenerate's Rejected),
    leaves with a double border, branch points in bold, the selected snapshot outlined."""
    lines = [
        "digraph moment {",
        '  rankdir=TB; node [shape=box, style="rounded,filled", fontname="Helvetica", '
        'fontsize=10]; edge [color="#9ca3af"];',
    ]
    for n in nodes:
        label, colour = node_label(list(n.added))
        attrs = [f"label={_quote(label)}", f'fillcolor="{COLOURS[colour]}"']
        if not n.children:
            attrs.append("peripheries=2")
        if len(n.children) > 1:
            attrs.append("penwidth=2")
        if n.snapshot_id == selected:
            attrs.append('color="#dc2626", penwidth=3')
        lines.append(f"  {_quote(n.snapshot_id)} [{', '.join(attrs)}];")
    for n in nodes:
        if n.parent_id is not None:
            lines.append(f"  {_quote(n.parent_id)} -> {_quote(n.snapshot_id)};")
    lines.append("}")
    return "\n".join(lines)
