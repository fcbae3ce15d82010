"""The chitchat-dataset (BYU PCC lab, MIT): 7,168 typed human-to-human conversations.

The PyPI package ``chitchat-dataset`` ships them as one JSON file; it is read from the
installed package (no download). Each conversation is one moment: the first speaker is
Self, the other a participant; the messages of one turn are joined with a space.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from moments_core.mdl import Occurrence, Participant, Self

from .reddit_threads import EMPTY, TOO_LONG, TOO_SHORT, ThreadOptions
from .stats import ConversionStats, Progress
from .thread import Thread
from .yamltext import scalar

PACKAGE = "chitchat_dataset"
PROGRESS_EVERY = 100
MANY_SPEAKERS = "more than two speakers"


class ChitchatMissing(RuntimeError):
    """The chitchat-dataset package is not installed."""


def dataset_path() -> Path:
    # find_spec locates the file without importing the package (it loads the JSON eagerly
    # in some of its classes).
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ChitchatMissing("pip install chitchat-dataset to use the chitchat corpus")
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset.json"
    if not path.is_file():
        raise ChitchatMissing(f"{path} is missing: reinstall chitchat-dataset")
    return path


def _turns(conv: Any) -> list[tuple[str, str, list[Any]]]:
    """(sender, joined text, timestamps) per turn; consecutive same-sender turns merge."""
    out: list[tuple[str, str, list[Any]]] = []
    for message in conv.get("messages") or []:
        for part in message:
            text = str(part.get("text") or "").strip()
            if not text:
                continue
            sender = str(part.get("sender") or "")
            if out and out[-1][0] == sender:
                prev = out[-1]
                out[-1] = (sender, f"{prev[1]} {text}", [*prev[2], part.get("timestamp")])
            else:
                out.append((sender, text, [part.get("timestamp")]))
    return out


def chitchat_threads(
    options: ThreadOptions | None = None,
    stats: ConversionStats | None = None,
    *,
    participant: str = "Human",
    path: str | Path | None = None,
    progress: Progress | None = None,
) -> Iterator[Thread]:
    """One thread per conversation. ``participant`` names the other speaker (the config's
    participant, e.g. Customer). Unless ``options.min_turns`` says otherwise, a
    conversation of one turn is still a moment: all 7,168 come out by default."""
    options = options or ThreadOptions()
    min_turns = 1 if options.min_turns is None else options.min_turns
    stats = stats if stats is not None else ConversionStats()
    source = Path(path) if path else dataset_path()
    data = msgspec.json.decode(source.read_bytes())
    stats.bytes_total = len(data)  # counted in conversations here
    for n, (conv_id, conv) in enumerate(data.items(), 1):
        stats.conversations_read += 1
        stats.bytes_read = n
        turns = _turns(conv)
        stats.utterances_read += sum(len(m) for m in conv.get("messages") or [])
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(stats)
        if not turns:
            stats.skipped[EMPTY] += 1
            continue
        if len(turns) < min_turns:
            stats.skipped[TOO_SHORT] += 1
            continue
        if options.max_turns is not None and len(turns) > options.max_turns:
            stats.skipped[TOO_LONG] += 1
            continue
        agent = turns[0][0]
        occs: list[Occurrence] = [
            Self(text) if sender == agent else Participant(participant, text)
            for sender, text, _ in turns
        ]
        if len({sender for sender, _, _ in turns}) > 2:
            stats.skipped[MANY_SPEAKERS] += 1
            continue
        trace = [
            "source: chitchat", f"conversation: {scalar(conv_id)}",
            f"prompt: {scalar(conv.get('prompt'))}", f"start: {scalar(conv.get('start'))}",
            "turns:",
            *(f"- {{speaker: {scalar(sender)}, timestamp: {scalar(stamps[0])}}}"
              for sender, _, stamps in turns),
        ]
        yield Thread("chitchat", conv_id, [o.to_mdl() for o in occs], "\n".join(trace), occs)
    if progress is not None:
        progress(stats)
