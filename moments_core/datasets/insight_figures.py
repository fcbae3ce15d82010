"""One small table per Insights chart, shaped from ``Insights`` (no UI library needed:
the page only draws what these return)."""

from __future__ import annotations

import pandas as pd

from .insights import Insights

QUARTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


def headline(data: Insights) -> dict[str, int]:
    m = data.moments
    return {
        "Conversations": len(m),
        "Agent turns": int(m["turns"].sum()),
        "Regenerations": int(m["regenerations"].sum()),
        "Edits": int(m["edits"].sum()),
    }


def per_day(data: Insights) -> pd.DataFrame:
    """Conversations and turns per calendar day, every day from the first to the last
    (days without any at zero), ``day`` as a midnight timestamp for a date axis."""
    m = data.moments
    if m.empty:
        return pd.DataFrame(columns=["day", "conversations", "turns"])
    grouped = m.groupby("day").agg(conversations=("moment_id", "count"),
                                   turns=("turns", "sum"))
    grouped.index = pd.to_datetime(grouped.index)
    days = pd.date_range(grouped.index.min(), grouped.index.max(), freq="D")
    out = grouped.reindex(days, fill_value=0).rename_axis("day").reset_index()
    return out.astype({"conversations": int, "turns": int})


def turns_per_conversation(data: Insights) -> pd.DataFrame:
    return data.moments[["moment_id", "variant", "turns"]]


def branching_by_variant(data: Insights) -> pd.DataFrame:
    """Mean regenerations and edits per conversation, by variant."""
    return data.moments.groupby("variant")[["regenerations", "edits"]].mean().reset_index()


def answer_length_quartiles(data: Insights) -> pd.DataFrame:
    """Characters per answer by variant: min, quartiles, max (a box without shipping
    every answer to the browser)."""
    a = data.answers
    if a.empty:
        return pd.DataFrame(columns=["variant", "min", "q1", "median", "q3", "max"])
    q = a.groupby("variant")["chars"].quantile(list(QUARTILES)).unstack()
    q.columns = ["min", "q1", "median", "q3", "max"]
    return q.reset_index()


def mean_rating_by_variant(data: Insights) -> pd.DataFrame:
    fb = data.feedback
    return fb[fb["kind"] == "rating"].groupby("variant")["value"].mean().reset_index()


def thumbs_by_variant(data: Insights) -> pd.DataFrame:
    fb = data.feedback
    thumbs = fb[fb["kind"] == "thumbs"]
    return thumbs.assign(up=(thumbs["value"] > 0).astype(int),
                         down=(thumbs["value"] < 0).astype(int)) \
        .groupby("variant")[["up", "down"]].sum().reset_index()


def vote_win_rates(data: Insights) -> pd.DataFrame:
    v = data.votes
    return v.assign(label=v["variant"] + " (" + v["votes"].astype(str) + " votes)")


def latency_by_provider(data: Insights) -> pd.DataFrame:
    """Median and 90th percentile milliseconds per answer, by provider."""
    a = data.answers.dropna(subset=["latency_ms"])
    if a.empty:
        return pd.DataFrame(columns=["provider", "median", "p90"])
    g = a.groupby("provider")["latency_ms"]
    return pd.DataFrame({"median": g.median(), "p90": g.quantile(0.9)}).reset_index()


def tokens_by_provider(data: Insights) -> pd.DataFrame:
    a = data.answers.dropna(subset=["tokens"])
    return a.groupby("provider")["tokens"].mean().reset_index()


def utterances_by_subreddit(data: Insights, top: int = 20) -> pd.DataFrame:
    c = data.corpus
    return c.groupby("subreddit")["thread_length"].sum().reset_index() \
        .sort_values("thread_length", ascending=False).head(top)
