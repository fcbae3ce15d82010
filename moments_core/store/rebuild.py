"""Stored snapshots -> snapshots with full moments. Shared by back ends.

A "row" is anything with ``StoredSnapshot``'s attributes (one, or a SQLAlchemy row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from moments_core.mdl import Moment, Occurrence, Snapshot

from .base import TreeNode
from .delta import Node, path_occurrences

# A result row read by column name; SQLAlchemy's variadic Row type adds nothing here.
DbRow = Any


def node(row: DbRow) -> Node:
    return Node(row.snapshot_id, row.parent_id, row.kept, row.added, row.added_count)


def snapshot_from_rows(row: DbRow, path: Sequence[Node]) -> Snapshot:
    """The snapshot of ``row``, whose root-first path of nodes ends with its own."""
    # previous_snapshot_id is stored only when it differs from the tree link.
    prev = row.previous_snapshot_id if row.previous_snapshot_id is not None else row.parent_id
    return Snapshot(
        moment=Moment(path_occurrences(path), row.moment_id),
        id=row.snapshot_id,
        moment_id=row.moment_id,
        previous_snapshot_id=prev,
        timestamp=row.timestamp,
        annotations_yaml=row.annotations_yaml,
    )


def leaf_snapshots(rows: Sequence[DbRow]) -> list[Snapshot]:
    """Leaves of one moment's rows (parents before children), with full moments."""
    nodes = {r.snapshot_id: node(r) for r in rows}
    parents = {r.parent_id for r in rows if r.parent_id is not None}
    out: list[Snapshot] = []
    for r in rows:
        if r.snapshot_id in parents:
            continue
        path = [nodes[r.snapshot_id]]
        while True:
            up = path[-1].parent_id
            if up is None or up not in nodes:
                break
            path.append(nodes[up])
        path.reverse()
        out.append(snapshot_from_rows(r, path))
    return out


def moment_occurrences(nodes_by_id: Mapping[str, TreeNode], snapshot_id: str) -> list[Occurrence]:
    """The full occurrence list of a snapshot, rebuilt from its moment's TreeNodes: each
    node on the path from the root keeps a prefix of its parent's list and appends its own
    ``added``. Nothing is parsed; the occurrence objects are the nodes' own (shared by
    every snapshot that keeps them), the list is new."""
    path = [nodes_by_id[snapshot_id]]
    while path[-1].parent_id is not None and path[-1].parent_id in nodes_by_id:
        path.append(nodes_by_id[path[-1].parent_id])
    occurrences: list[Occurrence] = []
    for n in reversed(path):
        del occurrences[n.kept:]
        occurrences.extend(n.added)
    return occurrences
