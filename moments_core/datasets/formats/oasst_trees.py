"""``oasst-trees``: one JSON line per moment, the whole tree as OpenAssistant-style nodes.

OpenAssistant trees are message trees; a snapshot tree becomes one by giving each
dialogue line (participant or Self) a node whose id is the snapshot that added it (with
``#n`` when a snapshot adds several lines). What comes before the first line (the
agent's instructions) is kept as ``system``. Rejected lines are left out of the tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from moments_core.mdl import Participant, Self, write_occurrences

from ..walk import Conversation, Split, TreeView
from .base import DatasetFormat, ExportContext, Row


class OasstTrees(DatasetFormat):
    name = "oasst-trees"
    description = "One JSON line per moment: the tree of messages with labels and ratings"

    def rows(
        self, tree: TreeView, conversations: list[Conversation], ctx: ExportContext
    ) -> Iterator[tuple[Split, Row]]:
        if not conversations:
            return
        keep = {sid for c in conversations for sid in tree.path_ids(c.snapshot_id)}
        nodes: dict[str, dict[str, Any]] = {}
        roots: list[dict[str, Any]] = []
        system: str | None = None
        last_message: dict[str, str | None] = {}  # snapshot -> its last message id
        for sid in tree.order:
            if sid not in keep:
                continue
            snap = tree.nodes[sid]
            parent_msg = last_message.get(snap.parent_id) if snap.parent_id else None
            lines = [o for o in snap.added if isinstance(o, Self | Participant)]
            if system is None and snap.parent_id is None:
                first = next((i for i, o in enumerate(snap.added)
                              if isinstance(o, Self | Participant)), len(snap.added))
                system = write_occurrences(list(snap.added[:first]))
            for n, occ in enumerate(lines):
                mid = sid if len(lines) == 1 else f"{sid}#{n}"
                node: dict[str, Any] = {
                    "message_id": mid,
                    "parent_id": parent_msg,
                    "role": "assistant" if isinstance(occ, Self) else "prompter",
                    "name": occ.speaker,
                    "text": occ.says,
                    "replies": [],
                }
                if n == len(lines) - 1:
                    node["labels"] = tree.labels(sid)
                    node["rating"] = tree.rating(sid)
                    node["thumbs"] = tree.thumbs(sid)
                nodes[mid] = node
                if parent_msg is None:
                    roots.append(node)
                else:
                    nodes[parent_msg]["replies"].append(node)
                parent_msg = mid
            last_message[sid] = parent_msg
        info = tree.info
        yield conversations[0].split, {
            "message_tree_id": info.moment_id,
            "agent": {"kind": info.agent_kind, "id": info.agent_id,
                      "variant": info.agent_variant},
            "source": info.source,
            "system": system or "",
            "prompt": roots[0] if len(roots) == 1 else None,
            "roots": roots,
        }
