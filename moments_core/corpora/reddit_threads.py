"""Reddit reply trees -> threads: every root-to-leaf path of a post's tree is one moment.

Roles along a path follow the older generator: the post's author is ``User (name)``, the
first other person on the path is ``Self`` (the agent), anyone else is a participant under
their own name; later turns of the author or of that first responder keep their roles.
A node's role depends only on the path above it, so each utterance's MDL line is written
once, however many threads pass through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from moments_core.mdl.quoting import quote_says

from .convokit import DELETED, Utterance
from .names import NAME_CACHE, participant_identifier, participant_name
from .stats import ConversionStats
from .thread import Thread
from .yamltext import flow, scalar


@dataclass(frozen=True, slots=True)
class ThreadOptions:
    min_score: int | None = None  # every utterance on the path must score at least this
    min_turns: int | None = None  # None: the source's default (Reddit 2, chitchat 1)
    max_turns: int | None = None
    subreddits: frozenset[str] = frozenset()  # empty: every subreddit (compared lower-case)


# Why a path was skipped; the names appear in the counts the CLI and page show.
DELETED_REASON = "deleted or removed"
EMPTY = "empty text"
LOW_SCORE = "low score"
MISSING_PARENT = "missing parent"
TOO_SHORT = "too few turns"
TOO_LONG = "too many turns"
NO_AGENT = "no second person"
SUBREDDIT = "other subreddit"
# Ids that need no JSON escaping (Reddit's are base 36).
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+").fullmatch
# A Reddit path needs the post and at least one answer to teach the agent anything.
REDDIT_MIN_TURNS = 2


def _problem(u: Utterance, min_score: int | None) -> str | None:
    if u.speaker in DELETED:
        return DELETED_REASON
    text = u.text.strip()
    if not text:
        return EMPTY
    if text in DELETED:
        return DELETED_REASON
    if min_score is not None and isinstance(u.meta.score, int | float) and u.meta.score < min_score:
        return LOW_SCORE
    return None


def _subreddit(u: Utterance) -> str:
    sub = u.meta.subreddit
    return sub if isinstance(sub, str) else ""


def _leaves(start: Utterance, children: dict[str, list[Utterance]]) -> int:
    count = 0
    stack = [start]
    while stack:
        u = stack.pop()
        kids = children.get(u.id)
        if kids:
            stack.extend(kids)
        else:
            count += 1
    return count


def conversation_threads(
    utterances: list[Utterance], options: ThreadOptions, stats: ConversionStats
) -> Iterator[Thread]:
    """The threads of one conversation, depth first, replies in file order."""
    by_id: dict[str, Utterance] = {}
    for u in utterances:
        by_id.setdefault(u.id, u)  # a repeated id keeps its first line
    children: dict[str, list[Utterance]] = {}
    roots: list[Utterance] = []
    orphans: list[Utterance] = []
    for u in by_id.values():
        if u.reply_to is None:
            roots.append(u)
        elif u.reply_to in by_id and u.reply_to != u.id:
            children.setdefault(u.reply_to, []).append(u)
        else:
            orphans.append(u)
    for u in orphans:  # a reply whose parent is not in the file starts no thread
        stats.skipped[MISSING_PARENT] += _leaves(u, children)
    if options.subreddits:
        kept: list[Utterance] = []
        for root in roots:
            if _subreddit(root).lower() in options.subreddits:
                kept.append(root)
            else:
                stats.skipped[SUBREDDIT] += _leaves(root, children)
        roots = kept
    for root in roots:
        yield from _root_threads(root, children, options, stats)


def _root_threads(
    root: Utterance, children: dict[str, list[Utterance]], options: ThreadOptions,
    stats: ConversionStats,
) -> Iterator[Thread]:
    author = root.speaker
    # Each line is what Participant(...).to_mdl() / Self(...).to_mdl() write; names come
    # from names.py, which checks them against the real Participant once per name.
    author_head = f"User ({participant_identifier(author)}): "
    head = (
        f"source: reddit\nconversation: {scalar(root.conversation_id)}\n"
        f"subreddit: {scalar(_subreddit(root))}\nutterances:\n"
    )
    min_score, max_turns = options.min_score, options.max_turns
    min_turns = REDDIT_MIN_TURNS if options.min_turns is None else options.min_turns
    # Depth first; each entry: an utterance, then the path's MDL lines and trace lines
    # down to its parent, and the Self speaker so far ("" before the first responder).
    stack: list[tuple[Utterance, list[str], list[str], str]] = [(root, [], [], "")]
    pop, push = stack.pop, stack.append
    names, safe_id = NAME_CACHE, _SAFE_ID
    deleted = DELETED
    while stack:
        u, texts, refs, agent = pop()
        speaker, text = u.speaker, u.text
        # _problem, inlined: this loop runs once per utterance.
        stripped = text.strip()
        if (speaker in deleted or not stripped or stripped in deleted or (
                min_score is not None and isinstance(u.meta.score, int | float)
                and u.meta.score < min_score)):
            stats.skipped[_problem(u, min_score) or EMPTY] += _leaves(u, children)
            continue
        # quote_says, inlined for the common text without quotes, backslashes or newlines.
        quoted = (quote_says(text) if '"' in text or "\\" in text or "\n" in text
                  else f'"{text}"')
        if speaker == author:
            line = author_head + quoted
        elif not agent or speaker == agent:
            agent = speaker
            line = "Self: " + quoted
        else:
            line = (names.get(speaker) or participant_name(speaker)) + ": " + quoted
        texts = [*texts, line]
        score, ts, uid = u.meta.score, u.timestamp, u.id
        if type(score) is int and type(ts) is int and (
            (uid.isascii() and uid.isalnum()) or safe_id(uid)
        ):
            # The usual case, formatted directly: the same text flow() writes, 4x faster.
            refs = [*refs, f'- {{"id":"{uid}","score":{score},"timestamp":{ts}}}']
        else:
            refs = [*refs, "- " + flow({"id": uid, "score": score, "timestamp": ts})]
        kids = children.get(u.id)
        if kids:
            # Reversed so that the first reply's threads come out first.
            for k in reversed(kids):
                push((k, texts, refs, agent))
            continue
        turns = len(texts)
        if turns < min_turns:
            stats.skipped[TOO_SHORT] += 1
        elif max_turns is not None and turns > max_turns:
            stats.skipped[TOO_LONG] += 1
        elif not agent:
            stats.skipped[NO_AGENT] += 1
        else:
            yield Thread("reddit", f"{root.conversation_id}/{u.id}", texts,
                         head + "\n".join(refs))
