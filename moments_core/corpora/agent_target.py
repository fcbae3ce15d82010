"""The agent a corpus is converted for: its key, init moment and participant name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moments_core.store.base import LogStore


@dataclass(frozen=True, slots=True)
class AgentTarget:
    kind: str
    id: str
    variant: str
    init: str  # the config's init MDL, as written
    participant: str  # the config's default name for the human
    version: int | None = None  # the store's config version, when loaded with a store

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.id}-{self.variant}"


def load_target(
    kind: str, agent_id: str, variant: str, *, store: LogStore | None = None,
    folder: str | Path | None = None,
) -> AgentTarget:
    """From ``configs/`` (or the store's newest version when a store is given)."""
    # Imported here: the agents package pulls pydantic and the store's records, which a
    # plain CSV conversion does not otherwise need.
    from moments_core.agents import load_agent_config

    vc = load_agent_config(kind, agent_id, variant, store=store, folder=folder)
    c = vc.config
    return AgentTarget(c.kind, c.id, c.variant, c.init, c.participant, vc.version)
