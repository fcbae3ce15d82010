"""Corpus -> seed CSV, end to end: utterances per second and peak memory, at 1x and 3x the
size of ConvoKit's ``reddit-corpus-small`` (about 300,000 utterances in 8,300 posts).

Each conversion runs in a child process (reading, thread building, MDL and CSV writing),
so its peak RSS is the conversion's own, taken from ``os.wait4``'s rusage. The conversion
uses ``workers`` processes (default min(2, CPUs)), children of that child: Linux folds
the peak of every reaped descendant into the rusage ``wait4`` returns, so the figure is the
largest of the parent and the workers (checked against their own reports, printed too);
the workers' peaks summed is printed as well (it counts the pages they share with the
parent since the fork more than once). The synthetic corpora are written first by
``make_convokit_corpus.py``, in their own process.

Targets (issue 7): >= 120,000 utterances/s and peak memory <= 150 MB at both sizes. The
older generator, which loads the whole corpus, measured about 85,000 utterances/s and
173 MB (1x) / 481 MB (3x) on such a corpus.

    python benchmarks/bench_corpora.py [--sizes 1 3] [--posts 8300] [--workers N] [--keep DIR]
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
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET_RATE = 120_000
TARGET_MB = 150.0

# What the child runs: the same library call the CLI makes.
CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from moments_core.corpora import Conversion, load_target, to_csv
target = load_target("Agent", "cafebot", "01")
t1 = time.perf_counter()
conv = Conversion("reddit", path=sys.argv[1])
if sys.argv[3] != "default":
    conv.workers = int(sys.argv[3])
result = to_csv(conv, target, sys.argv[2])
t2 = time.perf_counter()
s = result.stats
print(json.dumps({"utterances": s.utterances_read, "threads": s.threads_written,
                  "skipped": s.threads_skipped, "grouped": s.grouped,
                  "convert_s": t2 - t1, "startup_s": t1 - t0, "workers": conv.workers,
                  "parent_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "worker_kb": result.worker_peak_kb}))
"""


def convert(
    corpus: Path, out: Path, workers: int | None
) -> tuple[dict[str, Any], float, float]:
    """(child's report, wall seconds of the whole child, peak RSS in MB of the largest
    process: the child or one of its workers)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(corpus), str(out),
         "default" if workers is None else str(workers)],
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
    ap.add_argument("--workers", type=int, help="processes (default: min(2, CPUs))")
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
            report, wall, peak = convert(corpus, out, args.workers)
            rate = float(report["utterances"]) / float(report["convert_s"])
            csv_mb = out.stat().st_size / 1e6
            workers_mb = [kb / 1024 for kb in report["worker_kb"]]
            own = [report["parent_kb"] / 1024, *workers_mb]
            print(
                f"[{size}x] {report['utterances']:,} utterances -> {report['threads']:,} threads"
                f" ({report['skipped']:,} skipped), CSV {csv_mb:,.0f} MB:"
                f" {rate:,.0f} utterances/s (conversion {float(report['convert_s']):.2f} s,"
                f" whole child {wall:.2f} s, {len(workers_mb) or 1} process(es)),"
                f" peak memory {peak:.0f} MB"
            )
            print(
                f"[{size}x]   peaks: parent {own[0]:.0f} MB, workers "
                + (" / ".join(f"{m:.0f}" for m in workers_mb) or "none")
                + f" MB (largest {max(own):.0f} MB; workers summed {sum(workers_mb):.0f} MB,"
                f" with the parent {sum(own):.0f} MB)"
            )
            ok = ok and rate >= TARGET_RATE and peak <= TARGET_MB
            if not args.keep:
                out.unlink()
    print(f"targets: >= {TARGET_RATE:,} utterances/s, <= {TARGET_MB:.0f} MB:",
          "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
