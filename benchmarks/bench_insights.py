"""How long the Insights page takes with 10,000 conversations (target: under 2 s).

Fills a SQLite store with 10,000 conversations of 20 turns (10% regenerated), then
times the numbers alone (``collect``) and the whole page through Streamlit's AppTest,
cold (first visit) and warm (cached for 30 s).
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


def main() -> None:
    from bench_store import fill

    from moments_core.datasets.insights import InsightFilters, collect
    from moments_core.settings import get_settings
    from moments_core.store.sql import SqlStore

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'insights.db'}"
        store = SqlStore(url)
        n = fill(store, "insights", regenerate_every=10)
        print(f"filled {n:,} snapshots: 10,000 conversations x 20 turns, 10% regenerated")
        t0 = time.perf_counter()
        data = collect(store, InsightFilters())
        print(f"collect (all numbers):    {time.perf_counter() - t0:.2f} s "
              f"({len(data.moments):,} conversations, {len(data.answers):,} answers)")
        store.close()

        os.environ["MOMENTS_DB_URL"] = url
        get_settings.cache_clear()
        sys.path.insert(0, str(ROOT))
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        t0 = time.perf_counter()
        at.switch_page("pages/insights.py").run()
        cold = time.perf_counter() - t0
        assert not at.exception, at.exception
        t0 = time.perf_counter()
        at.run()
        warm = time.perf_counter() - t0
        print(f"Insights page, first render: {cold:.2f} s   target < 2 s")
        print(f"Insights page, next render:  {warm:.2f} s")


if __name__ == "__main__":
    main()
