"""What a "turn" is: an agent answer (a ``Self`` occurrence) on the path. The rule itself
lives with the store's answer facts (``moments_core.store.answer_facts.is_turn``), which
the SQL store computes on every write; Conversations, Insights and the exports all count
through these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from moments_core.mdl import Occurrence
from moments_core.store.answer_facts import is_turn
from moments_core.store.base import TreeNode

__all__ = ["count_turns", "is_turn", "tree_turns"]


def count_turns(occurrences: Iterable[Occurrence]) -> int:
    """Agent answers among ``occurrences`` (a path, or what one snapshot appends)."""
    return sum(1 for occ in occurrences if is_turn(occ))


def tree_turns(nodes: Sequence[TreeNode]) -> int:
    """Agent answers in a moment's tree, each counted once however many branches share
    it: the answers on all its paths together."""
    return sum(count_turns(node.added) for node in nodes)
