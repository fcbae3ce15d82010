"""Where benchmark scripts put their figures: printed, and written for the docs.

Every figure the docs quote comes from here: a script calls ``record("bench_store", rows)``
and the docs include ``docs/figures/bench_store.md`` (a Markdown table, rewritten on each
run) with the snippet ``--8<-- "docs/figures/bench_store.md"``. Nothing is typed by hand.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

FIGURES_DIR = Path(__file__).resolve().parent.parent / "docs" / "figures"


def record(bench: str, rows: Sequence[tuple[str, str]], *, title: str | None = None) -> Path:
    """Print ``rows`` (figure name, value with unit) and write them to ``docs/figures``.

    ``bench`` is the script's name (``bench_store``); a run replaces that file whole, so a
    figure that a script no longer prints disappears from the docs too.
    """
    for name, value in rows:
        print(f"{name}: {value}")
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # The load average says whether the machine was shared while the figures were taken.
    machine = (f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end),"
               f" {platform.python_implementation()} {platform.python_version()}")
    lines = [
        f"<!-- written by benchmarks/{bench}.py; do not edit -->",
        "",
        f"*{title or bench} — measured {stamp} on {machine}.*",
        "",
        "| Figure | Value |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
    ]
    out = FIGURES_DIR / f"{bench}.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    (FIGURES_DIR / f"{bench}.json").write_text(
        json.dumps({"measured": stamp, "machine": machine, "figures": dict(rows)}, indent=1) + "\n",
        encoding="utf-8",
    )
    return out
