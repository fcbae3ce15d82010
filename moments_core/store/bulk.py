"""Compact snapshot rows of many moments -> trees and leaves, parsing each text once.

Rows come as plain tuples in the column order of ``ROW_COLS`` in sql.py, grouped by
moment and in ``seq`` order (parents before children); snapshot ids as stored (bytes,
see ids.py) or already decoded. The appended MDL of a whole batch
is parsed in one call and cut into each row's occurrences by ``added_count``; a
snapshot's full moment is then its path's lists joined, each node keeping a prefix of
its parent's: a shared prefix is parsed once, never per leaf. The occurrence objects are
shared between the snapshots of a moment (treat them as read-only); each list is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moments_core.mdl import MDLSyntaxError, Moment, Occurrence, Snapshot, parse_occurrences

from .base import TreeNode
from .ids import decode as decode_id
from .stamps import decode

# (moment_pk, seq, snapshot_id, parent_seq, previous_snapshot_id, ts_us, utc_offset_s,
#  annotations_yaml, kept, added_count, added): indexes into such a row.
MOMENT, SEQ, SID, PARENT, PREV, TS, OFFSET, ANNOTATIONS, KEPT, COUNT, ADDED = range(11)
Row = Sequence[Any]


def parse_added(rows: Sequence[Row]) -> list[list[Occurrence]]:
    """Each row's appended occurrences. Canonical MDL is line-based and every stored text
    ends with a newline, so the texts joined parse to the rows' occurrences in order."""
    texts = [r[ADDED] for r in rows]
    joined = "".join(texts)
    if not joined:
        return [[] for _ in rows]
    try:
        parsed = parse_occurrences(joined)
    except MDLSyntaxError:
        parsed = []  # re-parsed row by row below, so the error names the row's text
    if len(parsed) != sum(r[COUNT] for r in rows):
        return [parse_occurrences(t) if t else [] for t in texts]
    out: list[list[Occurrence]] = []
    pos = 0
    for r in rows:
        end = pos + r[COUNT]
        out.append(parsed[pos:end])
        pos = end
    return out


def tree_nodes(rows: Sequence[Row], added: Sequence[list[Occurrence]]) -> list[TreeNode]:
    """The TreeNodes of one moment's rows, parents before children, ``children`` filled."""
    by_seq: dict[int, TreeNode] = {}
    nodes: list[TreeNode] = []
    for r, occurrences in zip(rows, added, strict=True):
        parent = by_seq.get(r[PARENT]) if r[PARENT] is not None else None
        n = TreeNode(snapshot_id=decode_id(r[SID]),
                     parent_id=parent.snapshot_id if parent else None,
                     timestamp=decode(r[TS], r[OFFSET]), kept=r[KEPT], added=occurrences,
                     annotations_yaml=r[ANNOTATIONS] or "")
        if parent is not None:
            parent.children.append(n.snapshot_id)
        by_seq[r[SEQ]] = n
        nodes.append(n)
    return nodes


def leaf_snapshots(
    moment_id: str, rows: Sequence[Row], added: Sequence[list[Occurrence]]
) -> list[Snapshot]:
    """The leaves of one moment's rows, with full moments, oldest first."""
    index = {r[SEQ]: i for i, r in enumerate(rows)}
    parents = {r[PARENT] for r in rows}
    out: list[Snapshot] = []
    for i, r in enumerate(rows):
        if r[SEQ] in parents:
            continue
        path = [i]
        while (up := rows[path[-1]][PARENT]) is not None and up in index:
            path.append(index[up])
        occurrences: list[Occurrence] = []
        for j in reversed(path):
            del occurrences[rows[j][KEPT]:]
            occurrences.extend(added[j])
        # previous_snapshot_id is stored only where it differs from the tree link.
        prev = r[PREV]
        if prev is None and len(path) > 1:
            prev = decode_id(rows[path[1]][SID])
        out.append(Snapshot(
            Moment(occurrences, moment_id), id=decode_id(r[SID]), moment_id=moment_id,
            previous_snapshot_id=prev, timestamp=decode(r[TS], r[OFFSET]),
            annotations_yaml=r[ANNOTATIONS],
        ))
    return out
