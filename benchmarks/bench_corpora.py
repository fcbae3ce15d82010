"""Corpus -> seed CSV, end to end: utterances per second and peak memory, at 1x and 3x the
size of ConvoKit's ``reddit-corpus-small`` (about 300,000 utterances in 8,300 posts).

Each conversion runs in a child process (reading, thread building, MDL and CSV writing),
so its peak RSS is the conversion's own, taken from ``os.wait4``'s rusage. The synthetic
corpora are written first by ``make_convokit_corpus.py``, in their own process.

Targets (issue 7): >= 120,000 utterances/s and peak memory <= 150 MB at both sizes. The
older generator, which loads the whole corpus, measured about 85,000 utterances/s and
173 MB (1x) / 481 MB (3x) on such a corpus.

    python benchmarks/bench_corpora.py [--sizes 1 3] [--posts 8300] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_RATE = 120_000
TARGET_MB = 150.0

# What the child runs: the same library call the CLI makes.
CHILD = """
import json, sys, time
t0 = time.perf_counter()
from moments_core.corpora import Conversion, load_target, to_csv
target = load_target("Agent", "cafebot", "01")
t1 = time.perf_counter()
result = to_csv(Conversion("reddit", path=sys.argv[1]), target, sys.argv[2])
t2 = time.perf_counter()
s = result.stats
print(json.dumps({"utterances": s.utterances_read, "threads": s.threads_written,
                  "skipped": s.threads_skipped, "grouped": s.grouped,
                  "convert_s": t2 - t1, "startup_s": t1 - t0}))
"""


def convert(corpus: Path, out: Path) -> tuple[dict[str, object], float, float]:
    """(child's report, wall seconds of the whole child, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(corpus), str(out)],
        stdout=subprocess.PIPE, cwd=HERE.parent,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the conversion failed with exit code {proc.returncode}")
    peak_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    return json.loads(output), wall, peak_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--posts", type=int, default=8300, help="posts at 1x")
    ap.add_argument("--keep", type=Path, help="write the corpora and CSVs here and keep them")
    args = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-corpora-") as tmp:
        work = args.keep or Path(tmp)
        for size in args.sizes:
            corpus = work / f"corpus-{size}x"
            if not (corpus / "utterances.jsonl").exists():
                # In a child too: a forked child's peak RSS counts the parent's memory at
                # the fork, so this process must stay small.
                t = time.perf_counter()
                subprocess.run([sys.executable, str(HERE / "make_convokit_corpus.py"),
                                str(corpus), "--posts", str(args.posts * size),
                                "--seed", str(size)], check=True, stdout=subprocess.DEVNULL)
                print(f"[{size}x] corpus written in {time.perf_counter() - t:.1f} s")
            out = work / f"from-bench-{size}x.csv"
            report, wall, peak = convert(corpus, out)
            rate = float(report["utterances"]) / float(report["convert_s"])  # type: ignore[arg-type]
            csv_mb = out.stat().st_size / 1e6
            print(
                f"[{size}x] {report['utterances']:,} utterances -> {report['threads']:,} threads"
                f" ({report['skipped']:,} skipped), CSV {csv_mb:,.0f} MB:"
                f" {rate:,.0f} utterances/s (conversion {float(report['convert_s']):.2f} s,"  # type: ignore[arg-type]
                f" whole child {wall:.2f} s), peak memory {peak:.0f} MB"
            )
            ok = ok and rate >= TARGET_RATE and peak <= TARGET_MB
            if not args.keep:
                out.unlink()
    print(f"targets: >= {TARGET_RATE:,} utterances/s, <= {TARGET_MB:.0f} MB:",
          "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
