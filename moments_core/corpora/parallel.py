"""Both cores for one Reddit corpus folder -> seed CSV, with the single-process output.

``utterances.jsonl`` is grouped by conversation (posts first, then their comments), so
it can be cut into byte ranges at conversation boundaries: seek near each cut, then move
forward line by line until the conversation id changes (only those few lines are
decoded). Each range is converted in its own process by the ordinary pipeline
(``grouped_conversations`` -> ``conversation_threads`` -> ``csv_rows``); the first
worker appends its rows right after the header the parent wrote, the others write
headerless part files that the parent appends in order, so the file is byte for byte what
one process writes, and the stats are summed. Bad lines keep their real line numbers:
each worker is given the number of its first line.

A conversation that turns up in two ranges (a file not grouped after all) raises
``NotGrouped``, as the single-process pass does, and the caller falls back to the index.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import pickle
import queue as queue_mod
import resource
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .convokit import UTTERANCES, Utterance, parse_line
from .grouping import NotGrouped, grouped_conversations
from .reddit import PROGRESS_EVERY
from .reddit_threads import ThreadOptions, conversation_threads
from .seed_csv import HEADER, csv_rows, open_csv, place_seed
from .stats import MAX_BAD_LINES_KEPT, ConversionStats, Progress
from .thread import Thread

# Below this size one process is quicker than starting workers (tests lower it).
MIN_BYTES = 4 << 20
SAMPLE_SIZE = 5
_POLL_S = 0.2
_COUNT_CHUNK = 1 << 20


def default_workers() -> int:
    """min(2, the CPUs this process may use)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    return max(1, min(2, n))


# --- splitting ----------------------------------------------------------------------------
def _conversation_of(line: bytes) -> str | None:
    try:
        return parse_line(line).conversation_id
    except ValueError:  # a blank or bad line: it belongs to whichever range holds it
        return None


def split_offsets(path: str | Path, parts: int) -> list[int]:
    """Byte offsets where the ranges start (0 first), each the first line of a
    conversation; fewer than ``parts`` when the file has too few conversations."""
    size = Path(path).stat().st_size
    starts = [0]
    with open(path, "rb") as f:
        for k in range(1, parts):
            target = size * k // parts
            if target <= starts[-1]:
                continue
            f.seek(target - 1)
            f.readline()  # to the first line starting at or after ``target``
            first: str | None = None
            cut: int | None = None
            while True:
                pos = f.tell()
                line = f.readline()
                if not line:
                    break
                conv = _conversation_of(line)
                if conv is None:
                    continue
                if first is None:
                    first = conv
                elif conv != first:
                    cut = pos
                    break
            if cut is None:
                break  # the last conversation reaches the end: no further cut
            starts.append(cut)
    return starts


def _count_lines(path: str | Path, start: int, end: int) -> int:
    n = 0
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(_COUNT_CHUNK, left))
            if not chunk:
                break
            n += chunk.count(b"\n")
            left -= len(chunk)
    return n


class _Range(io.RawIOBase):
    """The bytes [start, end) of a file, so lines are still iterated in C."""

    def __init__(self, raw: io.FileIO, start: int, end: int | None) -> None:
        super().__init__()
        raw.seek(start)
        self._raw = raw
        self._left = end - start if end is not None else None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if self._left is not None:
            if self._left <= 0:
                return 0
            view = view[: self._left]
        n = self._raw.readinto(view) or 0
        if self._left is not None:
            self._left -= n
        return n


# --- a worker -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Job:
    index: int
    path: str
    start: int
    end: int | None  # None: to the end of the file
    first_line: int
    out: str  # worker 0: the CSV itself (appended to); others: their part file
    options: ThreadOptions
    init_mdl: str
    trace: bool
    total: int
    report: bool  # send progress snapshots


@dataclass(slots=True)
class _Done:
    stats: ConversionStats
    conversations: set[str]
    sample: list[Thread]
    peak_kb: int


def _snapshot(stats: ConversionStats) -> ConversionStats:
    """A copy the queue's feeder thread can pickle while the worker goes on."""
    return ConversionStats(
        stats.utterances_read, stats.conversations_read, stats.threads_written,
        stats.skipped.copy(), stats.bad_line_count, list(stats.bad_lines), stats.bytes_read,
        stats.bytes_total, stats.grouped,
    )


def _threads(
    groups: Iterable[list[Utterance]], job: _Job, stats: ConversionStats, seen: set[str],
    sample: list[Thread], queue: Any,
) -> Iterator[Thread]:
    for n, group in enumerate(groups, 1):
        stats.conversations_read += 1
        seen.add(group[0].conversation_id)
        for thread in conversation_threads(group, job.options, stats):
            if len(sample) < SAMPLE_SIZE:
                sample.append(thread)
            yield thread
        if job.report and n % PROGRESS_EVERY == 0:
            queue.put(("progress", job.index, _snapshot(stats)))


def _work(job: _Job, queue: Any) -> None:
    try:
        stats = ConversionStats(bytes_total=job.total, grouped=True)
        seen: set[str] = set()
        sample: list[Thread] = []
        with open(job.path, "rb", buffering=0) as raw:
            reader = io.BufferedReader(_Range(raw, job.start, job.end), 1 << 20)
            groups = grouped_conversations(enumerate(reader, job.first_line), stats)
            threads = _threads(groups, job, stats, seen, sample, queue)
            # worker 0 appends to the CSV itself, after the header the parent wrote
            with open_csv(job.out, append=job.index == 0) as f:
                csv_rows(threads, f, job.init_mdl, stats, job.trace, header=False)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        queue.put(("done", job.index, _Done(stats, seen, sample, peak)))
    except BaseException as err:  # noqa: BLE001 - every failure goes back to the parent
        try:
            pickle.dumps(err)
            failure: BaseException = err
        except Exception:  # noqa: BLE001
            failure = RuntimeError(f"corpus worker {job.index}: {err!r}")
        queue.put(("error", job.index, failure))


# --- the parent ---------------------------------------------------------------------------
def merge_stats(parts: Iterable[ConversionStats], total: int) -> ConversionStats:
    """The ranges' stats, in file order, as one pass would have counted them."""
    out = ConversionStats(bytes_total=total, grouped=True)
    for s in parts:
        out.utterances_read += s.utterances_read
        out.conversations_read += s.conversations_read
        out.threads_written += s.threads_written
        out.skipped.update(s.skipped)
        out.bad_line_count += s.bad_line_count
        out.bad_lines.extend(s.bad_lines[: MAX_BAD_LINES_KEPT - len(out.bad_lines)])
        out.bytes_read += s.bytes_read
    return out


@dataclass(slots=True)
class ParallelResult:
    stats: ConversionStats
    destination: str
    sample: list[Thread]
    worker_peak_kb: list[int] = field(default_factory=list)


def _context() -> Any:
    # fork is quick (nothing to import again) but unsafe in a process running other
    # threads (the page's server): spawn there.
    if threading.active_count() == 1 and "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    return mp.get_context("spawn")


def parallel_csv(
    folder: str | Path, options: ThreadOptions, init_mdl: str, dest: str | Path, *,
    trace: bool, workers: int, progress: Progress | None = None,
) -> ParallelResult | None:
    """The seed CSV of the corpus ``folder`` with ``workers`` processes; None when the
    file cannot be cut (too few conversations): then the caller runs one process.
    Raises NotGrouped when a conversation turns up in two ranges."""
    path = Path(folder) / UTTERANCES
    total = path.stat().st_size
    starts = split_offsets(path, workers)
    if len(starts) < 2:
        return None
    ends: list[int | None] = [*starts[1:], None]
    holder: list[ParallelResult] = []

    def fill(csv_path: Path) -> None:
        with open(csv_path, "w", encoding="utf-8", newline="") as f:
            f.write(HEADER)
        parts_dir = tempfile.mkdtemp(prefix=".parts-", dir=csv_path.parent)
        try:
            outs = [str(csv_path)] + [
                os.path.join(parts_dir, f"part-{i}.csv") for i in range(1, len(starts))
            ]
            holder.append(_run_workers(path, starts, ends, outs, options, init_mdl, trace,
                                       total, progress))
            with open(csv_path, "ab") as out:
                for part in outs[1:]:
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 20)
        finally:
            shutil.rmtree(parts_dir, ignore_errors=True)

    where = place_seed(fill, dest)
    result = holder[0]
    result.destination = where
    if progress is not None:
        progress(result.stats)
    return result


def _run_workers(
    path: Path, starts: list[int], ends: list[int | None], outs: list[str],
    options: ThreadOptions, init_mdl: str, trace: bool, total: int, progress: Progress | None,
) -> ParallelResult:
    ctx = _context()
    queue = ctx.Queue()
    procs: list[Any] = []
    done: dict[int, _Done] = {}
    latest: dict[int, ConversionStats] = {}
    try:
        first_line = 1
        for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
            if i > 0:  # counted while the earlier workers already run
                first_line += _count_lines(path, starts[i - 1], start)
            job = _Job(i, str(path), start, end, first_line, outs[i], options, init_mdl, trace,
                       total, progress is not None)
            proc = ctx.Process(target=_work, args=(job, queue), daemon=True,
                               name=f"moments-corpus-{i}")
            proc.start()
            procs.append(proc)
        while len(done) < len(procs):
            try:
                kind, i, payload = queue.get(timeout=_POLL_S)
            except queue_mod.Empty:
                for i, proc in enumerate(procs):
                    if i not in done and proc.exitcode not in (None, 0):
                        raise RuntimeError(
                            f"corpus worker {i} ended with exit code {proc.exitcode}"
                        ) from None
                continue
            if kind == "error":
                raise payload
            if kind == "done":
                done[i] = payload
                latest[i] = payload.stats
            else:
                latest[i] = payload
            if progress is not None:
                progress(merge_stats((latest[k] for k in sorted(latest)), total))
        for proc in procs:
            proc.join()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join()
        queue.close()
    results = [done[i] for i in range(len(procs))]
    seen: set[str] = set()
    for r in results:
        if not seen.isdisjoint(r.conversations):
            raise NotGrouped("a conversation continues in two parts of the file")
        seen |= r.conversations
    sample = [t for r in results for t in r.sample][:SAMPLE_SIZE]
    stats = merge_stats((r.stats for r in results), total)
    return ParallelResult(stats, "", sample, [r.peak_kb for r in results])
