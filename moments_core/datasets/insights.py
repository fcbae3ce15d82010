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
from itertools import islice, repeat
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
# What opens a block that may span several lines (triple quotes or backticks).
_BLOCK_MARKERS = ("'''", '"""', "```")
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


def _parse_joined(texts: list[str]) -> list[list[Occurrence]] | None:
    """The texts joined, parsed in one call and cut back by their line counts; None when
    that cannot be done exactly (a block may span lines, a text lacks its newline, or
    the counts do not add up)."""
    joined = "".join(texts)
    if not joined:
        return [[] for _ in texts]
    # map() over str methods: these run once per row of the store, in C.
    if any(marker in joined for marker in _BLOCK_MARKERS) or not all(
            map(str.endswith, filter(None, texts), repeat("\n"))):
        return None
    try:
        parsed = parse_occurrences(joined)
    except MDLSyntaxError:
        return None  # parsed row by row by the caller, so the error names the row's text
    counts = list(map(str.count, texts, repeat("\n")))
    if len(parsed) != sum(counts):
        return None
    out: list[list[Occurrence]] = []
    pos = 0
    for n in counts:
        out.append(parsed[pos:pos + n])
        pos += n
    return out


def parse_rows(rows: Sequence[Row]) -> list[list[Occurrence]]:
    """Each row's appended MDL parsed. Canonical MDL has one occurrence per line except
    for blocks, and every stored text ends with a newline, so rows without a block are
    joined and parsed in one call (per-call overhead is most of a one-line parse); the
    others (a root holding the init's Instructions, a Context) are parsed one by one."""
    texts = [row[3] or "" for row in rows]
    whole = _parse_joined(texts)
    if whole is not None:
        return whole
    plain = [i for i, t in enumerate(texts)
             if not any(marker in t for marker in _BLOCK_MARKERS)]
    out: list[list[Occurrence]] = [[] for _ in texts]
    joined = _parse_joined([texts[i] for i in plain]) if plain else []
    if joined is None:
        return [parse_occurrences(t) if t else [] for t in texts]
    for i, occurrences in zip(plain, joined, strict=True):
        out[i] = occurrences
    taken = set(plain)
    for i, t in enumerate(texts):
        if i not in taken and t:
            out[i] = parse_occurrences(t)
    return out


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
    a_latency: list[str | None] = []  # as written; made numbers at once at the end
    a_tokens: list[str | None] = []
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
                    a_latency.append(notes.get("latency_ms"))
                    a_tokens.append(notes.get("tokens"))
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
            "latency_ms": _numbers(a_latency),
            "tokens": _numbers(a_tokens),
        }),
        feedback=_feedback(store, infos),
        votes=_votes(store, infos),
        corpus=pd.DataFrame(corpus, columns=["subreddit", "thread_length"]),
        scores=pd.DataFrame({"score": scores}),
        meta={"conversations": len(infos)},
    )


def _numbers(values: list[str | None]) -> Any:
    """Annotation values as nullable floats (missing or unreadable: <NA>), in one go."""
    floats = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
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
