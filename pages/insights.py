"""Insights: charts over the store — conversations, branching, answers, feedback, votes."""

from __future__ import annotations

from datetime import date, datetime, time

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from moments_core.datasets.insights import InsightFilters, Insights, collect
from dashboard.common import name_of, store, variant_keys

ALL = "all"

st.title("Insights")
keys = variant_keys()
c1, c2, c3, c4 = st.columns(4)
variant = c1.selectbox("Variant", [ALL, *keys], key="ins_variant",
                       format_func=lambda k: k if k == ALL else name_of(k))
source = c2.selectbox("Source", [ALL, "chat", "compare", "corpus", "import", "api"],
                      key="ins_source")
since_day = c3.date_input("From", value=None, key="ins_since")
until_day = c4.date_input("Until", value=None, key="ins_until")


def _day(d: object, end: bool = False) -> datetime | None:
    if not isinstance(d, date):
        return None
    return datetime.combine(d, time.max if end else time.min).astimezone()


kind, agent_id, agent_variant = variant if variant != ALL else (None, None, None)
filters = InsightFilters(kind, agent_id, agent_variant, _day(since_day), _day(until_day, True),
                         None if source == ALL else source)


@st.cache_data(ttl=30, show_spinner="Reading the store…")
def _collect(key: str, _filters: InsightFilters) -> Insights:
    return collect(store(), _filters)


data = _collect(repr(filters), filters)
m = data.moments
if m.empty:
    st.info("Nothing logged yet for these filters.")
    st.stop()

k1, k2, k3, k4 = st.columns(4)
k1.metric("Conversations", len(m))
k2.metric("Agent turns", int(m["turns"].sum()))
k3.metric("Regenerations", int(m["regenerations"].sum()))
k4.metric("Edits", int(m["edits"].sum()))

left, right = st.columns(2)
with left:
    per_day = m.groupby("day").agg(conversations=("moment_id", "count"),
                                   turns=("turns", "sum")).reset_index()
    st.plotly_chart(px.line(per_day, x="day", y=["conversations", "turns"], markers=True,
                            title="Conversations and turns per day"), key="c_day")
    st.caption("How much the agents are used, day by day.")
with right:
    st.plotly_chart(px.histogram(m, x="turns", nbins=30, title="Turns per conversation"),
                    key="c_turns")
    st.caption("How long conversations get (agent turns along all branches).")

left, right = st.columns(2)
with left:
    branching = m.groupby("variant")[["regenerations", "edits"]].mean().reset_index()
    st.plotly_chart(px.bar(branching, x="variant", y=["regenerations", "edits"],
                           barmode="group", title="Branching per conversation"),
                    key="c_branch")
    st.caption("Mean regenerated answers and edited messages per conversation: "
               "a high rate means people often disliked the first answer.")
with right:
    a = data.answers
    if not a.empty:
        # Quartiles computed here: a box of every answer would ship them all to the browser.
        q = a.groupby("variant")["chars"].quantile([0.0, 0.25, 0.5, 0.75, 1.0]).unstack()
        box = go.Figure(go.Box(x=list(q.index), q1=q[0.25], median=q[0.5], q3=q[0.75],
                               lowerfence=q[0.0], upperfence=q[1.0], name="characters"))
        box.update_layout(title="Answer length by variant")
        st.plotly_chart(box, key="c_len")
        st.caption("Characters per agent answer; spot variants that ramble or clam up.")

left, right = st.columns(2)
with left:
    fb = data.feedback
    if not fb.empty:
        ratings = fb[fb["kind"] == "rating"].groupby("variant")["value"].mean().reset_index()
        thumbs = fb[fb["kind"] == "thumbs"].assign(
            up=lambda d: (d["value"] > 0).astype(int), down=lambda d: (d["value"] < 0)
            .astype(int)).groupby("variant")[["up", "down"]].sum().reset_index()
        if not ratings.empty:
            st.plotly_chart(px.bar(ratings, x="variant", y="value", range_y=[0, 5],
                                   title="Mean rating by variant"), key="c_rating")
            st.caption("Mean of the 1-5 ratings given in the Conversations page.")
        if not thumbs.empty:
            st.plotly_chart(px.bar(thumbs, x="variant", y=["up", "down"], barmode="group",
                                   title="Thumbs by variant"), key="c_thumbs")
            st.caption("Thumbs up and down given to answers in the chat page.")
    else:
        st.caption("No ratings or thumbs yet.")
with right:
    v = data.votes
    if not v.empty:
        v = v.assign(label=v["variant"] + " (" + v["votes"].astype(str) + " votes)")
        st.plotly_chart(px.bar(v, x="label", y="win_rate", range_y=[0, 1],
                               title="Compare-page win rate"), key="c_votes")
        st.caption("Share of the compare votes each variant took part in that it won.")
    else:
        st.caption("No compare-page votes yet.")

a = data.answers.dropna(subset=["latency_ms"])
if not a.empty:
    lat = a.groupby("provider")["latency_ms"].agg(
        median="median", p90=lambda s: s.quantile(0.9)).reset_index()
    tok = data.answers.dropna(subset=["tokens"]).groupby("provider")["tokens"].mean() \
        .reset_index()
    left, right = st.columns(2)
    left.plotly_chart(px.bar(lat, x="provider", y=["median", "p90"], barmode="group",
                             title="Model latency per answer (ms)"), key="c_latency")
    left.caption("Median and 90th percentile time from the prompt to the full answer.")
    if not tok.empty:
        right.plotly_chart(px.bar(tok, x="provider", y="tokens",
                                  title="Tokens per answer"), key="c_tokens")
        right.caption("Mean tokens the model wrote per answer, where the provider reports it.")

if not data.corpus.empty:
    st.subheader("Corpora in the store")
    left, mid, right = st.columns(3)
    by_sub = data.corpus.groupby("subreddit")["thread_length"].sum().reset_index() \
        .sort_values("thread_length", ascending=False).head(20)
    left.plotly_chart(px.bar(by_sub, x="subreddit", y="thread_length",
                             title="Utterances by subreddit"), key="c_sub")
    left.caption("Utterances in the loaded threads, per subreddit (top 20).")
    mid.plotly_chart(px.histogram(data.scores, x="score", nbins=40, title="Score distribution"),
                     key="c_scores")
    mid.caption("Reddit scores of the loaded utterances.")
    right.plotly_chart(px.histogram(data.corpus, x="thread_length", nbins=30,
                                    title="Thread length"), key="c_threads")
    right.caption("Utterances per thread (one thread = one moment).")
