"""Request and response bodies. They describe the dict face of DESIGN.md, which is also the
JSON the older web client and logging senders used, so those keep working unchanged.

Occurrence ``content`` is any JSON on purpose: its shape depends on ``kind`` and is checked
by ``moments_core.mdl`` (with a message that names the occurrence), not by the schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from moments_core.mdl import KEYWORDS

# Listed in the schema for clients; checked by moments_core.mdl, whose message is clearer.
OCCURRENCE_KINDS = sorted(KEYWORDS | {"Participant"})
# Ids are UUIDs in practice; the bound only keeps junk out of the store's indexes.
ID_MAX = 200


class OccurrenceModel(BaseModel):
    """``{"kind": "Self", "content": {"emotion": "", "says": "Hi"}}``; a participant is
    ``{"kind": "Participant", "content": {"name", "identifier", "emotion", "says"}}``."""

    kind: str = Field(examples=["Participant"],
                      json_schema_extra={"enum": list[JsonValue](OCCURRENCE_KINDS)})
    content: Any = Field(default=None, examples=[{"name": "Customer", "identifier": "",
                                                  "emotion": "", "says": "A latte, please"}])


class MomentModel(BaseModel):
    id: str | None = None
    occurrences: list[OccurrenceModel] = Field(default_factory=list)


class SnapshotIn(BaseModel):
    """A turn: the last snapshot the client received (``id``) with the occurrences the
    client appended to its moment. Other fields are accepted and ignored."""

    id: str = Field(min_length=1, max_length=ID_MAX,
                    description="the snapshot the new occurrences extend")
    moment_id: str | None = Field(default=None, max_length=ID_MAX)
    previous_snapshot_id: str | None = None
    timestamp: str | None = None
    annotations: Any = None
    moment: MomentModel


class SnapshotOut(BaseModel):
    id: str
    moment_id: str
    previous_snapshot_id: str | None
    timestamp: str
    annotations: Any
    moment: MomentModel


class LegacySnapshotIn(BaseModel):
    """The older logging server's body: a whole snapshot, agent under ``__agent_info``."""

    model_config = ConfigDict(populate_by_name=True)

    id: str | None = Field(default=None, max_length=ID_MAX)
    moment_id: str | None = Field(default=None, max_length=ID_MAX)
    previous_snapshot_id: str | None = Field(default=None, max_length=ID_MAX)
    timestamp: str | None = None
    annotations: Any = None
    moment: MomentModel
    agent_info: dict[str, Any] | None = Field(default=None, alias="__agent_info")


class LoggedOut(BaseModel):
    snapshot_id: str
    moment_id: str
    stored: bool = Field(description="false when the snapshot was stored already")
    root_for_missing_parent: bool = Field(
        description="its previous snapshot is not stored, so it was kept as a root")


class StartIn(BaseModel):
    """The variant to talk to; its prompt comes from its config only."""

    kind: str = Field(default="Agent", min_length=1, max_length=ID_MAX)
    id: str = Field(min_length=1, max_length=ID_MAX, examples=["cafebot"])
    variant: str = Field(min_length=1, max_length=ID_MAX, examples=["01"])


class VariantOut(BaseModel):
    kind: str
    id: str
    variant: str
    description: str
    provider: str
    model: str
    mode: str
    participant: str


class MomentInfoOut(BaseModel):
    moment_id: str
    agent_kind: str
    agent_id: str
    agent_variant: str
    agent_instance_id: str
    config_version: int | None
    source: str
    created_at: datetime
    deleted: bool


class TreeNodeOut(BaseModel):
    snapshot_id: str
    parent_id: str | None
    timestamp: datetime
    kept: int = Field(description="occurrences kept from the parent")
    added: list[OccurrenceModel] = Field(description="occurrences this snapshot appends")
    children: list[str]


class TreeOut(BaseModel):
    moment: MomentInfoOut
    snapshots: list[TreeNodeOut] = Field(description="parents before children")
    leaves: list[str] = Field(description="snapshots without children: one per conversation")


class HealthOut(BaseModel):
    status: str
    store: str


class ErrorOut(BaseModel):
    detail: str
    participant_snapshot_id: str | None = Field(
        default=None, description="on a failed model call: the saved snapshot to retry from")
