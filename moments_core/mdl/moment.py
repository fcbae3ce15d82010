"""A moment (ordered occurrences) and a snapshot (a moment at a point in time)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .occurrences import (
    Occurrence,
    Participant,
    Rejected,
    Revision,
    Self,
    occurrence_from_dict,
)
from .quoting import quote_emotion, stuff_yaml
from .yamlio import dump_yaml, load_yaml

_SAYS_HEADS: dict[type[Occurrence], str] = {
    Self: "Self: ", Rejected: "Rejected: ", Revision: "Revision: "
}
_C_HEADS: dict[type, str] = dict(_SAYS_HEADS)  # what the C loop reads (any type key)

_c_write: Callable[[list[Occurrence], type, dict[type, str], Callable[[str], str]], str] | None
try:  # built from _writer.c at install time; optional (no compiler: the Python loop)
    from ._writer import write as _c_write
except ImportError:  # pragma: no cover - depends on how the package was installed
    _c_write = None


def write_occurrences(occurrences: list[Occurrence]) -> str:
    """Canonical MDL: one occurrence per line (blocks span lines), each ending in a newline.

    Says-lines are most of a conversation, so they are written in one loop (the same text
    as their ``to_mdl``), in C where the package's extension was built (``_writer.c``)
    and in Python otherwise (``_write_python``); both write the same text, a test holds
    them to it. Every other kind goes through its own ``to_mdl``.
    """
    if not occurrences:
        return ""
    if _c_write is not None:
        return _c_write(occurrences, Participant, _C_HEADS, quote_emotion)
    return _write_python(occurrences)


def _write_python(occurrences: list[Occurrence]) -> str:
    """``write_occurrences`` as a Python loop: a method call and a quoting call per line
    were most of the time of writing each occurrence by itself, so says-lines are written
    here inline."""
    if not occurrences:
        return ""
    out: list[str] = []
    append = out.append
    heads = _SAYS_HEADS
    o: Any  # Participant or SaysOccurrence below, told apart by exact type (cheapest test)
    for o in occurrences:
        t = type(o)
        if t is Participant:
            head = f"{o.name} ({o.identifier}): " if o.identifier else o.name + ": "
        elif t in heads:
            head = heads[t]
        else:
            append(o.to_mdl())
            continue
        if o.emotion:
            head += quote_emotion(o.emotion)
        s = o.says
        # quote_says, inlined
        if "\\" in s:
            s = s.replace("\\", "\\\\")
        if '"' in s:
            s = s.replace('"', '\\"')
        append(f'{head}"""{s}"""' if "\n" in s else f'{head}"{s}"')
    append("")  # the last line's newline, without copying the whole text once more
    return "\n".join(out)


@dataclass(slots=True)
class Moment:
    occurrences: list[Occurrence] = field(default_factory=list)
    id: str | None = None

    def to_mdl(self) -> str:
        return write_occurrences(self.occurrences)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "occurrences": [o.to_dict() for o in self.occurrences]}

    @classmethod
    def from_dict(cls, data: Any) -> Moment:
        if not isinstance(data, dict):
            raise ValueError("a moment must be an object with 'occurrences'")
        raw = data.get("occurrences", [])
        if not isinstance(raw, list):
            raise ValueError("moment.occurrences must be a list")
        occurrences = []
        for i, item in enumerate(raw):
            try:
                occurrences.append(occurrence_from_dict(item))
            except ValueError as err:
                raise ValueError(f"occurrences[{i}]: {err}") from None
        mid = data.get("id")
        return cls(occurrences, None if mid is None else str(mid))

    def __len__(self) -> int:
        return len(self.occurrences)


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Snapshot:
    """A moment at a point in time; ``annotations_yaml`` is kept as written."""

    moment: Moment
    id: str = field(default_factory=new_id)
    moment_id: str = ""
    previous_snapshot_id: str | None = None
    timestamp: datetime = field(default_factory=now)
    annotations_yaml: str = ""

    def __post_init__(self) -> None:
        if not self.moment_id:
            self.moment_id = self.moment.id or self.id
        if self.moment.id is None:
            self.moment.id = self.moment_id

    @property
    def annotations(self) -> Any:
        return load_yaml(self.annotations_yaml) if self.annotations_yaml else {}

    @annotations.setter
    def annotations(self, value: Any) -> None:
        self.annotations_yaml = dump_yaml(value) if value else ""

    def header_mdl(self) -> str:
        lines = [f"# Moment ID: {self.moment_id}", f"# Snapshot ID: {self.id}"]
        if self.previous_snapshot_id is not None:
            lines.append(f"# Previous Snapshot ID: {self.previous_snapshot_id}")
        lines.append(f"# Timestamp: {self.timestamp.isoformat()}")
        if self.annotations_yaml:
            lines.append(f"# Annotations: ```\n{stuff_yaml(self.annotations_yaml)}\n```")
        return "\n".join(lines) + "\n"

    def to_mdl(self) -> str:
        return self.header_mdl() + self.moment.to_mdl()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "moment_id": self.moment_id,
            "previous_snapshot_id": self.previous_snapshot_id,
            "timestamp": self.timestamp.isoformat(),
            "annotations": self.annotations,
            "moment": self.moment.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        if not isinstance(data, dict):
            raise ValueError("a snapshot must be an object with 'id' and 'moment'")
        moment = Moment.from_dict(data.get("moment") or {})
        ts_raw = data.get("timestamp")
        try:
            timestamp = datetime.fromisoformat(ts_raw) if ts_raw else now()
        except (TypeError, ValueError):
            raise ValueError(f"snapshot.timestamp {ts_raw!r} is not an ISO 8601 time") from None
        sid = data.get("id") or new_id()
        moment_id = data.get("moment_id") or moment.id or str(sid)
        prev = data.get("previous_snapshot_id")
        annotations = data.get("annotations") or {}
        snap = cls(
            moment=moment,
            id=str(sid),
            moment_id=str(moment_id),
            previous_snapshot_id=None if prev is None else str(prev),
            timestamp=timestamp,
        )
        snap.annotations = annotations
        return snap
