"""The fine-tuned checkpoint as a new agent variant, stored in the log store so the chat
and compare pages list it at once (they read stored config versions)."""

from __future__ import annotations

import re
from pathlib import Path

from moments_core.agents import load_agent_config, save_config
from moments_core.agents.editor import config_fields, config_yaml
from moments_core.agents.registry import find_config_file
from moments_core.store.base import LogStore

Key = tuple[str, str, str]
VARIANT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def variant_taken(store: LogStore, key: Key) -> bool:
    if store.list_config_versions(*key):
        return True
    try:
        find_config_file(*key)
    except FileNotFoundError:
        return False
    return True


def derive_variant_name(store: LogStore, source: Key, method: str) -> str:
    """``01`` -> ``01-sft``, then ``01-sft-2``, ... (the first name not taken)."""
    stem = f"{source[2]}-{method}"
    name, n = stem, 1
    while variant_taken(store, (source[0], source[1], name)):
        n += 1
        name = f"{stem}-{n}"
    return name


def register_variant(
    store: LogStore, source: Key, checkpoint: Path, method: str,
    variant: str | None = None, note: str = "",
) -> Key:
    """Store a copy of the source variant's newest config with provider ``transformers``
    and ``model`` = the checkpoint folder; returns the new variant's key."""
    if variant and not VARIANT_NAME.fullmatch(variant):
        raise ValueError(f"variant name {variant!r}: use letters, digits, '.', '_' or '-'")
    name = variant or derive_variant_name(store, source, method)
    key: Key = (source[0], source[1], name)
    if variant_taken(store, key):
        raise ValueError(f"variant {'-'.join(key)} already exists; pick another name")
    fields = config_fields(load_agent_config(*source, store=store).config)
    described = f"Fine-tuned ({method}) from {'-'.join(source)}. {note}".strip()
    fields.update(
        variant=name, provider="transformers", model=str(checkpoint.resolve()),
        # The model learned chat-shaped turns; completion mode would prompt it with
        # raw MDL it never saw in training.
        mode="chat", description=described, base_url="",
    )
    save_config(store, config_yaml(fields), author="finetune")
    return key
