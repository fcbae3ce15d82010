"""``openai-chat``: OpenAI fine-tuning JSONL. A reply that got a thumbs down stays as
context but gets ``weight: 0``, so the model is not trained to say it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..walk import Conversation, Split, TreeView
from .base import DatasetFormat, ExportContext, Row, chat, has_reply


class OpenAIChat(DatasetFormat):
    name = "openai-chat"
    description = "OpenAI chat fine-tuning JSONL (messages; thumbs-down replies weight 0)"

    def rows(
        self, tree: TreeView, conversations: list[Conversation], ctx: ExportContext
    ) -> Iterator[tuple[Split, Row]]:
        for conv in conversations:
            if not has_reply(conv.occurrences):
                continue
            messages: list[dict[str, Any]] = []
            for m in chat(conv.occurrences):
                item: dict[str, Any] = m.as_dict(with_name=m.role == "user")
                if m.role == "assistant":
                    down = tree.thumbs(conv.origins[m.source]) == -1
                    item["weight"] = 0 if down else 1
                messages.append(item)
            yield conv.split, {"messages": messages}
