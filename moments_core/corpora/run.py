"""One conversion, as the CLI and the page run it: source -> threads -> CSV or store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .agent_target import AgentTarget
from .chitchat import chitchat_threads
from .grouping import NotGrouped
from .reddit import reddit_threads
from .reddit_threads import ThreadOptions
from .seed_csv import write_seed
from .stats import ConversionStats, Progress
from .thread import Thread

if TYPE_CHECKING:
    from moments_core.store.base import LogStore

Source = Literal["reddit", "chitchat"]
SAMPLE_SIZE = 5


@dataclass(slots=True)
class Conversion:
    """What to read and how to filter it."""

    source: Source
    path: str | Path | None = None  # reddit: corpus folder or .zip
    options: ThreadOptions = field(default_factory=ThreadOptions)
    limit: int | None = None  # threads at most
    trace: bool = True  # CSV: a leading Context with the source ids
    grouped: bool | None = None  # reddit: None checks the file


@dataclass(slots=True)
class Result:
    stats: ConversionStats
    destination: str
    sample: list[Thread]


def threads_of(
    conv: Conversion, target: AgentTarget, stats: ConversionStats, progress: Progress | None
) -> Iterator[Thread]:
    if conv.source == "reddit":
        if conv.path is None:
            raise ValueError("a Reddit corpus needs a path (a folder or a .zip)")
        threads = reddit_threads(conv.path, conv.options, stats, grouped=conv.grouped,
                                 progress=progress)
    else:
        threads = chitchat_threads(
            conv.options, stats, participant=target.participant or "Human",
            path=conv.path, progress=progress,
        )
    return _kept(threads, conv.limit)


def _kept(threads: Iterator[Thread], limit: int | None) -> Iterator[Thread]:
    if limit is None:
        yield from threads
        return
    if limit <= 0:
        return
    for n, thread in enumerate(threads, 1):
        yield thread
        if n >= limit:
            return


def _sampling(threads: Iterable[Thread], sample: list[Thread]) -> Iterator[Thread]:
    for thread in threads:
        if len(sample) < SAMPLE_SIZE:
            sample.append(thread)
        yield thread


def to_csv(
    conv: Conversion, target: AgentTarget, dest: str | Path, *,
    progress: Progress | None = None,
) -> Result:
    # A file is only renamed into place when complete, so a Reddit corpus is read in one
    # optimistic pass; if it turns out not to be grouped, the partial file is dropped and
    # the corpus is read again through the on-disk index.
    one_pass = conv.source == "reddit" and conv.grouped is None
    attempt = replace(conv, grouped=True) if one_pass else conv
    try:
        return _to_csv(attempt, target, dest, progress)
    except NotGrouped:
        return _to_csv(replace(conv, grouped=False), target, dest, progress)


def _to_csv(
    conv: Conversion, target: AgentTarget, dest: str | Path, progress: Progress | None
) -> Result:
    stats = ConversionStats()
    sample: list[Thread] = []
    threads = _sampling(threads_of(conv, target, stats, progress), sample)
    where = write_seed(threads, dest, target.init, stats, trace=conv.trace)
    if progress is not None:
        progress(stats)
    return Result(stats, where, sample)


def to_store(
    conv: Conversion, target: AgentTarget, store: LogStore, corpus_name: str, *,
    progress: Progress | None = None,
) -> Result:
    from .store_import import import_threads

    stats = ConversionStats()
    sample: list[Thread] = []
    threads = _sampling(threads_of(conv, target, stats, progress), sample)
    import_threads(threads, store, target, corpus_name, stats)
    if progress is not None:
        progress(stats)
    return Result(stats, repr(store), sample)


def preview(
    conv: Conversion, target: AgentTarget, *, progress: Progress | None = None
) -> Result:
    """Count and sample without writing anything."""
    stats = ConversionStats()
    sample: list[Thread] = []
    for _ in _sampling(threads_of(conv, target, stats, progress), sample):
        stats.threads_written += 1
    return Result(stats, "", sample)
