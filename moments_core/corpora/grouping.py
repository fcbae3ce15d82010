"""Utterances grouped by conversation, without holding the corpus in memory.

ConvoKit's Reddit corpora are written grouped (each post, then its comments), so one pass
that yields a group whenever the conversation id changes is enough. Whether a file is
grouped is checked first with a cheap byte-level scan of the conversation ids (no JSON
decoding); a file that is not grouped goes through an on-disk SQLite index instead, so
memory stays bounded either way.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import msgspec

from .convokit import (
    BlankLine,
    ConvoKitCorpus,
    Meta,
    OlderLine,
    Utterance,
    decode_current,
    decode_older,
    parse_line,
)
from .stats import ConversionStats

# The conversation id key of either generation. ConvoKit writes it before ``text`` and
# ``meta``, and a quote inside a text is escaped (\"), so the first match is the real key.
_CONV_KEY = re.compile(rb'"(?:conversation_id|root)"\s*:\s*"((?:[^"\\]|\\.)*)"')
_INDEX_BATCH = 5000


def is_grouped(lines: Iterable[tuple[int, bytes]]) -> bool:
    """True when no conversation id comes back after another conversation started."""
    closed: set[bytes] = set()
    current: bytes | None = None
    search = _CONV_KEY.search
    for _, line in lines:
        m = search(line)
        if m is None:
            try:  # unusual spacing or key order: decode this one line properly
                conv = parse_line(line).conversation_id.encode()
            except ValueError:
                continue  # a bad line; the main pass reports it
        else:
            conv = m.group(1)
        if conv != current:
            if conv in closed:
                return False
            if current is not None:
                closed.add(current)
            current = conv
    return True


def _parsed(lines: Iterable[tuple[int, bytes]], stats: ConversionStats) -> Iterator[Utterance]:
    for number, line in lines:
        stats.bytes_read += len(line)
        try:
            utt = parse_line(line)
        except BlankLine:
            continue
        except ValueError as err:
            stats.bad_line(number, str(err))
            continue
        stats.utterances_read += 1
        yield utt


class NotGrouped(RuntimeError):
    """A conversation came back after another had started: the file is not grouped."""


def grouped_conversations(
    lines: Iterable[tuple[int, bytes]], stats: ConversionStats
) -> Iterator[list[Utterance]]:
    """One pass over a grouped file: a group ends where the conversation id changes.

    Raises NotGrouped when that turns out to be wrong; what was yielded before is then
    incomplete, so callers that cannot discard their output check first (``is_grouped``).
    """
    group: list[Utterance] = []
    current = ""
    closed: set[str] = set()
    n_read = n_bytes = 0
    decode: Callable[[bytes], Utterance] = decode_current
    utt: Utterance
    # _parsed inlined: this loop runs once per utterance and a generator layer costs.
    for number, line in lines:
        n_bytes += len(line)
        try:
            # The common case inlined: a well-formed line of the generation seen last;
            # parse_line handles everything else (and says what is wrong).
            utt = decode(line)
            if utt.reply_to is None and decode is decode_current and b'"reply_to"' in line:
                utt = parse_line(line)
        except msgspec.DecodeError:  # ValidationError is one too
            try:
                utt = parse_line(line, prefer_older=decode is decode_older)
                decode = decode_older if isinstance(utt, OlderLine) else decode_current
            except BlankLine:
                continue
            except ValueError as err:
                stats.bad_line(number, str(err))
                continue
        except ValueError as err:
            stats.bad_line(number, str(err))
            continue
        n_read += 1
        if utt.conversation_id != current:
            if group:
                stats.utterances_read += n_read - 1
                stats.bytes_read += n_bytes
                n_read, n_bytes = 1, 0
                yield group
            if utt.conversation_id in closed:
                raise NotGrouped(
                    f"conversation {utt.conversation_id} continues after another started"
                )
            closed.add(current)
            group = []
            current = utt.conversation_id
        group.append(utt)
    stats.utterances_read += n_read
    stats.bytes_read += n_bytes
    if group:
        yield group


def indexed_conversations(
    lines: Iterable[tuple[int, bytes]], stats: ConversionStats, workdir: str | None = None
) -> Iterator[list[Utterance]]:
    """Any order: the utterances go to a SQLite file first, then come back conversation by
    conversation, in order of each conversation's first line."""
    with tempfile.TemporaryDirectory(prefix="moments-corpus-", dir=workdir) as tmp:
        db = sqlite3.connect(Path(tmp) / "index.db")
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE conv (conv TEXT PRIMARY KEY, first INTEGER)")
            db.execute(
                "CREATE TABLE utt (seq INTEGER PRIMARY KEY, conv TEXT, id TEXT, speaker TEXT,"
                " reply_to TEXT, ts, text TEXT, score, subreddit TEXT)"
            )
            rows: list[tuple[object, ...]] = []
            for seq, u in enumerate(_parsed(lines, stats)):
                ts = u.timestamp if isinstance(u.timestamp, int | float | str) else None
                score = u.meta.score
                score = score if isinstance(score, int | float | str) else None
                sub = u.meta.subreddit
                rows.append((seq, u.conversation_id, u.id, u.speaker, u.reply_to, ts, u.text,
                             score, sub if isinstance(sub, str) else None))
                if len(rows) >= _INDEX_BATCH:
                    _flush(db, rows)
            _flush(db, rows)
            db.execute("CREATE INDEX utt_conv ON utt (conv, seq)")
            db.execute("CREATE INDEX conv_first ON conv (first)")
            cursor = db.execute(
                "SELECT u.conv, u.id, u.speaker, u.reply_to, u.ts, u.text, u.score, u.subreddit"
                " FROM conv c JOIN utt u ON u.conv = c.conv ORDER BY c.first, u.seq"
            )
            group: list[Utterance] = []
            current = None
            for conv, uid, speaker, reply_to, ts, text, score, subreddit in cursor:
                if conv != current:
                    if group:
                        yield group
                    group = []
                    current = conv
                group.append(Utterance(uid, speaker, conv, text, reply_to, ts,
                                       Meta(score, subreddit)))
            if group:
                yield group
        finally:
            db.close()


def _flush(db: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    if not rows:
        return
    with db:
        db.executemany("INSERT OR IGNORE INTO conv VALUES (?, ?)", [(r[1], r[0]) for r in rows])
        db.executemany("INSERT INTO utt VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    rows.clear()


def corpus_conversations(
    corpus: ConvoKitCorpus, stats: ConversionStats, *, grouped: bool | None = None,
    workdir: str | None = None,
) -> Iterator[list[Utterance]]:
    """Conversations of a corpus. ``grouped``: None checks the file first (a scan without
    JSON decoding); True reads in one pass and raises NotGrouped if the file is not
    grouped after all; False goes through the on-disk index."""
    stats.bytes_total = corpus.size("utterances.jsonl")
    if grouped is None:
        grouped = is_grouped(corpus.utterance_lines())
    stats.grouped = grouped
    if grouped:
        yield from grouped_conversations(corpus.utterance_lines(), stats)
    else:
        yield from indexed_conversations(corpus.utterance_lines(), stats, workdir)
