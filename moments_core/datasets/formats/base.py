"""What a dataset format is: rows from one moment's tree and its conversations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from moments_core.mdl import Occurrence, Rejected, Self
from moments_core.mdl.chat import ChatMessage, to_chat_messages
from moments_core.store.base import LogStore

from ..walk import Conversation, Split, TreeView

Row = dict[str, Any]


@dataclass(slots=True)
class ExportContext:
    """What a format may need beyond the tree: the store, for cross-moment lookups."""

    store: LogStore


class DatasetFormat(ABC):
    """One output format. ``rows`` yields (split, row) pairs for one moment."""

    name: ClassVar[str]
    description: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]] = (".jsonl",)  # first one is the default
    csv_columns: ClassVar[tuple[str, ...]] = ()
    # pyarrow schema builder for Parquet output (None: Parquet not offered)
    parquet: ClassVar[bool] = False
    preference: ClassVar[bool] = False  # rows are preference pairs

    @abstractmethod
    def rows(
        self, tree: TreeView, conversations: list[Conversation], ctx: ExportContext
    ) -> Iterator[tuple[Split, Row]]: ...


def messages_dicts(messages: list[ChatMessage], with_name: bool = False) -> list[dict[str, str]]:
    return [m.as_dict(with_name) for m in messages]


def visible(occurrences: list[Occurrence]) -> list[Occurrence]:
    return [o for o in occurrences if not isinstance(o, Rejected)]


def has_reply(occurrences: list[Occurrence]) -> bool:
    return any(isinstance(o, Self) for o in occurrences)


def chat(occurrences: list[Occurrence]) -> list[ChatMessage]:
    return to_chat_messages(occurrences)
