"""A Reddit corpus -> seed CSV parts on Dask, for corpora bigger than one machine.

One process on one machine (``run.to_csv``) is the default and the fastest way for a
corpus that fits a disk; this runs the same conversion on a Dask cluster when it does not
(a full subreddit dump of tens of GB, or many subreddits at once). Dask was chosen over
Spark and Ray because it is pure Python (no JVM to install on every machine, nothing to
compile), its local mode is a ``LocalCluster`` of ordinary processes that starts in a
second or two (the test suite runs it on a 2-core CI machine), and the same code runs on a
cluster by giving the scheduler's address; reading and writing ``s3://`` goes through
fsspec (``s3fs``) with the same calls as local paths.

The steps, each a Dask task graph over blocks of the input:

1. ``read_bytes`` cuts ``utterances.jsonl`` (or many files, a glob) into blocks at line
   ends. Each line is decoded by the same ``parse_line`` as the single-process path; a bad
   line is counted, a good one becomes ``(conversation id, block, line, raw bytes)``.
2. ``groupby`` on the conversation id (Dask's shuffle) gathers each conversation, in
   whatever order the file had it (no need for the file to be grouped).
3. Each conversation is put back in file order and turned into threads by
   ``conversation_threads`` and into CSV rows by ``RowWriter``: the same functions the
   single-process path runs, so the rows are the same.
4. Each partition is written as ``part-NNNNN.csv`` (header + rows) under the output folder
   or ``s3://`` prefix.
"""

from __future__ import annotations

import importlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moments_core.extras import needs_extra

from .convokit import UTTERANCES, BlankLine, parse_line
from .reddit_threads import ThreadOptions, conversation_threads
from .seed_csv import HEADER, RowWriter
from .stats import ConversionStats

DEFAULT_BLOCKSIZE = 64 << 20
PART_NAME = "part-{:05d}.csv"

# (conversation id, block number, line number in the block, the line's bytes)
Record = tuple[str, int, int, bytes]


@dataclass(slots=True)
class EngineResult:
    stats: ConversionStats
    destination: str  # the output folder or prefix
    parts: list[str]  # the part files written, in order


def utterance_paths(source: str) -> str:
    """A corpus folder (local or ``s3://``) means its utterances.jsonl; a ``.jsonl`` file
    or a glob of them is read as given."""
    if source.endswith(".zip"):
        raise ValueError(
            f"{source}: the Dask engine reads utterances.jsonl files (a folder, a .jsonl "
            "or a glob), not a .zip; unzip it first"
        )
    if source.endswith(".jsonl") or any(c in source for c in "*?["):
        return source
    return source.rstrip("/") + "/" + UTTERANCES


def parse_block(block: bytes, number: int) -> tuple[list[Record], int, int]:
    """(records, utterances read, bad lines) of one block of whole lines."""
    records: list[Record] = []
    bad = 0
    for i, line in enumerate(block.split(b"\n")):
        try:
            utt = parse_line(line)
        except BlankLine:
            continue
        except ValueError:
            bad += 1
            continue
        records.append((utt.conversation_id, number, i, line))
    return records, len(records), bad


def build_partition(
    groups: Iterable[tuple[str, list[Record]]], options: ThreadOptions, init_mdl: str,
    trace: bool,
) -> list[tuple[list[str], dict[str, Any]]]:
    """The CSV rows of some conversations, with the counts of what was kept and skipped."""
    stats = ConversionStats()
    row = RowWriter(init_mdl, trace=trace).row
    rows: list[str] = []
    for _, records in groups:
        records.sort(key=lambda r: (r[1], r[2]))  # file order, as one process reads it
        stats.conversations_read += 1
        utterances = [parse_line(r[3]) for r in records]
        for thread in conversation_threads(utterances, options, stats):
            rows.append(row(thread))
    counts = {"conversations": stats.conversations_read, "threads": len(rows),
              "skipped": dict(stats.skipped)}
    return [(rows, counts)]


def write_part(
    built: list[tuple[list[str], dict[str, Any]]], url: str, storage_options: dict[str, Any]
) -> str:
    import fsspec

    with fsspec.open(url, "w", encoding="utf-8", newline="", **storage_options) as f:
        f.write(HEADER)
        for rows, _ in built:
            f.writelines(rows)
    return url


def _counts(built: list[tuple[list[str], dict[str, Any]]]) -> list[dict[str, Any]]:
    return [c for _, c in built]


def _block_counts(parsed: tuple[list[Record], int, int]) -> tuple[int, int]:
    return parsed[1], parsed[2]


def _records(parsed: tuple[list[Record], int, int]) -> list[Record]:
    return parsed[0]


def _key(record: Record) -> str:
    return record[0]


def _untyped(module: str) -> Any:
    """Dask ships no type hints; imported here, when the engine is used, as ``Any``."""
    with needs_extra("dask"):
        return importlib.import_module(module)


@contextmanager
def dask_client(scheduler: str | None, local_workers: int | None = None) -> Iterator[Any]:
    """A client of the cluster at ``scheduler``, or of a local cluster of processes."""
    distributed = _untyped("distributed")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = local_workers or max(1, len(os.sched_getaffinity(0)))
    with (
        LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                     dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def dask_csv(
    source: str, init_mdl: str, dest: str, options: ThreadOptions | None = None, *,
    trace: bool = True, scheduler: str | None = None, local_workers: int | None = None,
    blocksize: int = DEFAULT_BLOCKSIZE, storage_options: dict[str, Any] | None = None,
) -> EngineResult:
    """Convert the corpus at ``source`` into seed CSV parts under ``dest`` on Dask."""
    dask, db = _untyped("dask"), _untyped("dask.bag")
    read_bytes, delayed = _untyped("dask.bytes").read_bytes, _untyped("dask.delayed").delayed
    options = options or ThreadOptions()
    so = dict(storage_options or {})
    dest = dest.rstrip("/")
    paths = utterance_paths(source)
    _prepare(dest, so)
    with dask_client(scheduler, local_workers):
        _, blocks = read_bytes(paths, delimiter=b"\n", blocksize=blocksize, sample=False, **so)
        flat = [b for per_file in blocks for b in per_file]
        parsed = [delayed(parse_block)(b, i) for i, b in enumerate(flat)]
        block_counts = [delayed(_block_counts)(p) for p in parsed]
        records = db.from_delayed([delayed(_records)(p) for p in parsed])
        grouped = records.groupby(_key, npartitions=max(1, records.npartitions))
        built = grouped.map_partitions(build_partition, options, init_mdl, trace)
        # All delayed from here: one graph, each partition built once, then written and
        # counted.
        pieces = built.to_delayed()
        parts = [delayed(write_part)(part, f"{dest}/{PART_NAME.format(i)}", so)
                 for i, part in enumerate(pieces)]
        counts = [delayed(_counts)(part) for part in pieces]
        written, per_part, per_block = dask.compute(parts, counts, block_counts)
    stats = ConversionStats(grouped=None)
    for utterances, bad in per_block:
        stats.utterances_read += utterances
        stats.bad_line_count += bad
    for c in (c for cs in per_part for c in cs):
        stats.conversations_read += c["conversations"]
        stats.threads_written += c["threads"]
        stats.skipped.update(Counter(c["skipped"]))
    return EngineResult(stats, dest, list(written))


def _prepare(dest: str, storage_options: dict[str, Any]) -> None:
    """The output folder exists and holds no parts of an earlier run (they would mix)."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(dest, **storage_options)
    if fs.exists(path) and fs.glob(f"{path}/part-*.csv"):
        raise ValueError(f"{dest} already holds part-*.csv files; give an empty or new folder")
    fs.makedirs(path, exist_ok=True)
