"""Conversations and Datasets pages through AppTest, on a store filled by the runtime."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from moments_core.agents import Agent
from moments_core.store import Feedback, LogStore
from tests.fixtures_app import app, store_now


def _finish(events: Any) -> Any:
    out = None
    for item in events:
        if not isinstance(item, str):
            out = item
    return out


@pytest.fixture
def chats(env: Path) -> LogStore:
    """Two echo conversations, one with a regenerated answer (a branch)."""
    store = store_now()
    agent = Agent.from_name("Agent", "echo", "01", store=store)
    root = agent.start()
    first = _finish(agent.respond(root, "hello"))
    second = _finish(agent.respond(first.snapshot, "a latte"))
    _finish(agent.regenerate(second.snapshot))
    other = agent.start()
    _finish(agent.respond(other, "just browsing"))
    return store


def _button(at: Any, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def test_conversations_table_tree_path_feedback_and_delete(chats: LogStore) -> None:
    at = app("conversations")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert len(table) == 2 and set(table["variant"]) == {"Agent-echo-01"}
    assert sorted(table["branches"]) == [1, 2]
    assert sorted(table["turns"]) == [1, 3]  # answers on all branches, each once
    assert set(table["first line"]) == {"Guest: hello", "Guest: just browsing"}
    # newest first
    assert table["created"].iloc[0] >= table["created"].iloc[1]

    branched = table.loc[table["branches"] == 2, "moment"].iloc[0]
    at.query_params["moment"] = branched  # what a click on the row writes
    at.run()
    chart = at.get("graphviz_chart")[0]
    dot = chart.proto.spec
    assert dot.count("peripheries=2") == 2  # two leaves
    assert "penwidth=2" in dot  # the branch point
    assert "#fee2e2" in dot  # the regenerated answer, with its Rejected line
    bubbles = [m.children[0].value for m in at.chat_message]
    assert bubbles[0] == "Guest: hello"
    nodes = at.dataframe[1].value
    assert len(nodes) == len(chats.tree(branched)) and (nodes["leaf"] == "leaf").sum() == 2

    leaf = max(chats.leaves(branched), key=lambda s: (s.timestamp, s.id)).id
    at.select_slider[0].set_value(4)
    labels = next(t for t in at.text_input if t.label.startswith("Labels"))
    labels.input("polite, coffee")
    at.checkbox[0].check()
    _button(at, "Save feedback").click().run()
    assert not at.exception, at.exception
    kinds = sorted((f.kind, str(f.value)) for f in chats.list_feedback(snapshot_id=leaf))
    assert kinds == [("exclude", "True"), ("label", "coffee"), ("label", "polite"),
                     ("rating", "4")]
    assert any("Feedback saved" in s.value and "rating 4" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert table.loc[table["moment"] == branched, "rating"].iloc[0] == 4
    # The form shows what is stored; saving again changes nothing.
    assert at.select_slider[0].value == 4
    _button(at, "Save feedback").click().run()
    assert len(chats.list_feedback(snapshot_id=leaf)) == 4

    _button(at, "Delete this moment").click().run()
    assert not chats.get_moment(branched).deleted  # asks first
    assert any("Delete moment" in w.value for w in at.warning)
    _button(at, "Cancel").click().run()
    assert not chats.get_moment(branched).deleted
    _button(at, "Delete this moment").click().run()
    _button(at, "Yes, delete").click().run()
    assert chats.get_moment(branched).deleted
    assert any(s.value.startswith(f"Moment {branched[:8]}… deleted") for s in at.success)
    assert len(at.dataframe[0].value) == 1
    at.toggle(key="conv_deleted").set_value(True).run()
    assert len(at.dataframe[0].value) == 2

    at.text_input(key="conv_search").input("BROWSING").run()
    assert at.dataframe[0].value["first line"].tolist() == ["Guest: just browsing"]
    at.text_input(key="conv_search").input("").run()
    at.selectbox(key="conv_source").set_value("compare").run()
    assert at.dataframe[0].value.empty
    assert any("No conversations match" in i.value for i in at.info)


def test_datasets_preview_count_and_download(chats: LogStore) -> None:
    at = app("datasets")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "3" and metrics["Conversations"] == "3"
    assert len(at.dataframe[0].value) == 3
    next(b for b in at.button if b.label == "Prepare download").click().run()
    assert not at.exception, at.exception
    data, name, _ = at.session_state["ds_download"]
    assert name == "csv.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == 3 and all(r["agent_id"] == "echo" for r in rows)

    at.selectbox(key="ds_format").set_value("dpo").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "1" and metrics["Preference rows"] == "100%"
    # The csv file prepared before is stale now: not offered for the dpo rows.
    assert not at.get("download_button") and "ds_download" not in at.session_state
    assert any("prepare it again" in c.value for c in at.caption)
    # The pair reads as prompt / chosen / rejected columns.
    (pair,) = at.dataframe[0].value.to_dict("records")
    assert pair["prompt"] == "(+2 earlier) a latte"
    assert pair["rejected"] == "You said: a latte"
    assert pair["chosen"] == "You said: a latte"
    next(b for b in at.button if b.label == "Prepare download").click().run()
    data, name, _ = at.session_state["ds_download"]
    assert name == "dpo.jsonl"
    assert at.get("download_button")[0].proto.label == "Download dpo.jsonl"
    (row,) = [json.loads(line) for line in data.decode().splitlines()]
    assert row["rejected"][0]["content"] == "You said: a latte"
    # A filter change makes the dpo file stale too.
    at.radio(key="ds_branches").set_value("latest").run()
    assert not at.get("download_button")

    at.selectbox(key="ds_format").set_value("sft").run()
    lines = at.dataframe[0].value
    assert list(lines.columns) == ["row", "role", "content"]
    assert lines["role"].tolist()[:3] == ["system", "user", "assistant"]


def test_datasets_filters_follow_feedback(chats: LogStore) -> None:
    leaves = [s for m in chats.list_moments() for s in chats.leaves(m.info.moment_id)]
    chats.add_feedback(Feedback(leaves[0].id, "rating", 5))
    at = app("datasets")
    at.select_slider(key="ds_rating").set_value(4).run()
    assert {m.label: m.value for m in at.metric}["Rows"] == "1"


def test_insights_numbers_and_page(chats: LogStore) -> None:
    from moments_core.datasets.insights import InsightFilters, collect

    leaves = [s for m in chats.list_moments() for s in chats.leaves(m.info.moment_id)]
    chats.add_feedback(Feedback(leaves[0].id, "rating", 4))
    chats.add_feedback(Feedback(leaves[0].id, "thumbs", -1))
    data = collect(chats, InsightFilters())
    m = data.moments.set_index("moment_id")
    assert len(m) == 2
    assert sorted(m["turns"]) == [1, 3]  # two answers + one regenerated, and one answer
    assert sorted(m["regenerations"]) == [0, 1] and m["edits"].sum() == 0
    assert set(data.answers["provider"]) == {"instant"}
    assert data.answers["latency_ms"].notna().all()
    assert data.answers["chars"].min() > 0
    assert sorted(data.feedback["kind"]) == ["rating", "thumbs"]

    at = app("insights")
    assert not at.exception, at.exception
    metrics = {x.label: x.value for x in at.metric}
    assert metrics["Conversations"] == "2" and metrics["Regenerations"] == "1"
    assert metrics["Agent turns"] == "4"  # 3 + 1 answers, each counted once
    charts = at.get("plotly_chart")
    assert len(charts) >= 6
    assert any("regenerated" in c.value for c in at.caption)
    # One day of data: day buckets on a date axis with whole-day ticks.
    day = json.loads(charts[0].proto.spec)
    assert day["layout"]["xaxis"]["type"] == "date"
    assert day["layout"]["xaxis"]["dtick"] == 86_400_000
    assert [len(trace["x"]) for trace in day["data"]] == [1, 1]
    assert day["data"][0]["x"][0].endswith("00:00:00")


def test_insights_figures_without_streamlit(chats: LogStore) -> None:
    from datetime import timedelta

    from moments_core.datasets import insight_figures as fig
    from moments_core.datasets.insights import InsightFilters, collect

    data = collect(chats, InsightFilters())
    assert fig.headline(data) == {"Conversations": 2, "Agent turns": 4, "Regenerations": 1,
                                  "Edits": 0}
    # A gap day is a zero bucket, so the axis never interpolates between days.
    data.moments.loc[0, "day"] = data.moments.loc[0, "day"] - timedelta(days=2)
    days = fig.per_day(data)
    assert days["conversations"].tolist() == [1, 0, 1]
    assert days["turns"].sum() == 4
    assert (days["day"].diff().dropna() == timedelta(days=1)).all()
    q = fig.answer_length_quartiles(data)
    assert q["min"].iloc[0] <= q["median"].iloc[0] <= q["max"].iloc[0]
    assert fig.branching_by_variant(data)["regenerations"].tolist() == [0.5]
    assert list(fig.latency_by_provider(data)["provider"]) == ["instant"]


def test_insights_fast_sql_rows_match_the_tree_walk(chats: LogStore) -> None:
    """The SQL store's raw-row path and the generic tree walk give the same numbers."""
    from moments_core.datasets import insights

    fast = insights.collect(chats, insights.InsightFilters())
    slow = insights.collect(chats, insights.InsightFilters(), fast=False)
    cols = ["moment_id", "turns", "regenerations", "edits"]
    assert fast.moments[cols].sort_values("moment_id").values.tolist() == \
        slow.moments[cols].sort_values("moment_id").values.tolist()
    assert sorted(fast.answers["chars"]) == sorted(slow.answers["chars"])


def test_conversations_show_source_and_user_and_filter_by_source(chats: LogStore) -> None:
    agent = Agent.from_name("Agent", "echo", "02", store=chats)
    api = agent.start(source="openai-api", meta={"user": "ann@example.com", "model": "x"})
    _finish(agent.respond(api, "from the API"))
    at = app("conversations")
    table = at.dataframe[0].value
    assert table.loc[table["source"] == "openai-api", "user"].tolist() == ["ann@example.com"]
    at.selectbox(key="conv_source").set_value("openai-api").run()
    table = at.dataframe[0].value
    assert table["first line"].tolist() == ["Guest: from the API"]
    assert "eval" in at.selectbox(key="conv_source").options
    assert any("user ann@example.com" in t.value for t in at.text)
