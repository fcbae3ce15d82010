"""chitchat-dataset -> moments, read from the installed package."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

from moments_core.corpora import ConversionStats, ThreadOptions, chitchat_threads
from moments_core.corpora.chitchat import dataset_path
from moments_core.mdl import Participant, Self, parse_moment


def test_every_conversation_becomes_one_moment() -> None:
    stats = ConversionStats()
    threads = list(chitchat_threads(stats=stats))
    assert len(threads) == 7168 == stats.conversations_read
    assert stats.threads_skipped == 0 and stats.utterances_read > 250_000
    first = threads[0]
    # The package's first conversation: two typed messages of one turn are joined.
    assert first.occurrences[0] == Self("Hello How are you doing today?")
    said = "whats up MD im doing good how are you doing?"
    assert first.occurrences[1] == Participant("Human", said)
    assert all(isinstance(o, Self | Participant) for o in first.occurrences)
    kinds = [type(o) for o in first.occurrences]
    assert all(a is not b for a, b in pairwise(kinds))  # turns alternate
    assert parse_moment(first.mdl()).occurrences[1:] == first.occurrences


def test_participant_name_and_turn_filters(tmp_path: Path) -> None:
    data = {
        "a": {"messages": [[{"text": "hi", "sender": "x", "timestamp": "t1"}],
                           [{"text": "yo", "sender": "y", "timestamp": "t2"},
                            {"text": "", "sender": "y", "timestamp": "t3"}],
                           [{"text": "bye", "sender": "x", "timestamp": "t4"}]],
              "prompt": "Say hi", "start": "t0"},
        "b": {"messages": [[{"text": "alone", "sender": "x", "timestamp": "t1"}]]},
        "c": {"messages": []},
    }
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(data))
    stats = ConversionStats()
    threads = list(chitchat_threads(stats=stats, participant="Customer", path=path))
    assert [t.key for t in threads] == ["a", "b"]
    assert threads[0].text == 'Self: "hi"\nCustomer: "yo"\nSelf: "bye"\n'
    assert stats.skipped["empty text"] == 1
    context = parse_moment(threads[0].mdl()).occurrences[0]
    assert context.value["prompt"] == "Say hi"  # type: ignore[attr-defined]
    stats = ConversionStats()
    kept = list(chitchat_threads(ThreadOptions(min_turns=2, max_turns=2), stats, path=path))
    assert kept == [] and stats.skipped == {"too few turns": 1, "too many turns": 1,
                                            "empty text": 1}


def test_dataset_comes_from_the_installed_package() -> None:
    assert dataset_path().name == "dataset.json"
    assert "site-packages" in str(dataset_path()) or dataset_path().is_file()
