"""``dpo`` (TRL) and ``openai-preference``: preference pairs from three sources.

(a) a ``Rejected`` line followed by the ``Self`` chosen in its place (regenerate),
(b) votes between two answers from the compare page (feedback ``preference``), and the
    pairs an evaluation run found (the same feedback, author ``eval:<run id>``),
(c) sibling answers to the same prompt where one got thumbs up and the other thumbs down.
Each pair is written once, however many branches share it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from moments_core.mdl import Occurrence, Rejected, Self
from moments_core.store.base import NotFound

from ..walk import Conversation, Split, TreeView
from .base import DatasetFormat, ExportContext, Row, chat, messages_dicts


@dataclass(slots=True)
class Pair:
    prompt: list[Occurrence]  # what came before the answer
    chosen: str
    rejected: str
    origin: str  # "rejected" | "vote" | "thumbs" | "eval"


def _last_self(occurrences: list[Occurrence]) -> tuple[int, Self] | None:
    for i in range(len(occurrences) - 1, -1, -1):
        occ = occurrences[i]
        if isinstance(occ, Self):
            return i, occ
    return None


def pairs_of(tree: TreeView, conversations: list[Conversation], ctx: ExportContext
             ) -> Iterator[Pair]:
    seen: set[tuple[str, str, int, str]] = set()

    def fresh(prompt: list[Occurrence], chosen: str, rejected: str) -> bool:
        """Each pair once, whichever sources found it (a regenerate that was also
        thumbed up and down is one pair, not two)."""
        key = (chosen, rejected, len(prompt), prompt[-1].to_mdl() if prompt else "")
        if key in seen:
            return False
        seen.add(key)
        return True

    # (a) Rejected then the chosen Self, along every exported path.
    for conv in conversations:
        occ = conv.occurrences
        for i, o in enumerate(occ):
            if not isinstance(o, Rejected):
                continue
            nxt = next((j for j in range(i + 1, len(occ)) if isinstance(occ[j], Self)), None)
            if nxt is None:
                continue
            chosen = occ[nxt]
            assert isinstance(chosen, Self)
            if fresh(occ[:i], chosen.says, o.says):
                yield Pair(occ[:i], chosen.says, o.says, "rejected")

    exported = {sid for c in conversations for sid in tree.path_ids(c.snapshot_id)}

    # (b) votes from the compare page, between this moment's answer and another's.
    for fb in tree.feedback:
        if fb.kind != "preference" or not fb.other_snapshot_id or fb.value in (None, "tie"):
            continue
        if fb.snapshot_id not in exported:
            continue
        winner = str(fb.value)
        loser = fb.other_snapshot_id if winner == fb.snapshot_id else fb.snapshot_id
        if winner not in (fb.snapshot_id, fb.other_snapshot_id):
            continue
        try:
            win_occ = (tree.occurrences(winner) if winner in tree.nodes
                       else ctx.store.get_snapshot(winner).moment.occurrences)
            lose_occ = (tree.occurrences(loser) if loser in tree.nodes
                        else ctx.store.get_snapshot(loser).moment.occurrences)
        except NotFound:
            continue
        w, lo = _last_self(win_occ), _last_self(lose_occ)
        if w is None or lo is None or w[1].says == lo[1].says:
            continue
        if fresh(win_occ[: w[0]], w[1].says, lo[1].says):
            # An evaluation run stores its pairs as votes by "eval:<run id>:<why>".
            origin = "eval" if fb.author.startswith("eval:") else "vote"
            yield Pair(win_occ[: w[0]], w[1].says, lo[1].says, origin)

    # (c) siblings: one answer thumbed up, another thumbed down, same parent.
    for sid in tree.order:
        kids = tree.nodes[sid].children
        if len(kids) < 2 or sid not in exported:
            continue
        ups: list[tuple[str, Self]] = []
        downs: list[tuple[str, Self]] = []
        for kid in kids:
            thumbs = tree.thumbs(kid)
            answer = _last_self(list(tree.nodes[kid].added))
            if thumbs is None or answer is None:
                continue
            (ups if thumbs > 0 else downs).append((kid, answer[1]))
        prompt = tree.occurrences(sid)
        for _, up in ups:
            for _, down in downs:
                if up.says != down.says and fresh(prompt, up.says, down.says):
                    yield Pair(prompt, up.says, down.says, "thumbs")


class _PreferenceFormat(DatasetFormat):
    """A row per preference pair (``pairs_of``); each format only lays the pair out."""

    preference = True

    def rows(
        self, tree: TreeView, conversations: list[Conversation], ctx: ExportContext
    ) -> Iterator[tuple[Split, Row]]:
        split = conversations[0].split if conversations else "train"
        for pair in pairs_of(tree, conversations, ctx):
            yield split, self.row(messages_dicts(chat(pair.prompt)),
                                  [{"role": "assistant", "content": pair.chosen}],
                                  [{"role": "assistant", "content": pair.rejected}])

    def row(self, prompt: list[dict[str, str]], chosen: list[dict[str, str]],
            rejected: list[dict[str, str]]) -> Row:
        raise NotImplementedError


class Dpo(_PreferenceFormat):
    name = "dpo"
    description = "TRL preference rows: prompt (messages), chosen, rejected"
    suffixes = (".jsonl", ".parquet")
    parquet = True

    def row(self, prompt: list[dict[str, str]], chosen: list[dict[str, str]],
            rejected: list[dict[str, str]]) -> Row:
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


class OpenAIPreference(_PreferenceFormat):
    name = "openai-preference"
    description = "OpenAI preference fine-tuning JSONL: input, preferred/non-preferred output"

    def row(self, prompt: list[dict[str, str]], chosen: list[dict[str, str]],
            rejected: list[dict[str, str]]) -> Row:
        return {"input": {"messages": prompt}, "preferred_output": chosen,
                "non_preferred_output": rejected}

Split_ = Split  # re-exported name for type checkers of callers
