"""A ConvoKit Reddit corpus (folder or .zip) -> threads, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .convokit import ConvoKitCorpus
from .grouping import corpus_conversations
from .reddit_threads import ThreadOptions, conversation_threads
from .stats import ConversionStats, Progress
from .thread import Thread

PROGRESS_EVERY = 200  # conversations between progress reports


def reddit_threads(
    path: str | Path,
    options: ThreadOptions | None = None,
    stats: ConversionStats | None = None,
    *,
    grouped: bool | None = None,
    progress: Progress | None = None,
    workdir: str | None = None,
) -> Iterator[Thread]:
    """Every thread of the corpus at ``path``; ``stats`` fills in as it goes.

    ``grouped``: None checks whether utterances.jsonl is grouped by conversation (one
    pass when it is, an on-disk index when not); True/False skips the check.
    """
    options = options or ThreadOptions()
    stats = stats if stats is not None else ConversionStats()
    with ConvoKitCorpus(path) as corpus:
        for n, group in enumerate(
            corpus_conversations(corpus, stats, grouped=grouped, workdir=workdir), 1
        ):
            stats.conversations_read += 1
            yield from conversation_threads(group, options, stats)
            if progress is not None and n % PROGRESS_EVERY == 0:
                progress(stats)
    if progress is not None:
        progress(stats)
