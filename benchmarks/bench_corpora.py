"""Corpus -> seed CSV, end to end: utterances per second and peak memory, at 1x and 3x the
size of ConvoKit's ``reddit-corpus-small`` (about 300,000 and 900,000 utterances).

Each single-process conversion runs in a child process (reading, thread building, MDL and
CSV writing), so its peak RSS is the conversion's own, taken from ``os.wait4``'s rusage.
At the largest size the same corpus is also converted by the Dask engine in its local mode
(a local cluster of ``--dask-workers`` processes, cluster start included): a figure, not a
target; the engine is for corpora bigger than a machine, not for a laptop. The synthetic
corpora are written first by ``make_convokit_corpus.py``, in their own process. Figures go
to docs/figures/bench_corpora.md.

    python benchmarks/bench_corpora.py [--sizes 1 3] [--posts 8300] [--dask-workers 2]
                                       [--no-dask] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from figures import record

HERE = Path(__file__).resolve().parent

# What the child runs: the same library call the CLI makes.
CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from moments_core.corpora import Conversion, load_target, to_csv
target = load_target("Agent", "cafebot", "01")
t1 = time.perf_counter()
if sys.argv[3] == "dask":
    from moments_core.corpora.engine_dask import dask_csv
    s = dask_csv(sys.argv[1], target.init, sys.argv[2], local_workers=int(sys.argv[4])).stats
else:
    s = to_csv(Conversion("reddit", path=sys.argv[1]), target, sys.argv[2]).stats
t2 = time.perf_counter()
print(json.dumps({"utterances": s.utterances_read, "threads": s.threads_written,
                  "skipped": s.threads_skipped, "convert_s": t2 - t1, "startup_s": t1 - t0}))
"""


def convert(
    corpus: Path, out: Path, engine: str = "local", workers: int = 2
) -> tuple[dict[str, Any], float, float]:
    """(child's report, wall seconds of the whole child, peak RSS in MB of the child; with
    the Dask engine, of its largest process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(corpus), str(out), engine, str(workers)],
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
    return json.loads(output.decode().strip().splitlines()[-1]), wall, peak_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--posts", type=int, default=8300, help="posts at 1x")
    ap.add_argument("--dask-workers", type=int, default=2)
    ap.add_argument("--no-dask", action="store_true", help="single process only")
    ap.add_argument("--keep", type=Path, help="write the corpora and CSVs here and keep them")
    args = ap.parse_args()
    rows: list[tuple[str, str]] = []
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
            n = int(report["utterances"])
            rate = n / float(report["convert_s"])
            label = f"{n / 1000:,.0f}k utterances"
            print(f"[{size}x] {n:,} utterances -> {report['threads']:,} threads in"
                  f" {float(report['convert_s']):.2f} s (whole child {wall:.2f} s)")
            rows.append((f"one process, {label}", f"{rate:,.0f} utterances/s"))
            rows.append((f"one process, {label}, peak RSS", f"{peak:.0f} MB"))
            if not args.keep:
                out.unlink()
            if size == max(args.sizes) and not args.no_dask:
                parts = work / f"parts-{size}x"
                shutil.rmtree(parts, ignore_errors=True)
                report, wall, _ = convert(corpus, parts, "dask", args.dask_workers)
                assert int(report["utterances"]) == n
                rate = n / float(report["convert_s"])
                rows.append((f"Dask local mode ({args.dask_workers} workers), {label}",
                             f"{rate:,.0f} utterances/s"))
                shutil.rmtree(parts, ignore_errors=True)
    record("bench_corpora", rows, title="Corpus to seed CSV")


if __name__ == "__main__":
    main()
