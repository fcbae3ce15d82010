"""Snapshots relative to their parent: compute the delta on save, rebuild moments on read.

A snapshot keeps the first ``kept`` occurrences of its parent's moment and appends
``added`` (canonical MDL, one occurrence per line as ``write_occurrences`` writes it).
Comparing occurrences by their canonical text keeps this independent of object identity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from moments_core.mdl import MDLSyntaxError, Occurrence, parse_occurrences, write_occurrences

from .errors import StoreError


@dataclass(frozen=True, slots=True)
class Delta:
    kept: int
    added: str  # canonical MDL of the appended occurrences
    added_count: int


def occurrence_texts(occurrences: Iterable[Occurrence]) -> tuple[str, ...]:
    """Canonical text of each occurrence; raises StoreError for one that cannot be written."""
    out: list[str] = []
    for i, occ in enumerate(occurrences):
        try:
            out.append(occ.to_mdl())
        except Exception as err:  # noqa: BLE001 - any writer failure is bad input, reported with its place
            raise StoreError(
                f"occurrence {i} ({type(occ).__name__}) cannot be written: {err}"
            ) from None
    return tuple(out)


def compute_delta(parent: Sequence[str], child: Sequence[str]) -> Delta:
    """Longest common prefix of the two moments, then the rest of the child."""
    kept = 0
    for a, b in zip(parent, child, strict=False):
        if a != b:
            break
        kept += 1
    rest = child[kept:]
    added = "\n".join(rest) + "\n" if rest else ""
    return Delta(kept, added, len(rest))


def check_added(added: str, count: int, where: str) -> None:
    """The appended text must parse back to the same occurrences, or nothing is stored."""
    if not added:
        return
    try:
        back = parse_occurrences(added)
    except MDLSyntaxError as err:
        raise StoreError(f"{where}: its occurrences do not parse as MDL: {err}") from None
    if len(back) != count or write_occurrences(back) != added:
        raise StoreError(
            f"{where}: its occurrences do not read back as written (an occurrence holds"
            " text MDL cannot represent)"
        )


@dataclass(slots=True)
class Node:
    """What reconstruction needs of one stored snapshot."""

    snapshot_id: str
    parent_id: str | None
    kept: int
    added: str
    added_count: int

    @property
    def size(self) -> int:
        return self.kept + self.added_count


def path_text(path: Sequence[Node]) -> str:
    """Canonical MDL of the last node's moment, from its root-first path.

    Walks from the leaf up: each ancestor contributes the part of its own appended
    occurrences that its descendants kept. Whole segments are joined as text and the
    result parsed once by the caller; only a partly kept segment is re-parsed here.
    """
    segments: list[str] = []
    cut = path[-1].size
    for node in reversed(path):
        take = min(node.size, cut) - node.kept
        if take >= node.added_count:
            segments.append(node.added)
        elif take > 0:
            segments.append(write_occurrences(parse_occurrences(node.added)[:take]))
        cut = min(cut, node.kept)
        if cut == 0:
            break
    segments.reverse()
    return "".join(segments)


def path_occurrences(path: Sequence[Node]) -> list[Occurrence]:
    return parse_occurrences(path_text(path))
