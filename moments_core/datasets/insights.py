"""Numbers about the store, for the Insights page: tables, not charts (the page draws;
``insight_figures`` shapes one table per figure).

Everything is computed in one pass over snapshot rows: the SQL store streams them
straight from its table (``LogStore.iter_snapshot_texts``), other stores go through
their trees. A row carries the MDL its snapshot appends and its annotations. The MDL is
read through the parser, a batch of rows at a time (``parse_rows``), and a turn is what
``moments_core.datasets.turns`` says it is: an Example's ``Self:`` lines never count.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import pandas as pd

from moments_core.mdl import MDLSyntaxError, Occurrence, Rejected, parse_occurrences
from moments_core.store.base import LogStore, MomentFilter, MomentInfo

from .turns import is_turn

# Annotations are YAML written by the runtime and the corpus import; the few keys the
# charts need are picked with a pattern (a YAML load per answer would dominate the pass).
_ANNOTATION = re.compile(r"^(provider|model|latency_ms|tokens|subreddit): *(.+)$", re.M)
_SCORE = re.compile(r'"score": *(-?\d+)')
_UTTERANCE = re.compile(r"^- ", re.M)
# A line that can open a block spanning several lines (triple quotes or backticks).
_BLOCK = re.compile(r"'''|\"\"\"|```")
_BATCH_ROWS = 5_000


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


# (moment id, node, parent node, appended MDL, annotations YAML) as the store streams it
Row = tuple[str, object, object | None, str, str]


def parse_rows(rows: Sequence[Row]) -> list[list[Occurrence]]:
    """Each row's appended MDL parsed. Canonical MDL has one occurrence per line except
    for blocks, and every stored text ends with a newline: when no row of the batch holds
    a block marker, the texts are joined, parsed in one call (per-call overhead is most
    of a one-line parse) and cut back by their line counts. Otherwise, or when the
    counts do not add up, each row is parsed on its own."""
    texts = [row[3] or "" for row in rows]
    joined = "".join(texts)
    if not joined:
        return [[] for _ in rows]
    if _BLOCK.search(joined) is None and all(t.endswith("\n") for t in texts if t):
        try:
            parsed: list[Occurrence] | None = parse_occurrences(joined)
        except MDLSyntaxError:
            parsed = None  # parsed row by row below, so the error names the row's text
        counts = [t.count("\n") for t in texts]
        if parsed is not None and len(parsed) == sum(counts):
            out: list[list[Occurrence]] = []
            pos = 0
            for n in counts:
                out.append(parsed[pos:pos + n])
                pos += n
            return out
    if len(rows) > 64:  # split, so only the part with a block is parsed line by line
        half = len(rows) // 2
        return parse_rows(rows[:half]) + parse_rows(rows[half:])
    return [parse_occurrences(t) if t else [] for t in texts]


def _batches(store: LogStore, filters: InsightFilters, fast: bool
             ) -> Iterator[tuple[list[Row], list[list[Occurrence]]]]:
    """Snapshot rows (moment, node, parent, appended MDL, annotations) with their
    appended occurrences, a batch at a time. The SQL store streams raw rows, parsed
    here; other stores (or ``fast=False``) walk the trees, whose nodes come parsed."""
    if not fast:
        for info, nodes, _ in store.iter_trees(filters):
            yield ([(info.moment_id, n.snapshot_id, n.parent_id, "", n.annotations_yaml)
                    for n in nodes], [list(n.added) for n in nodes])
        return
    rows = iter(store.iter_snapshot_texts(filters, containing=("Self: ", "Rejected: ")))
    while batch := list(islice(rows, _BATCH_ROWS)):
        yield batch, parse_rows(batch)


def variant_of(info: MomentInfo) -> str:
    return f"{info.agent_kind}-{info.agent_id}-{info.agent_variant}"


def collect(store: LogStore, filters: InsightFilters, fast: bool = True) -> Insights:
    if fast:
        infos = {i.moment_id: i for i in store.moment_infos(filters)}
    else:
        infos = {s.info.moment_id: s.info for s in store.list_moments(filters)}
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
    # Branch points: the fast path lets the store count them (its rows then hold only
    # answers and roots); the tree walk counts them from every row's parent.
    count_children = not fast
    no_notes: dict[str, str] = {}
    for batch, parsed in _batches(store, filters, fast):
        for (mid, _node, parent, _text, notes_yaml), added in zip(batch, parsed, strict=True):
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
            notes: dict[str, str] | None = None
            for occ in added:
                if is_turn(occ):
                    if notes is None:
                        notes = dict(_ANNOTATION.findall(notes_yaml)) if notes_yaml \
                            else no_notes
                    turns[mid] += 1
                    a_variant.append(variant)
                    a_chars.append(len(occ.says))
                    a_provider.append(notes.get("provider", "?"))
                    a_model.append(notes.get("model", "?"))
                    a_latency.append(_float(notes.get("latency_ms")))
                    a_tokens.append(_float(notes.get("tokens")))
                elif isinstance(occ, Rejected):
                    regenerations[mid] += 1
    forks: Counter[str] = Counter()
    if fast:
        forks.update(store.fork_counts(filters))
    for (moment_id, _), n in children.items():
        if n > 1:
            forks[moment_id] += n - 1
    ids = list(infos)
    moments = pd.DataFrame({
        "moment_id": ids,
        "variant": [variants[mid] for mid in ids],
        "source": [infos[mid].source for mid in ids],
        "day": [infos[mid].created_at.date() for mid in ids],
        "turns": [turns[mid] for mid in ids],
        "regenerations": [regenerations[mid] for mid in ids],
        "edits": [max(0, forks[mid] - regenerations[mid]) for mid in ids],
    }, columns=["moment_id", "variant", "source", "day", "turns", "regenerations", "edits"])
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
