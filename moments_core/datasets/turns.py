"""What a "turn" is, defined once: an agent answer (a ``Self`` occurrence) on the path.

Lines of the init moment never count: an Example's ``Self:`` lines live inside the
Example occurrence, so counting parsed occurrences leaves them out by construction
(counting text lines that start with ``Self:`` would not). Conversations, Insights and
the exports all count through these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeGuard

from moments_core.mdl import Occurrence, Self
from moments_core.store.base import TreeNode


def is_turn(occurrence: Occurrence) -> TypeGuard[Self]:
    """An agent answer. A ``Rejected`` line (a regenerated answer) is not a turn."""
    return isinstance(occurrence, Self)


def count_turns(occurrences: Iterable[Occurrence]) -> int:
    """Agent answers among ``occurrences`` (a path, or what one snapshot appends)."""
    return sum(1 for occ in occurrences if isinstance(occ, Self))


def tree_turns(nodes: Sequence[TreeNode]) -> int:
    """Agent answers in a moment's tree, each counted once however many branches share
    it: the answers on all its paths together."""
    return sum(count_turns(node.added) for node in nodes)
