"""The Moment Definition Language: typed occurrences, a fast parser and a canonical writer.

Three faces round-trip: MDL text <-> typed objects <-> plain dicts (the older JSON).
This package imports nothing else of ours.
"""

from .errors import MDLSyntaxError
from .moment import Moment, Snapshot, new_id, now, write_occurrences
from .occurrences import (
    KEYWORDS,
    Action,
    Begin,
    Context,
    Critique,
    CritiqueRequest,
    Example,
    Identification,
    Instructions,
    Motivation,
    Observation,
    Occurrence,
    Participant,
    Rejected,
    Resuming,
    Revision,
    RevisionRequest,
    SaysOccurrence,
    Self,
    TextOccurrence,
    Thought,
    Waiting,
    Working,
    YamlOccurrence,
    occurrence_from_dict,
)
from .parser import is_snapshot_text, parse, parse_moment, parse_occurrences, parse_snapshot


def write(obj: Moment | Snapshot) -> str:
    """Canonical MDL text of a moment or a snapshot."""
    return obj.to_mdl()


def from_dict(data: dict[str, object]) -> Moment | Snapshot:
    """A Snapshot when the dict has a ``moment`` key, else a Moment."""
    if isinstance(data, dict) and "moment" in data:
        return Snapshot.from_dict(data)
    return Moment.from_dict(data)


__all__ = [
    "KEYWORDS",
    "Action",
    "Begin",
    "Context",
    "Critique",
    "CritiqueRequest",
    "Example",
    "Identification",
    "Instructions",
    "MDLSyntaxError",
    "Moment",
    "Motivation",
    "Observation",
    "Occurrence",
    "Participant",
    "Rejected",
    "Resuming",
    "Revision",
    "RevisionRequest",
    "SaysOccurrence",
    "Self",
    "Snapshot",
    "TextOccurrence",
    "Thought",
    "Waiting",
    "Working",
    "YamlOccurrence",
    "from_dict",
    "is_snapshot_text",
    "new_id",
    "now",
    "occurrence_from_dict",
    "parse",
    "parse_moment",
    "parse_occurrences",
    "parse_snapshot",
    "write",
    "write_occurrences",
]
