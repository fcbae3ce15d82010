"""Plain summaries of occurrences for tables and listings (no UI library needed)."""

from __future__ import annotations

from .occurrences import (
    Example,
    Identification,
    Instructions,
    Occurrence,
    Participant,
    SaysOccurrence,
    TextOccurrence,
    YamlOccurrence,
)


def occurrence_text(occ: Occurrence) -> str:
    """The readable content of an occurrence, without MDL quoting."""
    if isinstance(occ, SaysOccurrence | Participant):
        return occ.says
    if isinstance(occ, TextOccurrence | Instructions):
        return occ.text
    if isinstance(occ, Example):
        return occ.text
    if isinstance(occ, YamlOccurrence):
        return occ.yaml_text
    if isinstance(occ, Identification):
        return f"{occ.participant} is called {occ.name}"
    return ""


def occurrence_rows(occurrences: list[Occurrence]) -> list[dict[str, str]]:
    """One row per occurrence: position, kind, speaker, emotion, text."""
    rows = []
    for i, occ in enumerate(occurrences, start=1):
        rows.append(
            {
                "#": str(i),
                "kind": occ.kind,
                "speaker": occ.speaker,
                "emotion": getattr(occ, "emotion", ""),
                "text": occurrence_text(occ),
            }
        )
    return rows
