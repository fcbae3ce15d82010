"""The Dask engine writes the same conversations as one process (local mode, 2 workers)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moments_core.cli import app
from moments_core.corpora import Conversion, ThreadOptions, load_target, to_csv
from moments_core.corpora.engine_dask import dask_csv
from tests.corpora_data import synthetic, tiny_lines, write_tiny


def _rows(text: str) -> list[str]:
    return [r["conversation"] for r in csv.DictReader(io.StringIO(text, newline=""))]


def _shuffled_corpus(folder: Path) -> Path:
    """A synthetic corpus whose lines are not grouped by conversation, plus bad lines."""
    gen = synthetic()
    corpus = Path(gen.write_corpus(folder, gen.Shape(posts=60), seed=11))
    path = corpus / "utterances.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    half = len(lines) // 2
    mixed = [x for pair in zip(lines[:half], lines[half:], strict=False) for x in pair]
    mixed += lines[2 * half:] if len(lines) % 2 else []
    mixed.insert(7, "{broken")
    mixed.insert(40, "")
    path.write_text("\n".join(mixed) + "\n", encoding="utf-8")
    return corpus


@pytest.mark.slow
def test_dask_local_mode_writes_the_same_rows_as_one_process(tmp_path: Path) -> None:
    corpus = _shuffled_corpus(tmp_path / "corpus")
    target = load_target("Agent", "cafebot", "01")
    options = ThreadOptions(min_score=0)
    single = to_csv(Conversion("reddit", path=corpus, options=options), target,
                    tmp_path / "one.csv")
    expected = _rows((tmp_path / "one.csv").read_text(encoding="utf-8"))
    assert single.stats.grouped is False and len(expected) > 300

    # Small blocks: many input partitions, so conversations are cut across blocks and
    # the shuffle really has to bring them together.
    done = dask_csv(str(corpus), target.init, str(tmp_path / "parts"), options,
                    local_workers=2, blocksize=16 << 10)
    assert len(done.parts) > 1
    got: list[str] = []
    for part in sorted((tmp_path / "parts").glob("part-*.csv")):
        got += _rows(part.read_text(encoding="utf-8"))
    assert len(got) == len(expected)
    assert sorted(got) == sorted(expected)
    s, d = single.stats, done.stats
    assert (d.threads_written, d.utterances_read, d.bad_line_count, d.conversations_read) == (
        s.threads_written, s.utterances_read, s.bad_line_count, s.conversations_read)
    assert d.skipped == s.skipped

    with pytest.raises(ValueError, match="already holds part"):
        dask_csv(str(corpus), target.init, str(tmp_path / "parts"), options, local_workers=1)


def moments(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, list(args))
    return done.exit_code, done.output


def test_cli_engine_options_are_checked(tmp_path: Path) -> None:
    corpus = write_tiny(tmp_path / "tiny", lines=tiny_lines())
    args = ["generate-data", "reddit", "tiny", "Agent", "cafebot", "01"]
    done = moments(*args, "--path", str(tmp_path / "tiny.zip"), "--engine", "dask",
                   "--out", str(tmp_path / "p"))
    assert done[0] == 1 and "not a .zip" in done[1]
    done = moments(*args, "--path", str(corpus), "--engine", "dask", "--limit", "3")
    assert done[0] != 0 and "--limit is not available with --engine dask" in done[1]
    done = moments(*args, "--path", str(corpus), "--scheduler", "tcp://127.0.0.1:1")
    assert done[0] != 0 and "go with --engine dask" in done[1]
