"""Numbers about the store, for the Insights page: tables, not charts (the page draws).

Everything is computed in one pass over snapshot rows (``StatRow``): the SQL store
streams them straight from its table (``LogStore.iter_stat_rows``), other stores go
through their trees. A row carries the MDL its snapshot appends and its annotations,
which is all the page needs: who spoke, how long, regenerations, latency, tokens.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from moments_core.mdl import write_occurrences
from moments_core.store.base import LogStore, MomentInfo

_ANNOTATION = re.compile(r"^(provider|model|latency_ms|tokens|subreddit): *(.+)$", re.M)
_SCORE = re.compile(r'"score": *(-?\d+)')
_UTTERANCE = re.compile(r"^- ", re.M)


@dataclass(slots=True)
class StatRow:
    """One snapshot as the insights need it."""

    moment_id: str
    node: str  # any key unique within the moment
    parent: str | None
    added: str  # the MDL the snapshot appends
    annotations_yaml: str


@dataclass(slots=True)
class InsightFilters:
    agent_kind: str | None = None
    agent_id: str | None = None
    agent_variant: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None


@dataclass(slots=True)
class Insights:
    """Tables for each chart; empty frames when there is nothing to show."""

    moments: pd.DataFrame  # moment_id, variant, source, day, turns, regenerations, edits
    answers: pd.DataFrame  # variant, provider, model, chars, latency_ms, tokens
    feedback: pd.DataFrame  # variant, kind, value
    votes: pd.DataFrame  # variant, wins, votes, win_rate
    corpus: pd.DataFrame  # subreddit, utterances, thread_length
    scores: pd.DataFrame  # score
    meta: dict[str, Any] = field(default_factory=dict)


def _store_filters(filters: InsightFilters) -> dict[str, Any]:
    return {"agent_kind": filters.agent_kind, "agent_id": filters.agent_id,
            "agent_variant": filters.agent_variant, "since": filters.since,
            "until": filters.until, "source": filters.source}


def _rows_from_trees(store: LogStore, filters: InsightFilters) -> Iterator[StatRow]:
    for info, nodes, _ in store.iter_trees(
        agent_kind=filters.agent_kind, agent_id=filters.agent_id,
        agent_variant=filters.agent_variant, since=filters.since, until=filters.until,
        source=filters.source,
    ):
        for n in nodes:
            yield StatRow(info.moment_id, n.snapshot_id, n.parent_id,
                          write_occurrences(list(n.added)), n.annotations_yaml)


def stat_rows(store: LogStore, filters: InsightFilters, fast: bool = True
              ) -> Iterator[tuple[str, object, object | None, str, str]]:
    """(moment, node, parent, appended MDL, annotations) per snapshot. The SQL store
    streams them raw (no MDL parsing); other stores (or ``fast=False``) walk the trees."""
    raw = getattr(store, "iter_snapshot_texts", None) if fast else None
    if callable(raw):
        for mid, seq, parent, added, notes in raw(
            **_store_filters(filters), containing=("Self: ", "Rejected: "),
        ):
            yield mid, seq, parent, added or "", notes or ""
        return
    for r in _rows_from_trees(store, filters):
        yield r.moment_id, r.node, r.parent, r.added, r.annotations_yaml


def variant_of(info: MomentInfo) -> str:
    return f"{info.agent_kind}-{info.agent_id}-{info.agent_variant}"


def _says_length(line: str, head: str) -> int:
    """Characters of a says-line's text, without the head and the quotes."""
    body = line[len(head):]
    if body.startswith("("):  # an emotion
        body = body.split(") ", 1)[-1]
    return max(0, len(body) - 2)


def collect(store: LogStore, filters: InsightFilters, fast: bool = True) -> Insights:
    infos_fast = getattr(store, "moment_infos", None) if fast else None
    if callable(infos_fast):
        infos = {i.moment_id: i for i in infos_fast(**_store_filters(filters))}
    else:
        infos = {s.info.moment_id: s.info for s in store.list_moments(**_store_filters(filters))}
    turns: Counter[str] = Counter()
    regenerations: Counter[str] = Counter()
    children: Counter[tuple[str, object]] = Counter()
    # Answers, column by column (a frame from columns is much cheaper than from rows).
    a_variant: list[str] = []
    a_provider: list[str] = []
    a_model: list[str] = []
    a_chars: list[int] = []
    a_latency: list[float | None] = []
    a_tokens: list[float | None] = []
    corpus: list[tuple[str, int]] = []
    scores: list[int] = []
    variants = {mid: variant_of(info) for mid, info in infos.items()}
    corpus_moments = {mid for mid, info in infos.items() if info.source == "corpus"}
    # Branch points: the SQL store counts them itself (the rows below then hold only
    # answers and roots); otherwise they are counted from every row's parent.
    fork_counts = getattr(store, "fork_counts", None) if fast else None
    count_children = not callable(fork_counts)
    no_notes: dict[str, str] = {}
    # The hot loop (one pass over every answer of every conversation): plain tuples and
    # locals only.
    for mid, _node, parent, added, notes_yaml in stat_rows(store, filters, fast):
        variant = variants.get(mid)
        if variant is None:
            continue
        if parent is not None:
            if count_children:
                children[(mid, parent)] += 1
        elif mid in corpus_moments and notes_yaml:
            sub = dict(_ANNOTATION.findall(notes_yaml)).get("subreddit", "(none)")
            corpus.append((sub.strip("'\""), len(_UTTERANCE.findall(notes_yaml))))
            scores.extend(int(x) for x in _SCORE.findall(notes_yaml))
        if "Self: " not in added and "Rejected: " not in added:
            continue
        notes = dict(_ANNOTATION.findall(notes_yaml)) if notes_yaml else no_notes
        for line in added.split("\n") if "\n" in added[:-1] else (added.rstrip("\n"),):
            if line.startswith("Self: "):
                turns[mid] += 1
                a_variant.append(variant)
                a_chars.append(len(line) - 8 if line[6] != "(" else _says_length(line, "Self: "))
                if notes:
                    a_provider.append(notes.get("provider", "?"))
                    a_model.append(notes.get("model", "?"))
                    a_latency.append(_float(notes.get("latency_ms")))
                    a_tokens.append(_float(notes.get("tokens")))
                else:
                    a_provider.append("?")
                    a_model.append("?")
                    a_latency.append(None)
                    a_tokens.append(None)
            elif line.startswith("Rejected: "):
                regenerations[mid] += 1
    forks: Counter[str] = Counter()
    if callable(fork_counts):
        forks.update(fork_counts(**_store_filters(filters)))
    for (moment_id, _), n in children.items():
        if n > 1:
            forks[moment_id] += n - 1
    moments = pd.DataFrame([
        {
            "moment_id": mid, "variant": variant_of(info), "source": info.source,
            "day": info.created_at.date(), "turns": turns[mid],
            "regenerations": regenerations[mid],
            "edits": max(0, forks[mid] - regenerations[mid]),
        }
        for mid, info in infos.items()
    ], columns=["moment_id", "variant", "source", "day", "turns", "regenerations", "edits"])
    return Insights(
        moments=moments,
        answers=pd.DataFrame({
            "variant": a_variant, "provider": a_provider, "model": a_model, "chars": a_chars,
            "latency_ms": pd.array(a_latency, dtype="Float64"),
            "tokens": pd.array(a_tokens, dtype="Float64"),
        }),
        feedback=_feedback(store, infos),
        votes=_votes(store, infos),
        corpus=pd.DataFrame(corpus, columns=["subreddit", "thread_length"]),
        scores=pd.DataFrame({"score": scores}),
        meta={"conversations": len(infos)},
    )


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _feedback(store: LogStore, infos: dict[str, MomentInfo]) -> pd.DataFrame:
    rows = []
    for fb in _all_feedback(store, infos):
        if fb.kind in ("rating", "thumbs"):
            rows.append({"variant": variant_of(infos[fb.moment_id]), "kind": fb.kind,
                         "value": _float(str(fb.value))})
    return pd.DataFrame(rows, columns=["variant", "kind", "value"])


def _all_feedback(store: LogStore, infos: dict[str, MomentInfo]) -> Iterator[Any]:
    bulk = getattr(store, "all_feedback", None)
    if callable(bulk):
        for fb in bulk():
            if fb.moment_id in infos:
                yield fb
        return
    for mid in infos:
        yield from store.list_feedback(moment_id=mid)


def _votes(store: LogStore, infos: dict[str, MomentInfo]) -> pd.DataFrame:
    """Compare-page win rates: every answer in a vote counts once, the winner wins."""
    wins: Counter[str] = Counter()
    votes: Counter[str] = Counter()
    moment_of: dict[str, str] = {}

    def variant(snapshot_id: str) -> str | None:
        mid = moment_of.get(snapshot_id)
        if mid is None:
            try:
                mid = store.get_snapshot(snapshot_id).moment_id
            except Exception:  # noqa: BLE001 - a vote on a vanished snapshot is skipped
                return None
            moment_of[snapshot_id] = mid
        info = infos.get(mid)
        return variant_of(info) if info is not None else None

    for fb in _all_feedback(store, infos):
        if fb.kind != "preference" or not fb.other_snapshot_id:
            continue
        a, b = variant(fb.snapshot_id), variant(fb.other_snapshot_id)
        for v in (a, b):
            if v is not None:
                votes[v] += 1
        winner = fb.value if fb.value in (fb.snapshot_id, fb.other_snapshot_id) else None
        if winner is not None and (w := variant(str(winner))) is not None:
            wins[w] += 1
    return pd.DataFrame(
        [{"variant": v, "wins": wins[v], "votes": n, "win_rate": wins[v] / n}
         for v, n in sorted(votes.items())],
        columns=["variant", "wins", "votes", "win_rate"],
    )
