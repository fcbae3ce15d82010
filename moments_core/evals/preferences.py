"""Preference data from a run: where one variant passes a scenario and another fails it
(or the pairwise judge prefers one), the two answers become a DPO pair.

The pair is stored the way a vote from the compare page is: a ``preference`` feedback
between the winner's and the loser's answer snapshots, its author ``eval:<run id>``. The
DPO export (``moments build-dataset ... --format dpo --source eval``) turns it into a row
whose prompt is the conversation up to the winner's answer. The answers paired are those
to the same participant line: in a script, the first line where the winner's answer
passed its checks and the loser's did not (else the last line); in a simulated
conversation, the first line, when both participants opened with the same words.
"""

from __future__ import annotations

from moments_core.store.base import Feedback, LogStore

from .results import CaseResult, RunRecord
from .suite import Suite


def _turn_to_pair(winner: CaseResult, loser: CaseResult, scripted: bool) -> int | None:
    n = min(len(winner.turns), len(loser.turns))
    if n == 0:
        return None
    if not scripted:
        return 0 if winner.turns[0].said == loser.turns[0].said else None
    for i in range(n):
        w_ok = all(v.passed for v in winner.verdicts if v.turn == i)
        l_ok = all(v.passed for v in loser.verdicts if v.turn == i)
        if w_ok and not l_ok:
            return i
    return n - 1


def preference_winners(record: RunRecord) -> list[tuple[CaseResult, CaseResult, str]]:
    """(winner, loser, why) for every scenario and repeat where the variants differ."""
    out: list[tuple[CaseResult, CaseResult, str]] = []
    by_key = {(c.variant, c.scenario, c.repeat): c for c in record.cases}
    names = record.variant_names()
    for scenario in record.scenarios():
        for r in range(record.repeats):
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    ca, cb = by_key.get((a, scenario, r)), by_key.get((b, scenario, r))
                    if ca is None or cb is None or ca.error or cb.error:
                        continue
                    picked = next((p.winner for p in record.pairwise
                                   if p.scenario == scenario and p.repeat == r
                                   and {p.a, p.b} == {a, b} and p.winner != "tie"), None)
                    if ca.passed != cb.passed:
                        w, lo = (ca, cb) if ca.passed else (cb, ca)
                        out.append((w, lo, "passed"))
                    elif picked is not None:
                        w, lo = (ca, cb) if picked == a else (cb, ca)
                        out.append((w, lo, "pairwise"))
    return out


def record_preferences(store: LogStore, record: RunRecord, suite: Suite) -> int:
    """Store a preference for each pair; the number stored."""
    count = 0
    for winner, loser, why in preference_winners(record):
        scripted = suite.scenario(winner.scenario).script is not None
        i = _turn_to_pair(winner, loser, scripted)
        if i is None:
            continue
        w, lo = winner.turns[i], loser.turns[i]
        if not w.snapshot_id or not lo.snapshot_id or w.answer == lo.answer:
            continue
        store.add_feedback(Feedback(
            snapshot_id=w.snapshot_id, kind="preference", value=w.snapshot_id,
            moment_id=winner.moment_id, other_snapshot_id=lo.snapshot_id,
            author=f"eval:{record.run_id}:{why}",
        ))
        count += 1
    return count
