"""ConvoKit Reddit corpora -> threads: counts, roles, formats, zip, bad lines, order."""

from __future__ import annotations

from pathlib import Path

import pytest

from moments_core.corpora import ConversionStats, ThreadOptions, reddit_threads
from moments_core.corpora.convokit import ConvoKitCorpus, CorpusError
from moments_core.corpora.names import participant_name
from moments_core.mdl import Context, Participant, Self, parse_moment
from tests.corpora_data import synthetic, tiny_lines, write_tiny, zip_folder


def run(path: Path, **options: object) -> tuple[list[str], ConversionStats]:
    stats = ConversionStats()
    threads = list(reddit_threads(path, ThreadOptions(**options), stats))  # type: ignore[arg-type]
    return [t.text for t in threads], stats


def test_tiny_corpus_threads_roles_and_skips_exactly(tmp_path: Path) -> None:
    stats = ConversionStats()
    threads = list(reddit_threads(write_tiny(tmp_path / "tiny"), None, stats))
    assert [t.key for t in threads] == ["p1/c3", "p1/c4", "p3/c13", "p3/c15"]
    assert threads[0].text == (
        'User (alice): "How do I brew coffee?"\n'
        'Self: "Use a French press."\n'
        'User (alice): "Thanks! How long?"\n'
        'Self: """Four \\"long\\" minutes ☕\nthen press."""\n'
    )
    # carol is neither the author nor the first responder: a participant under her name.
    assert threads[1].occurrences == [
        Participant("User", "How do I brew coffee?", "alice"),
        Self("Use a French press."),
        Participant("User", "Thanks! How long?", "alice"),
        Participant("carol", "I do five."),
    ]
    assert threads[3].occurrences == [
        Participant("User", "Best movie?", "hank"), Self("Alien"),
        Participant("User", "Good one", "hank"),
    ]
    assert stats.utterances_read == 19 and stats.conversations_read == 4
    assert dict(stats.skipped) == {
        "deleted or removed": 3, "empty text": 1, "missing parent": 1,
        "no second person": 1, "too few turns": 1,
    }
    assert stats.bad_line_count == 0 and stats.grouped is True


def test_trace_keeps_ids_scores_and_timestamps(tmp_path: Path) -> None:
    thread = next(iter(reddit_threads(write_tiny(tmp_path / "tiny"))))
    moment = parse_moment(thread.mdl())
    context = moment.occurrences[0]
    assert isinstance(context, Context)
    assert context.value["source"] == "reddit" and context.value["subreddit"] == "Coffee"
    assert context.value["utterances"] == [
        {"id": "p1", "score": 10, "timestamp": 1_600_000_000},
        {"id": "c1", "score": 5, "timestamp": 1_600_000_001},
        {"id": "c2", "score": 4, "timestamp": 1_600_000_002},
        {"id": "c3", "score": 3, "timestamp": 1_600_000_003},
    ]
    assert moment.occurrences[1:] == thread.occurrences
    assert thread.mdl(trace=False) == thread.text


@pytest.mark.parametrize(("options", "keys", "reason", "count"), [
    ({"min_score": 0}, ["p1/c3", "p1/c4", "p3/c15"], "low score", 1),
    ({"max_turns": 3}, ["p3/c13", "p3/c15"], "too many turns", 2),
    ({"min_turns": 3}, ["p1/c3", "p1/c4", "p3/c15"], "too few turns", 3),
    ({"subreddits": frozenset({"askreddit"})}, ["p3/c13", "p3/c15"], "other subreddit", 7),
])
def test_filters(tmp_path: Path, options: dict[str, object], keys: list[str], reason: str,
                 count: int) -> None:
    stats = ConversionStats()
    threads = list(reddit_threads(write_tiny(tmp_path / "t"), ThreadOptions(**options),  # type: ignore[arg-type]
                                  stats))
    assert [t.key for t in threads] == keys
    assert stats.skipped[reason] == count


def test_both_generations_give_identical_moments(tmp_path: Path) -> None:
    current, _ = run(write_tiny(tmp_path / "cur", "current"))
    older, _ = run(write_tiny(tmp_path / "old", "older"))
    assert current == older and len(current) == 4
    gen = synthetic()
    shape = gen.Shape(posts=40)
    a = gen.write_corpus(tmp_path / "syn-cur", shape, generation="current", seed=3)
    b = gen.write_corpus(tmp_path / "syn-old", shape, generation="older", seed=3)
    assert ConvoKitCorpus(a).generation == "current"
    assert ConvoKitCorpus(b).generation == "older"
    syn_current, s1 = run(a)
    syn_older, s2 = run(b)
    assert syn_current == syn_older and len(syn_current) > 100
    assert s1.skipped == s2.skipped and s1.skipped["deleted or removed"] > 0
    assert s1.skipped["missing parent"] >= 0 and s1.utterances_read == s2.utterances_read


def test_zip_is_read_like_the_folder(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "tiny-corpus")
    archive = zip_folder(folder)
    assert run(archive) == run(folder)
    gen = synthetic()
    zipped = gen.write_corpus(tmp_path / "z", gen.Shape(posts=15), seed=1, as_zip=True)
    plain = gen.write_corpus(tmp_path / "p", gen.Shape(posts=15), seed=1)
    assert zipped.suffix == ".zip" and run(zipped)[0] == run(plain)[0]
    corpus = ConvoKitCorpus(archive)
    assert set(corpus.conversations()) == {"p1", "p2", "p3", "p4"}
    assert corpus.conversations()["p1"]["title"] == "post p1"  # unwrapped from {"meta": ...}
    assert "alice" in corpus.speakers() and corpus.meta() == {"subreddit": "tiny"}


def test_bad_lines_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    lines = tiny_lines()
    lines.insert(2, "{not json")  # line 3
    lines.insert(4, '{"id": "x1", "text": "no speaker"}')  # line 5
    lines.insert(6, "")  # a blank line is not an error
    lines.insert(8, '["a list"]')  # line 9
    texts, stats = run(write_tiny(tmp_path / "bad", lines=lines))
    assert len(texts) == 4
    assert [b.line for b in stats.bad_lines] == [3, 5, 9]
    assert "not valid JSON" in stats.bad_lines[0].reason
    assert "speaker" in stats.bad_lines[1].reason
    assert str(stats.bad_lines[2]) == "line 9: not a JSON object"
    assert stats.bad_line_count == 3 and stats.utterances_read == 19


def test_ungrouped_file_goes_through_the_index_with_the_same_result(tmp_path: Path) -> None:
    gen = synthetic()
    shape = gen.Shape(posts=30)
    grouped = gen.write_corpus(tmp_path / "g", shape, seed=5)
    shuffled = gen.write_corpus(tmp_path / "s", shape, seed=5, shuffle=True)
    a, sa = run(grouped)
    b, sb = run(shuffled)
    assert sa.grouped is True and sb.grouped is False
    assert sorted(a) == sorted(b) and sa.skipped == sb.skipped
    # Told it is grouped when it is not: an error, not silently wrong threads.
    from moments_core.corpora.grouping import NotGrouped

    with pytest.raises(NotGrouped):
        list(reddit_threads(shuffled, grouped=True))


def test_names_are_made_valid_for_mdl() -> None:
    assert participant_name("bob_42") == "bob_42"
    assert participant_name("Self") == "u/Self"
    assert participant_name("User") == "u/User"
    assert participant_name('we:ird"(name)') == "we_ird_name_"
    Participant(participant_name('we:ird"(name)'), "valid now")
    assert participant_name("#tag") == "tag"


def test_not_a_corpus_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"utterances\.jsonl"):
        ConvoKitCorpus(tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        ConvoKitCorpus(tmp_path / "nope")
