"""``sft``: TRL conversational SFT rows (``messages``), JSONL or Parquet.

TRL has no per-message weight, so a conversation is cut after the last good reply before
its first reply that got a thumbs down: the model learns the turns before, never that one.
"""

from __future__ import annotations

from collections.abc import Iterator

from moments_core.mdl import Self

from ..walk import Conversation, Split, TreeView
from .base import DatasetFormat, ExportContext, Row, chat, has_reply, messages_dicts


class Sft(DatasetFormat):
    name = "sft"
    description = "TRL conversational SFT: {messages: [system/user/assistant]}"
    suffixes = (".jsonl", ".parquet")
    parquet = True

    def rows(
        self, tree: TreeView, conversations: list[Conversation], ctx: ExportContext
    ) -> Iterator[tuple[Split, Row]]:
        for conv in conversations:
            occurrences = conv.occurrences
            for i, occ in enumerate(occurrences):
                if isinstance(occ, Self) and tree.thumbs(conv.origins[i]) == -1:
                    # End on the last good reply: a row that ends with a question teaches
                    # nothing and some trainers reject it.
                    last = max((j for j in range(i) if isinstance(occurrences[j], Self)),
                               default=-1)
                    occurrences = occurrences[: last + 1]
                    break
            if not has_reply(occurrences):
                continue
            yield conv.split, {"messages": messages_dicts(chat(occurrences))}
