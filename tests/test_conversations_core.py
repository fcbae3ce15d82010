"""Conversations rows, the one turn definition and idempotent feedback, without Streamlit
(a real SQLite store filled by the runtime on the instant provider)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moments_core.agents import Agent
from moments_core.agents.config import parse_config
from moments_core.datasets.conversations import ListQuery, list_conversations
from moments_core.datasets.feedback import SnapshotFeedback, current_feedback, save_feedback
from moments_core.datasets.insights import InsightFilters, collect
from moments_core.datasets.turns import count_turns
from moments_core.mdl import parse_occurrences
from moments_core.providers.instant import InstantProvider
from moments_core.store import LogStore, open_store

# An init with an Example holding two `Self:` lines, as the shipped cafebot has.
CONFIG = """\
mdl: "0.3"
kind: Agent
id: echo
variant: "ex"
provider: instant
model: echo
mode: chat
participant: Guest
init: |
  Instructions: '''
  You repeat what you hear.
  '''
  Example: An example interaction - '''
  Guest: "Hello."
  Self: "Welcome!"
  Guest: "A tea."
  Self: "Sure."
  '''
  Begin.
"""


def _finish(events: Any) -> Any:
    out = None
    for item in events:
        if not isinstance(item, str):
            out = item
    return out


@pytest.fixture
def store(tmp_path: Path) -> LogStore:
    return open_store(f"sqlite:///{tmp_path / 'conv.db'}")


def _agent(store: LogStore) -> Agent:
    return Agent(parse_config(CONFIG), InstantProvider(), store)


def _chat(agent: Agent, lines: list[str], **start: Any) -> Any:
    snap = agent.start(**start)
    for line in lines:
        snap = _finish(agent.respond(snap, line)).snapshot
    return snap


def test_a_turn_is_an_agent_answer_never_an_example_line(store: LogStore) -> None:
    agent = _agent(store)
    leaf = _chat(agent, ["hello", "a latte", "large", "Ann"])  # 4 turns
    occurrences = store.get_snapshot(leaf.id).moment.occurrences
    assert count_turns(occurrences) == 4
    assert count_turns(parse_occurrences(CONFIG.split("init: |\n", 1)[1]
                                         .replace("\n  ", "\n").lstrip())) == 0
    rows, _ = list_conversations(store, ListQuery(), limit=10)
    assert [r.turns for r in rows] == [4]
    assert rows[0].first_line == "Guest: hello"
    assert rows[0].last_answer == "You said: Ann"
    data = collect(store, InsightFilters())
    assert data.moments["turns"].tolist() == [4]
    assert len(data.answers) == 4


def test_turns_count_every_answer_once_across_branches(store: LogStore) -> None:
    agent = _agent(store)
    root = agent.start()
    first = _finish(agent.respond(root, "hello")).snapshot
    second = _finish(agent.respond(first, "a latte")).snapshot
    _finish(agent.regenerate(second))  # a third answer, on a second branch
    rows, _ = list_conversations(store, ListQuery(), limit=10)
    assert rows[0].turns == 3 and rows[0].branches == 2
    fast = collect(store, InsightFilters())
    slow = collect(store, InsightFilters(), fast=False)
    assert fast.moments["turns"].tolist() == slow.moments["turns"].tolist() == [3]
    assert fast.moments["regenerations"].tolist() == [1]


def test_search_source_and_user_columns(store: LogStore) -> None:
    agent = _agent(store)
    _chat(agent, ["a flat white please"])
    _chat(agent, ["just browsing"], source="openai-api", meta={"user": "ann@example.com"})
    rows, _ = list_conversations(store, ListQuery(search="FLAT WHITE"), limit=10)
    assert [r.first_line for r in rows] == ["Guest: a flat white please"]
    rows, _ = list_conversations(store, ListQuery(source="openai-api"), limit=10)
    assert [(r.source, r.user) for r in rows] == [("openai-api", "ann@example.com")]
    rows, _ = list_conversations(store, ListQuery(search="nobody said this"), limit=10)
    assert rows == []


def test_saving_feedback_twice_updates_instead_of_duplicating(store: LogStore) -> None:
    agent = _agent(store)
    leaf = _chat(agent, ["hello"])
    wanted = SnapshotFeedback(rating=4, labels=["polite", "coffee"], comment="good")
    save_feedback(store, leaf.moment_id, leaf.id, wanted)
    save_feedback(store, leaf.moment_id, leaf.id, wanted)
    assert len(store.list_feedback(snapshot_id=leaf.id)) == 4
    done = save_feedback(store, leaf.moment_id, leaf.id,
                         SnapshotFeedback(rating=2, labels=["polite"], comment="meh"))
    assert done == SnapshotFeedback(rating=2, labels=["polite"], comment="meh")
    assert current_feedback(store, leaf.id) == done
    kinds = sorted(f.kind for f in store.list_feedback(snapshot_id=leaf.id))
    assert kinds == ["comment", "label", "label", "rating"]  # "coffee" kept as taken back
    rows, _ = list_conversations(store, ListQuery(), limit=10)
    assert rows[0].rating == 2


def test_answer_facts_count_answers_never_example_lines() -> None:
    """What each snapshot's appended MDL adds to the Insights numbers, derived once."""
    from moments_core.store.answer_facts import (
        encode_answers,
        fact_row,
        fact_rows_from,
        facts_of,
    )

    texts = [
        "Instructions: '''\nBe kind.\n'''\nExample: An example - '''\nSelf: \"Hi.\"\n'''\n"
        "Begin.\n",
        'Guest: "hello"\n',
        'Self: "You said: hello"\n',
        "Context: ```\ntime: 8:01am\n```\n",
        'Rejected: "old"\nSelf: """two\nlines"""\n',
        "",
        'Self: (😊) "with \\"quotes\\""\n',
    ]
    notes = "provider: local\nmodel: SmolLM2\nlatency_ms: 412.5\ntokens: nan\n"
    facts = [facts_of(parse_occurrences(t), notes) for t in texts]
    assert [sum(not f.rejected for f in fs) for fs in facts] == [0, 0, 1, 0, 1, 0, 1]
    assert [f.rejected for f in facts[4]] == [True, False]
    assert [f.chars for f in facts[4]] == [3, 9]
    assert facts[6][0].chars == len('with "quotes"')
    one = facts[2][0]
    assert (one.provider, one.model, one.latency_ms, one.tokens) == \
        ("local", "SmolLM2", 412.5, None)  # a value that is no finite number is left out
    assert facts_of(parse_occurrences(texts[2]), "")[0].provider == "?"
    # What the SQL store keeps on the row reads back to the same facts.
    for fs in facts:
        answers = encode_answers(fs)
        assert (answers is None) == (not fs)
        assert answers is None or \
            fact_rows_from("m", answers, notes) == [fact_row("m", f) for f in fs]
    assert encode_answers(facts[4]) == "-3,9"
    assert fact_rows_from("m", "-0,0", "") == [("m", True, 0, "?", "?", None, None),
                                               ("m", False, 0, "?", "?", None, None)]
