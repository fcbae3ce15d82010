"""The stored records, each declared once (and ``TreeNode``, a snapshot as a tree
shows it), and every stored form derived from that one
declaration: the SQL columns (``columns`` / ``from_columns``; the tables in tables.py
declare the same columns, ``tests/test_store_records.py`` holds them to it) and the JSON
bodies of S3 objects (``to_json`` / ``from_json``). The API's response models are derived
from them too (``api/models.py``). Adding a field to a record adds it everywhere.

A field is stored as itself unless ``_SQL_FORMS`` says otherwise (another column name or
an encoding); datetime fields are ISO 8601 text in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args, get_type_hints

import yaml

from moments_core.mdl import now
from moments_core.mdl.yamlio import load_yaml

from .stamps import iso

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Closed sets, declared once. The records keep them as ``str`` (a form, the CLI or an
# older log hands over plain text); every write checks them against these.
MomentSource = Literal["chat", "compare", "corpus", "import", "api", "openai-api", "eval"]
MOMENT_SOURCES: frozenset[str] = frozenset(get_args(MomentSource))
FeedbackKind = Literal["rating", "thumbs", "label", "comment", "exclude", "preference"]
FEEDBACK_KINDS: frozenset[str] = frozenset(get_args(FeedbackKind))


@dataclass(slots=True)
class MomentInfo:
    """Who a moment belongs to and where it came from."""

    moment_id: str
    agent_kind: str = "Agent"
    agent_id: str = ""
    agent_variant: str = ""
    agent_instance_id: str = ""
    config_version: int | None = None
    source: str = "chat"  # one of MomentSource
    created_at: datetime = field(default_factory=now)
    deleted: bool = False
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. compare_session_id


@dataclass(slots=True)
class Feedback:
    """A rating, thumbs, label, comment, exclusion, or a preference between two snapshots."""

    snapshot_id: str
    kind: str  # one of FeedbackKind
    value: Any = None  # 1..5 for rating, +1/-1 for thumbs, text, bool, or "tie"
    moment_id: str = ""
    other_snapshot_id: str | None = None  # for preference: value names the winner
    author: str = ""
    id: str = ""
    created_at: datetime = field(default_factory=now)


@dataclass(slots=True)
class ConfigVersion:
    agent_kind: str
    agent_id: str
    agent_variant: str
    version: int
    yaml_text: str
    created_at: datetime = field(default_factory=now)
    author: str = ""


@dataclass(slots=True)
class TreeNode:
    """A snapshot inside its moment's tree, without the full moment."""

    snapshot_id: str
    parent_id: str | None
    timestamp: datetime
    kept: int  # occurrences kept from the parent
    added: list[Any]  # the occurrences this snapshot appends (typed Occurrence objects)
    children: list[str] = field(default_factory=list)
    annotations_yaml: str = ""  # the snapshot's annotations, as written

    @property
    def annotations(self) -> dict[str, Any]:
        """The annotations parsed: {} when there are none or they do not parse as a
        YAML mapping."""
        if not self.annotations_yaml:
            return {}
        try:
            value = load_yaml(self.annotations_yaml)
        except (yaml.YAMLError, RecursionError):
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class AnswerFact:
    """An agent answer (``rejected``: a regenerated one, kept as a Rejected line) as the
    aggregate views count it: derived from a snapshot's appended occurrences and its
    annotations when the snapshot is written (``answer_facts.facts_of``), so the Insights
    page reads numbers instead of parsing every conversation's MDL."""

    rejected: bool
    chars: int  # characters of the line said
    provider: str = "?"  # as the snapshot's annotations name them ("?": not named)
    model: str = "?"
    latency_ms: float | None = None
    tokens: float | None = None


@dataclass(slots=True)
class StoredSnapshot:
    """A snapshot as stored, relative to its parent, with its links as ids: the body of
    an S3 snapshot object, and the SQL store's compact row once resolved (``seq`` keys
    turned into ids, the two timestamp integers into the datetime)."""

    snapshot_id: str
    moment_id: str
    parent_id: str | None
    previous_snapshot_id: str | None  # as written, only when the tree link does not say it
    timestamp: datetime
    annotations_yaml: str
    kept: int  # occurrences kept from the parent
    added_count: int
    added: str  # canonical MDL of the appended occurrences


Record = TypeVar("Record", bound="DataclassInstance")


@dataclass(frozen=True, slots=True)
class SqlForm:
    """A field kept in SQL under another column name or in another form."""

    column: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _meta_text(meta: dict[str, Any]) -> str:
    return json.dumps(meta, sort_keys=True) if meta else ""


def _meta_value(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text) if text else {}
    return value


_SQL_FORMS: dict[type, dict[str, SqlForm]] = {
    MomentInfo: {"meta": SqlForm("meta", _meta_text, _meta_value),
                 "deleted": SqlForm("deleted", bool, bool)},  # 0/1 from some drivers
    Feedback: {"value": SqlForm("value_json", json.dumps, json.loads)},
}


@cache
def _layout(cls: type) -> tuple[tuple[str, bool, SqlForm | None], ...]:
    """(field, is a datetime, its SQL form) for each field of a record class, in order."""
    hints = get_type_hints(cls)
    forms = _SQL_FORMS.get(cls, {})
    return tuple((f.name, hints[f.name] is datetime, forms.get(f.name)) for f in fields(cls))


def column_names(cls: type[DataclassInstance]) -> list[str]:
    """The SQL columns a record class is stored in (besides a table's own key)."""
    return [form.column if form else name for name, _, form in _layout(cls)]


def columns(record: DataclassInstance) -> dict[str, Any]:
    """The record as its table's column values."""
    return {(form.column if form else name):
            (form.encode(getattr(record, name)) if form else getattr(record, name))
            for name, _, form in _layout(type(record))}


def from_columns(cls: type[Record], row: Any) -> Record:
    """A row with the record's columns as attributes (a SQLAlchemy row) back to it."""
    return cls(**{name: form.decode(getattr(row, form.column)) if form else getattr(row, name)
                  for name, _, form in _layout(cls)})


def to_json(record: DataclassInstance) -> dict[str, Any]:
    """The record as an S3 object's JSON body (datetimes as ISO text)."""
    return {name: iso(getattr(record, name)) if is_time else getattr(record, name)
            for name, is_time, _ in _layout(type(record))}


def from_json(cls: type[Record], body: Mapping[str, Any]) -> Record:
    """Back from ``to_json``; keys the declaration does not know are left out (an S3
    snapshot object also holds its format and ``__agent_info``)."""
    return cls(**{name: datetime.fromisoformat(body[name]) if is_time else body[name]
                  for name, is_time, _ in _layout(cls) if name in body})

