"""Both cores for one CSV conversion: the same bytes and counts as one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moments_core.corpora import Conversion, ConversionStats, load_target, parallel, to_csv
from moments_core.corpora.convokit import parse_line
from moments_core.corpora.parallel import split_offsets
from tests.corpora_data import synthetic, write_tiny


@pytest.fixture(autouse=True)
def _small_files_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)


def _corpus(folder: Path, posts: int = 300, seed: int = 3) -> Path:
    gen = synthetic()
    return Path(gen.write_corpus(folder, gen.Shape(posts=posts), seed=seed))


def _both(
    corpus: Path, tmp: Path, *, in_parallel: bool = True
) -> tuple[tuple[bytes, ConversionStats], ...]:
    target = load_target("Agent", "cafebot", "01")
    out = []
    for workers in (1, 2):
        seen: list[ConversionStats] = []
        result = to_csv(Conversion("reddit", path=corpus, workers=workers), target,
                        tmp / f"w{workers}.csv", progress=seen.append)
        assert seen and seen[-1] == result.stats
        assert bool(result.worker_peak_kb) == (in_parallel and workers == 2)
        out.append(((tmp / f"w{workers}.csv").read_bytes(), result.stats))
    return tuple(out)


def test_parallel_csv_is_byte_identical_with_equal_stats(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c")
    (one, s1), (two, s2) = _both(corpus, tmp_path)
    assert one == two
    assert s1 == s2
    assert s2.grouped is True and s2.threads_written > 100
    assert s2.bytes_read == s2.bytes_total == (corpus / "utterances.jsonl").stat().st_size


def test_bad_line_in_second_half_keeps_its_real_line_number(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c")
    path = corpus / "utterances.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    at = len(lines) * 3 // 4
    lines.insert(at, b'{"id": "broken", "text": \n')
    path.write_bytes(b"".join(lines))
    assert split_offsets(path, 2)[1] < sum(len(x) for x in lines[:at])  # in range 2
    (one, s1), (two, s2) = _both(corpus, tmp_path)
    assert one == two and s1 == s2
    assert [b.line for b in s2.bad_lines] == [at + 1]


def _rows(convs: list[tuple[str, int]]) -> list[str]:
    rows: list[str] = []
    for conv, n in convs:
        for i in range(n):
            uid = conv if i == 0 else f"{conv}_{i}"
            rows.append(json.dumps({
                "id": uid, "conversation_id": conv, "speaker": f"u{i % 3}",
                "reply-to": None if i == 0 else (conv if i == 1 else f"{conv}_{i - 1}"),
                "text": f"turn {i} of {conv}", "timestamp": i, "vectors": [],
                "meta": {"score": 1, "subreddit": "Coffee"},
            }))
    return rows


def test_the_cut_never_splits_a_conversation(tmp_path: Path) -> None:
    # a big conversation over the middle of the file: the cut comes after it
    corpus = write_tiny(tmp_path / "c", lines=_rows([("a", 5), ("big", 200), ("z", 5)]))
    path = corpus / "utterances.jsonl"
    data = path.read_bytes()
    cut = split_offsets(path, 2)[1]
    assert data[cut - 1:cut] == b"\n"
    before = parse_line(data[:cut].splitlines()[-1]).conversation_id
    after = parse_line(data[cut:].splitlines()[0]).conversation_id
    assert (before, after) == ("big", "z")
    (one, s1), (two, s2) = _both(corpus, tmp_path)
    assert one == two and s1 == s2


def test_every_cut_on_a_synthetic_corpus_starts_a_conversation(tmp_path: Path) -> None:
    path = _corpus(tmp_path / "c", posts=200) / "utterances.jsonl"
    data = path.read_bytes()
    cuts = split_offsets(path, 4)
    assert len(cuts) == 4 and cuts == sorted(set(cuts))
    for cut in cuts[1:]:
        before = parse_line(data[:cut].splitlines()[-1]).conversation_id
        assert parse_line(data[cut:].splitlines()[0]).conversation_id != before


def test_one_conversation_cannot_be_cut_and_runs_in_one_process(tmp_path: Path) -> None:
    corpus = write_tiny(tmp_path / "c", lines=_rows([("only", 50)]))
    assert split_offsets(corpus / "utterances.jsonl", 2) == [0]
    target = load_target("Agent", "cafebot", "01")
    result = to_csv(Conversion("reddit", path=corpus, workers=2), target, tmp_path / "o.csv")
    assert result.worker_peak_kb == [] and result.stats.threads_written > 0


def test_a_conversation_in_both_ranges_falls_back_to_the_index(tmp_path: Path) -> None:
    rows = _rows([("a", 5), ("b", 30), ("c", 30)])
    rows.append(rows.pop(3))  # a reply of "a" at the very end: not grouped
    corpus = write_tiny(tmp_path / "c", lines=rows)
    (one, s1), (two, s2) = _both(corpus, tmp_path, in_parallel=False)
    assert one == two and s1 == s2
    assert s2.grouped is False
