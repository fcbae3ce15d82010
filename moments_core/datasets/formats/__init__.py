"""Every dataset format, by name."""

from __future__ import annotations

from .base import DatasetFormat, ExportContext
from .dpo import Dpo, OpenAIPreference
from .oasst_trees import OasstTrees
from .openai_chat import OpenAIChat
from .prompt_completion import PromptCompletion
from .seed_csv import SeedCsv
from .sft import Sft

FORMATS: dict[str, DatasetFormat] = {
    f.name: f
    for f in (SeedCsv(), OpenAIChat(), Sft(), PromptCompletion(), Dpo(), OpenAIPreference(),
              OasstTrees())
}


def get_format(name: str) -> DatasetFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset format {name!r}; choose one of: {', '.join(FORMATS)}"
        ) from None


__all__ = ["FORMATS", "DatasetFormat", "ExportContext", "get_format"]
