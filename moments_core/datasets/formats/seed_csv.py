"""``csv``: the seed format, one row per conversation (leaf), the path as canonical MDL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from moments_core.mdl import write_occurrences

from ..walk import Conversation, Split, TreeView
from .base import DatasetFormat, ExportContext, Row

COLUMNS = ("agent_kind", "agent_id", "agent_variant", "agent_instance_id", "moment_id",
           "snapshot_id", "moment")


class SeedCsv(DatasetFormat):
    name = "csv"
    description = "The seed CSV: one row per leaf, the whole conversation as MDL"
    suffixes: ClassVar[tuple[str, ...]] = (".csv",)
    csv_columns = COLUMNS

    def rows(
        self, tree: TreeView, conversations: list[Conversation], ctx: ExportContext
    ) -> Iterator[tuple[Split, Row]]:
        info = tree.info
        for conv in conversations:
            yield conv.split, {
                "agent_kind": info.agent_kind,
                "agent_id": info.agent_id,
                "agent_variant": info.agent_variant,
                "agent_instance_id": info.agent_instance_id,
                "moment_id": info.moment_id,
                "snapshot_id": conv.snapshot_id,
                "moment": write_occurrences(conv.occurrences),
            }
