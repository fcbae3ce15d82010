"""The shipped barista suite before and after tuning the default variant, scenario by
scenario, from two run records (``moments eval run evals/cafebot.yaml --out FILE``).

    .venv/bin/python benchmarks/bench_eval_tuning.py BEFORE.json AFTER.json [TRIED.json ...]

``TRIED`` records hold the candidate variants tried on the way; each gets its suite score.

Writes ``docs/figures/bench_eval_tuning.md`` (docs/evals.md includes it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from figures import record

from moments_core.evals import RunRecord


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("tried", type=Path, nargs="*", help="runs of candidate variants")
    args = parser.parse_args()
    before = RunRecord.from_dict(json.loads(args.before.read_text()))
    after = RunRecord.from_dict(json.loads(args.after.read_text()))
    [vb], [va] = before.variant_names(), after.variant_names()
    rows = [(s, f"{pct(before.cell(vb, s))} -> {pct(after.cell(va, s))}")
            for s in after.scenarios()]
    rows.append(("suite score (weighted pass rate)",
                 f"{pct(before.score(vb))} -> {pct(after.score(va))}"))
    for path in args.tried:
        tried = RunRecord.from_dict(json.loads(path.read_text()))
        for v in tried.variant_names():
            version = tried.config_version(v)
            same = v == va and version is not None  # a version of the tuned variant itself
            rows.append((f"tried on the way: {v}" + (f" v{version}" if same else ""),
                         pct(tried.score(v))))
    rows.append(("runs", f"{before.run_id[:8]} ({vb} v{before.config_version(vb)}) -> "
                         f"{after.run_id[:8]} ({va} v{after.config_version(va)}), "
                         f"repeats {after.repeats}, seed {after.seed}, local model"))
    record("bench_eval_tuning", rows,
           title="evals/cafebot.yaml on the local model, before -> after tuning")


if __name__ == "__main__":
    main()
