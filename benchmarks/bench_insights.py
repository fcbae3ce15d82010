"""How long the Insights page takes with 10 and with 10,000 conversations (target: first
render under 2 s).

Fills a SQLite store with conversations of 20 turns (10% regenerated), each answer
annotated as the runtime annotates it, then times the parts of the numbers (the answer
facts each save wrote, everything ``collect`` does) and the whole page through
Streamlit's AppTest, cold (first visit: the page's cache emptied) and warm (cached for
30 s). The load average is printed with the figures: on a machine busy with other work
every figure grows.
Run: .venv/bin/python benchmarks/bench_insights.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from figures import record  # noqa: E402

# What the runtime writes on each answer's snapshot (a typical local-model turn).
ANSWER_NOTES = "provider: local\nmodel: SmolLM2-360M-Instruct\nlatency_ms: 412\ntokens: 23\n"


def _seconds(t0: float) -> str:
    return f"{time.perf_counter() - t0:.2f} s"


def _cpu(c0: float) -> str:
    """CPU seconds of this process: on a machine busy with other work, closer to what an
    idle machine's wall clock would show than the wall clock here."""
    return f"{time.process_time() - c0:.2f} s CPU"


def measure(conversations: int, tmp: Path) -> list[tuple[str, str]]:
    import streamlit as st
    from bench_store import fill
    from streamlit.testing.v1 import AppTest

    from moments_core.datasets.insights import InsightFilters, collect
    from moments_core.settings import get_settings
    from moments_core.store.sql import SqlStore

    label = f"{conversations:,} conversations"
    url = f"sqlite:///{tmp / f'insights-{conversations}.db'}"
    store = SqlStore(url)
    fill(store, "insights", conversations=conversations, regenerate_every=10,
         answer_annotations=ANSWER_NOTES)
    t0, c0 = time.perf_counter(), time.process_time()
    facts = list(store.answer_facts())
    read = f"{_seconds(t0)} ({_cpu(c0)})"
    t0, c0 = time.perf_counter(), time.process_time()
    data = collect(store, InsightFilters())
    numbers = f"{_seconds(t0)} ({_cpu(c0)})"
    store.close()

    os.environ["MOMENTS_DB_URL"] = url
    get_settings.cache_clear()
    st.cache_data.clear()  # a first visit: nothing cached from another store
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    t0, c0 = time.perf_counter(), time.process_time()
    at.switch_page("pages/insights.py").run()
    cold = f"{_seconds(t0)} ({_cpu(c0)})"
    assert not at.exception, at.exception
    t0 = time.perf_counter()
    at.run()
    warm = _seconds(t0)
    return [
        (f"{label}: answer facts read ({len(facts):,}; {len(data.answers):,} answers)", read),
        (f"{label}: all numbers (collect)", numbers),
        (f"{label}: page first render (target < 2 s)", cold),
        (f"{label}: page next render (cached)", warm),
    ]


def main() -> None:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (10, 10_000):
            rows += measure(n, Path(tmp))
    load = os.getloadavg()[0]
    rows.append(("load average (1 min) at the end", f"{load:.1f} on {os.cpu_count()} cores"))
    record("bench_insights", rows, title="Insights page, 20-turn conversations, SQLite")


if __name__ == "__main__":
    main()
