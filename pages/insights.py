"""Insights: charts over the store — conversations, branching, answers, feedback, votes.

UI only: the numbers are moments_core.datasets.insights, one table per figure in
moments_core.datasets.insight_figures.
"""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboard.common import name_of, store, variant_keys
from moments_core.datasets import insight_figures as fig
from moments_core.datasets.conversations import SOURCES
from moments_core.datasets.days import day_after, day_start
from moments_core.datasets.insights import Insights, collect
from moments_core.store import MomentFilter

ALL = "all"
DAY_MS = 86_400_000

st.title("Insights")
keys = variant_keys()
c1, c2, c3, c4 = st.columns(4)
variant = c1.selectbox("Variant", [ALL, *keys], key="ins_variant",
                       format_func=lambda k: k if k == ALL else name_of(k))
source = c2.selectbox("Source", [ALL, *SOURCES], key="ins_source")
since_day = c3.date_input("From", value=None, key="ins_since")
until_day = c4.date_input("Until", value=None, key="ins_until")

kind, agent_id, agent_variant = variant if variant != ALL else (None, None, None)
filters = MomentFilter(agent_kind=kind, agent_id=agent_id, agent_variant=agent_variant,
                       since=day_start(since_day), until=day_after(until_day),
                       source=None if source == ALL else source)


@st.cache_data(ttl=30, show_spinner="Reading the store…")
def _collect(key: str, _filters: MomentFilter) -> Insights:
    return collect(store(), _filters)


data = _collect(repr(filters), filters)
if data.moments.empty:
    st.info("Nothing logged yet for these filters.")
    st.stop()

for col, (label, value) in zip(st.columns(4), fig.headline(data).items(), strict=True):
    col.metric(label, value)

left, right = st.columns(2)
with left:
    per_day = fig.per_day(data)
    chart = px.bar(per_day, x="day", y=["conversations", "turns"], barmode="group",
                   title="Conversations and turns per day")
    # Day buckets on a date axis: one tick per whole day, never hours or milliseconds.
    chart.update_xaxes(type="date", dtick=DAY_MS, tickformat="%b %d",
                       title_text="day")
    st.plotly_chart(chart, key="c_day")
    st.caption("How much the agents are used, day by day.")
with right:
    st.plotly_chart(px.histogram(fig.turns_per_conversation(data), x="turns", nbins=30,
                                 title="Turns per conversation"), key="c_turns")
    st.caption("How long conversations get: agent answers, each counted once across "
               "branches (the init's examples never count).")

left, right = st.columns(2)
with left:
    st.plotly_chart(px.bar(fig.branching_by_variant(data), x="variant",
                           y=["regenerations", "edits"], barmode="group",
                           title="Branching per conversation"), key="c_branch")
    st.caption("Mean regenerated answers and edited messages per conversation: "
               "a high rate means people often disliked the first answer.")
with right:
    q = fig.answer_length_quartiles(data)
    if not q.empty:
        box = go.Figure(go.Box(x=list(q["variant"]), q1=q["q1"], median=q["median"],
                               q3=q["q3"], lowerfence=q["min"], upperfence=q["max"],
                               name="characters"))
        box.update_layout(title="Answer length by variant")
        st.plotly_chart(box, key="c_len")
        st.caption("Characters per agent answer; spot variants that ramble or clam up.")

left, right = st.columns(2)
with left:
    ratings, thumbs = fig.mean_rating_by_variant(data), fig.thumbs_by_variant(data)
    if not ratings.empty:
        st.plotly_chart(px.bar(ratings, x="variant", y="value", range_y=[0, 5],
                               title="Mean rating by variant"), key="c_rating")
        st.caption("Mean of the 1-5 ratings given in the Conversations page.")
    if not thumbs.empty:
        st.plotly_chart(px.bar(thumbs, x="variant", y=["up", "down"], barmode="group",
                               title="Thumbs by variant"), key="c_thumbs")
        st.caption("Thumbs up and down given to answers in the chat page.")
    if ratings.empty and thumbs.empty:
        st.caption("No ratings or thumbs yet.")
with right:
    votes = fig.vote_win_rates(data)
    if not votes.empty:
        st.plotly_chart(px.bar(votes, x="label", y="win_rate", range_y=[0, 1],
                               title="Compare-page win rate"), key="c_votes")
        st.caption("Share of the compare votes each variant took part in that it won.")
    else:
        st.caption("No compare-page votes yet.")

latency = fig.latency_by_provider(data)
if not latency.empty:
    tokens = fig.tokens_by_provider(data)
    left, right = st.columns(2)
    left.plotly_chart(px.bar(latency, x="provider", y=["median", "p90"], barmode="group",
                             title="Model latency per answer (ms)"), key="c_latency")
    left.caption("Median and 90th percentile time from the prompt to the full answer.")
    if not tokens.empty:
        right.plotly_chart(px.bar(tokens, x="provider", y="tokens",
                                  title="Tokens per answer"), key="c_tokens")
        right.caption("Mean tokens the model wrote per answer, where the provider reports it.")

if not data.corpus.empty:
    st.subheader("Corpora in the store")
    left, mid, right = st.columns(3)
    left.plotly_chart(px.bar(fig.utterances_by_subreddit(data), x="subreddit",
                             y="thread_length", title="Utterances by subreddit"), key="c_sub")
    left.caption("Utterances in the loaded threads, per subreddit (top 20).")
    mid.plotly_chart(px.histogram(data.scores, x="score", nbins=40, title="Score distribution"),
                     key="c_scores")
    mid.caption("Reddit scores of the loaded utterances.")
    right.plotly_chart(px.histogram(data.corpus, x="thread_length", nbins=30,
                                    title="Thread length"), key="c_threads")
    right.caption("Utterances per thread (one thread = one moment).")
