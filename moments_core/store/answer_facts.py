"""What a "turn" is, defined once, and the numbers each answer adds to aggregate views.

A turn is an agent answer: a ``Self`` occurrence. Lines of the init moment never count:
an Example's ``Self:`` lines live inside the Example occurrence, so counting parsed
occurrences leaves them out by construction (counting text lines that start with
``Self:`` would not). A ``Rejected`` line (a regenerated answer) is not a turn; it is
counted as a regeneration.

``facts_of`` turns what one snapshot appends into ``AnswerFact`` records. Every back end
can derive them from its trees (``LogStore.answer_facts``); the SQL store also keeps, on
each snapshot row that appends answers, their lengths (``encode_answers``: a few bytes;
the provider, model, latency and tokens are in the row's annotations already), so the
Insights page over 10,000 conversations reads two short columns instead of parsing
200,000 lines of MDL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TypeGuard

from moments_core.mdl import Occurrence, Rejected, Self

from .records import AnswerFact, column_names

# Annotations are YAML written by the runtime; the few top-level keys the charts need are
# picked with a pattern (a YAML load per answer would cost more than everything else).
_ANNOTATION = re.compile(r"^(provider|model|latency_ms|tokens): *(.+)$", re.M)

# The tuple an aggregate read yields per fact: the moment's id, then the record's fields.
FACT_COLUMNS: tuple[str, ...] = ("moment_id", *column_names(AnswerFact))
FactRow = tuple[str, bool, int, str, str, float | None, float | None]


def is_turn(occurrence: Occurrence) -> TypeGuard[Self]:
    """An agent answer. A ``Rejected`` line (a regenerated answer) is not a turn."""
    return isinstance(occurrence, Self)


def _number(value: str | None) -> float | None:
    """An annotation's value as a finite number, or None (missing, or not a number)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# What a snapshot's annotations say of its answers: provider, model, latency, tokens.
_Meta = tuple[str, str, float | None, float | None]


def _meta(annotations_yaml: str) -> _Meta:
    notes = dict(_ANNOTATION.findall(annotations_yaml)) if annotations_yaml else {}
    return (notes.get("provider", "?"), notes.get("model", "?"),
            _number(notes.get("latency_ms")), _number(notes.get("tokens")))


def facts_of(added: Iterable[Occurrence], annotations_yaml: str) -> list[AnswerFact]:
    """One fact per answer or rejected answer among ``added`` (what one snapshot appends),
    with the provider, model, latency and tokens its snapshot's annotations name."""
    out: list[AnswerFact] = []
    meta: _Meta | None = None
    for occ in added:
        if is_turn(occ):
            rejected = False
        elif isinstance(occ, Rejected):
            rejected = True
        else:
            continue
        if meta is None:
            meta = _meta(annotations_yaml)
        out.append(AnswerFact(rejected, len(occ.says), *meta))
    return out


def encode_answers(facts: Iterable[AnswerFact]) -> str | None:
    """What a snapshot row keeps of its facts: each answer's length, in order, a minus
    sign before a rejected one ("24", "-31,18"); None when it appends no answer."""
    text = ",".join(f"-{f.chars}" if f.rejected else str(f.chars) for f in facts)
    return text or None


def fact_rows_from(moment_id: str, answers: str, annotations_yaml: str) -> list[FactRow]:
    """Back from ``encode_answers`` and the row's annotations, as the tuples an aggregate
    read yields (the same as ``fact_row`` of each of ``facts_of``'s facts); the
    annotations are read once per row and no record is made (an Insights render reads
    200,000 of these)."""
    meta = _meta(annotations_yaml)
    return [(moment_id, part[0] == "-", abs(int(part)), *meta) for part in answers.split(",")]


def fact_row(moment_id: str, fact: AnswerFact) -> FactRow:
    return (moment_id, fact.rejected, fact.chars, fact.provider, fact.model,
            fact.latency_ms, fact.tokens)
