"""Numbers about the store, for the Insights page: tables, not charts (the page draws;
``insight_figures`` shapes one table per figure).

Answers are counted from the store's answer facts (``LogStore.answer_facts``): the SQL
store writes them with each snapshot, so a render over 10,000 conversations reads a few
numbers per answer and parses no MDL; other stores derive them from their trees. A turn
is what ``moments_core.store.answer_facts.is_turn`` says it is: an Example's ``Self:``
lines never count.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from moments_core.store.answer_facts import FACT_COLUMNS
from moments_core.store.base import LogStore, MomentFilter, MomentInfo

# A corpus thread's root annotations (YAML written by the import): the few keys the
# charts need are picked with a pattern (a YAML load per thread would dominate).
_SUBREDDIT = re.compile(r"^subreddit: *(.+)$", re.M)
_SCORE = re.compile(r'"score": *(-?\d+)')
_UTTERANCE = re.compile(r"^- ", re.M)


# Which moments the page covers: the store's own filter (``until`` is exclusive).
InsightFilters = MomentFilter


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


def variant_of(info: MomentInfo) -> str:
    return f"{info.agent_kind}-{info.agent_id}-{info.agent_variant}"


def collect(store: LogStore, filters: InsightFilters, fast: bool = True) -> Insights:
    """Every table of the page. ``fast=False`` takes the generic paths (derived from the
    trees) whatever the store: the same numbers, for tests that compare the two."""
    if fast:
        infos = {i.moment_id: i for i in store.moment_infos(filters)}
        rows = store.answer_facts(filters)
        forks = store.fork_counts(filters)
    else:
        infos = {s.info.moment_id: s.info for s in store.list_moments(filters)}
        rows = LogStore.answer_facts(store, filters)
        forks = LogStore.fork_counts(store, filters)
    variants = {mid: variant_of(info) for mid, info in infos.items()}
    facts = pd.DataFrame.from_records(list(rows), columns=list(FACT_COLUMNS))
    facts = facts[facts["moment_id"].isin(variants.keys())]
    rejected = facts["rejected"].astype(bool)
    answered = facts[~rejected]
    turns = answered["moment_id"].value_counts()
    regenerations = facts.loc[rejected, "moment_id"].value_counts()
    ids = list(infos)
    moments = pd.DataFrame({
        "moment_id": ids,
        "variant": [variants[mid] for mid in ids],
        "source": [infos[mid].source for mid in ids],
        "day": [infos[mid].created_at.date() for mid in ids],
        "turns": turns.reindex(ids, fill_value=0).to_numpy(dtype=int),
        "regenerations": regenerations.reindex(ids, fill_value=0).to_numpy(dtype=int),
    }, columns=["moment_id", "variant", "source", "day", "turns", "regenerations"])
    moments["edits"] = (pd.Series([forks.get(mid, 0) for mid in ids], dtype=int)
                        - moments["regenerations"]).clip(lower=0)
    corpus_ids = [mid for mid, info in infos.items() if info.source == "corpus"]
    corpus, scores = _corpus(store, filters, corpus_ids, fast)
    return Insights(
        moments=moments,
        answers=pd.DataFrame({
            "variant": answered["moment_id"].map(variants).to_numpy(dtype=object),
            "provider": answered["provider"].to_numpy(dtype=object),
            "model": answered["model"].to_numpy(dtype=object),
            "chars": answered["chars"].to_numpy(dtype=int),
            "latency_ms": _numbers(answered["latency_ms"]),
            "tokens": _numbers(answered["tokens"]),
        }),
        feedback=_feedback(store, infos),
        votes=_votes(store, infos),
        corpus=pd.DataFrame(corpus, columns=["subreddit", "thread_length"]),
        scores=pd.DataFrame({"score": scores}),
        meta={"conversations": len(infos)},
    )


def _corpus(store: LogStore, filters: InsightFilters, corpus_ids: list[str], fast: bool
            ) -> tuple[list[tuple[str, int]], list[int]]:
    """(subreddit, utterances) per imported thread and every utterance's score, from the
    roots' annotations (the import writes them there)."""
    if not corpus_ids:
        return [], []
    wanted = set(corpus_ids)
    where = MomentFilter.of(filters.moments_only(), {"source": "corpus"})
    roots = (store.iter_snapshot_texts(where, roots_only=True) if fast
             else LogStore.iter_snapshot_texts(store, where, roots_only=True))
    corpus: list[tuple[str, int]] = []
    scores: list[int] = []
    for mid, _node, _parent, _text, notes_yaml in roots:
        if mid not in wanted or not notes_yaml:
            continue
        found = _SUBREDDIT.search(notes_yaml)
        sub = found.group(1).strip().strip("'\"") if found else "(none)"
        corpus.append((sub, len(_UTTERANCE.findall(notes_yaml))))
        scores.extend(int(x) for x in _SCORE.findall(notes_yaml))
    return corpus, scores


def _numbers(values: pd.Series) -> Any:
    """Numbers or None as nullable floats (missing: <NA>), in one go."""
    floats = pd.to_numeric(values, errors="coerce")
    return pd.array(floats.to_numpy(dtype=float), dtype="Float64")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _feedback(store: LogStore, infos: dict[str, MomentInfo]) -> pd.DataFrame:
    rows = []
    for fb in _all_feedback(store, infos):
        if fb.kind in ("rating", "thumbs"):
            value = _float(str(fb.value))
            if not value:  # a rating or thumbs taken back is stored as empty
                continue
            rows.append({"variant": variant_of(infos[fb.moment_id]), "kind": fb.kind,
                         "value": value})
    return pd.DataFrame(rows, columns=["variant", "kind", "value"])


def _all_feedback(store: LogStore, infos: dict[str, MomentInfo]) -> Iterator[Any]:
    for fb in store.all_feedback():
        if fb.moment_id in infos:
            yield fb


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
