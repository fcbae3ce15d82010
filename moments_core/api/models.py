"""Request and response bodies. They describe the dict face of DESIGN.md, which is also the
JSON the older web client and logging senders used, so those keep working unchanged.

Occurrence ``content`` is any JSON on purpose: its shape depends on ``kind`` and is checked
by ``moments_core.mdl`` (with a message that names the occurrence), not by the schema.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from moments_core.agents.names import NAME_MAX, NAME_PATTERN, check_name
from moments_core.mdl import KEYWORDS
from moments_core.store.base import MomentInfo, TreeNode

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Listed in the schema for clients; checked by moments_core.mdl, whose message is clearer.
OCCURRENCE_KINDS = sorted(KEYWORDS | {"Participant"})
# Ids are UUIDs in practice; the bound only keeps junk out of the store's indexes.
ID_MAX = 200


def _printable(value: str) -> str:
    # A control character or a lone surrogate would reach the database as a driver error.
    if not value.isprintable():
        raise ValueError("an id holds only printable characters (no control characters,"
                         " no lone surrogates)")
    return value


# A snapshot or moment id from a body: bounded and printable, checked before any lookup.
Ident = Annotated[str, Field(max_length=ID_MAX), AfterValidator(_printable)]


def _name_part(value: str, info: ValidationInfo) -> str:
    return check_name(value, info.field_name or "name")


# A kind, id or variant: checked by the one name rule (moments_core.agents.names) before
# it can name a file; the pattern is in the schema so clients see it.
NamePart = Annotated[str, Field(min_length=1, max_length=NAME_MAX,
                                json_schema_extra={"pattern": NAME_PATTERN}),
                     AfterValidator(_name_part)]


class OccurrenceModel(BaseModel):
    """``{"kind": "Self", "content": {"emotion": "", "says": "Hi"}}``; a participant is
    ``{"kind": "Participant", "content": {"name", "identifier", "emotion", "says"}}``."""

    kind: str = Field(examples=["Participant"],
                      json_schema_extra={"enum": list[JsonValue](OCCURRENCE_KINDS)})
    content: Any = Field(default=None, examples=[{"name": "Customer", "identifier": "",
                                                  "emotion": "", "says": "A latte, please"}])


class MomentModel(BaseModel):
    id: str | None = None  # also the response's: ids stored earlier are read back as they are
    occurrences: list[OccurrenceModel] = Field(default_factory=list)


class SnapshotIn(BaseModel):
    """A turn: the last snapshot the client received (``id``) with the occurrences the
    client appended to its moment. Other fields are accepted and ignored."""

    id: Ident = Field(min_length=1, description="the snapshot the new occurrences extend")
    moment_id: Ident | None = None
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

    id: Ident | None = None
    moment_id: Ident | None = None
    previous_snapshot_id: Ident | None = None
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
    """The variant to talk to; its prompt comes from its config only.

    The older web client sends a placeholder snapshot instead (``{"id", "moment",
    "previous_snapshot_id", "__agent_config_override"}``): with a ``moment`` and no
    ``variant`` the moment talks to the server's default variant
    (``MOMENTS_API_DEFAULT_VARIANT``), the placeholder's ids are ignored and the override
    is never applied."""

    model_config = ConfigDict(populate_by_name=True)

    # Declared first: the checks of ``id`` and ``variant`` read it.
    moment: MomentModel | None = Field(
        default=None, description="older client: the placeholder snapshot's moment (ignored)")
    previous_snapshot_id: str | None = Field(default=None, max_length=ID_MAX,
                                             description="older client: ignored")
    agent_config_override: Any = Field(
        default=None, alias="__agent_config_override",
        description="older client: never applied (the prompt comes from the server)")
    kind: NamePart = Field(default="Agent")
    id: NamePart | None = Field(default=None, validate_default=True, examples=["cafebot"])
    variant: NamePart | None = Field(default=None, validate_default=True, examples=["01"])

    @field_validator("id", "variant", mode="wrap")
    @classmethod
    def _named_unless_placeholder(cls, value: Any, handler: ValidatorFunctionWrapHandler,
                                  info: ValidationInfo) -> Any:
        if info.data.get("moment") is not None and (
                info.field_name == "id" or value is None):
            return None  # the placeholder's id is a snapshot id, not an agent's
        if value is None:
            raise PydanticCustomError("missing", "Field required")
        return handler(value)


class VariantOut(BaseModel):
    kind: str
    id: str
    variant: str
    description: str
    provider: str
    model: str
    mode: str
    participant: str


def _fields_of(record: type[DataclassInstance], *, leave_out: Collection[str] = (),
               **given: tuple[Any, Any]) -> dict[str, Any]:
    """A store record's fields as pydantic field definitions: all required, typed as the
    record declares them unless ``given`` (type, Field) for a field; ``leave_out`` are
    not sent."""
    hints = get_type_hints(record)
    return {f.name: given.get(f.name, (hints[f.name], ...))
            for f in fields(record) if f.name not in leave_out}


# The store's records are declared once (moments_core/store/records.py); these responses
# are derived from them, so a field added there is sent here. ``meta`` stays internal.
class MomentInfoOut(create_model(  # type: ignore[misc]
        "MomentInfoFields", **_fields_of(MomentInfo, leave_out={"meta"}))):
    """Who a moment belongs to and where it came from."""

    @classmethod
    def of(cls, info: MomentInfo) -> MomentInfoOut:
        return cls(**{name: getattr(info, name) for name in cls.model_fields})


class TreeNodeOut(create_model(  # type: ignore[misc]
        "TreeNodeFields", **_fields_of(
            TreeNode, leave_out={"annotations_yaml"},
            kept=(int, Field(description="occurrences kept from the parent")),
            added=(list[OccurrenceModel],
                   Field(description="occurrences this snapshot appends"))))):
    """A snapshot in its moment's tree, with what it appends."""

    @classmethod
    def of(cls, node: TreeNode) -> TreeNodeOut:
        values = {name: getattr(node, name) for name in cls.model_fields}
        values["added"] = [o.to_dict() for o in node.added]
        return cls(**values)


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
