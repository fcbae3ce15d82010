"""``prompt-completion``: one row per agent turn, in MDL.

The prompt is the moment up to and including ``Self: `` (Rejected lines left out); the
completion is the rest of the agent's line. A turn shared by several branches is written
once; a reply with a thumbs down is not written.
"""

from __future__ import annotations

from collections.abc import Iterator

from moments_core.mdl import Rejected, Self

from ..walk import Conversation, Split, TreeView
from .base import DatasetFormat, ExportContext, Row

PREFIX = "Self: "


class PromptCompletion(DatasetFormat):
    name = "prompt-completion"
    description = "One row per agent turn: MDL prompt ending in 'Self: ', the line as completion"
    suffixes = (".jsonl", ".parquet")
    parquet = True

    def rows(
        self, tree: TreeView, conversations: list[Conversation], ctx: ExportContext
    ) -> Iterator[tuple[Split, Row]]:
        seen: set[tuple[str, int]] = set()
        for conv in conversations:
            lines: list[str] = []
            for i, occ in enumerate(conv.occurrences):
                if isinstance(occ, Rejected):
                    continue
                text = occ.to_mdl()
                if isinstance(occ, Self):
                    key = (conv.origins[i], i)
                    if key not in seen and tree.thumbs(conv.origins[i]) != -1:
                        seen.add(key)
                        prompt = "".join(line + "\n" for line in lines) + PREFIX
                        yield conv.split, {"prompt": prompt,
                                           "completion": text[len(PREFIX):] + "\n"}
                lines.append(text)
