"""`moments generate-data ...` as a user runs it: a subprocess."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from moments_core.store.sql import SqlStore
from tests.corpora_data import ROOT, tiny_lines, write_tiny


def moments(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "moments_core.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_reddit_to_csv_with_counts_and_bad_lines(tmp_path: Path) -> None:
    lines = tiny_lines()
    lines.insert(1, "{broken")
    corpus = write_tiny(tmp_path / "tiny", lines=lines)
    out = tmp_path / "from-tiny.csv"
    done = moments("generate-data", "reddit", "tiny", "Agent", "cafebot", "01",
                   "--path", str(corpus), "--out", str(out), "--min-score", "0")
    assert done.returncode == 0, done.stderr
    assert "threads written: 3" in done.stdout
    assert "utterances read: 19" in done.stdout
    assert "skipped: low score: 1" in done.stdout
    assert "skipped: deleted or removed: 3" in done.stdout
    assert "bad line 2: not valid JSON" in done.stderr
    assert "reading" in done.stderr  # the tqdm bar
    with out.open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 3


def test_reddit_to_store_and_chitchat_to_csv(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    done = moments("generate-data", "reddit", "tiny", "Agent", "cafebot", "01",
                   "--path", str(write_tiny(tmp_path / "tiny")), "--to-store", "--db", url)
    assert done.returncode == 0, done.stderr
    store = SqlStore(url)
    try:
        assert len(store.list_moments(source="corpus", agent_id="cafebot")) == 4
    finally:
        store.close()
    out = tmp_path / "from-chitchat.csv.tar.gz"
    done = moments("generate-data", "chitchat", "chitchat", "Agent", "cafebot", "01",
                   "--out", str(out), "--limit", "25")
    assert done.returncode == 0, done.stderr
    assert "threads written: 25" in done.stdout and out.stat().st_size > 1000


def test_errors_are_clear(tmp_path: Path) -> None:
    done = moments("generate-data", "reddit", "x", "Agent", "cafebot", "01",
                   "--path", str(tmp_path / "missing"), "--out", str(tmp_path / "x.csv"))
    assert done.returncode == 1 and "does not exist" in done.stderr
    done = moments("generate-data", "reddit", "x", "Agent", "nobot", "01",
                   "--path", str(write_tiny(tmp_path / "t")), "--out", str(tmp_path / "x.csv"))
    assert done.returncode == 1 and "no config for Agent-nobot-01" in done.stderr
