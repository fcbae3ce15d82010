"""Judged checks: a rubric scored 1-5 (or pass/fail) by a judge model, and the pairwise
judge that compares two variants' conversations, asked both ways round.

The judge is any provider (the local model by default). It is asked for a short verdict
in a fixed shape (``SCORE: 4`` / ``VERDICT: PASS`` / ``WINNER: A`` and ``REASON: ...``);
what it writes is stored as its reasoning, whatever it is. An answer that cannot be read
fails the check and says so, rather than guessing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from moments_core.providers import GenerationParams, Message, Prompt, Provider, ProviderError

from .results import PairwiseResult, TurnRecord, Verdict
from .suite import STAYS_IN_ROLE_RUBRIC, Assertion

_SCORE = re.compile(r"\bscore\s*[:=]?\s*\**\s*([1-5])\b", re.IGNORECASE)
_DIGIT = re.compile(r"\b([1-5])\s*(?:/\s*5|out of 5)?\b")
_VERDICT = re.compile(r"\b(pass|fail)(?:ed|es|s)?\b", re.IGNORECASE)
_WINNER = re.compile(r"\bwinner\s*[:=]?\s*\**\s*(A|B|tie)\b", re.IGNORECASE)
_LONE = re.compile(r"(?:^|\n)\s*\**\s*(A|B|TIE)\s*\**\s*(?:$|\n|[.:])", re.IGNORECASE)
_REASON = re.compile(r"\breason(?:ing)?\s*[:=]\s*(.+)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class JudgeModel:
    provider: Provider
    params: GenerationParams
    label: str  # provider/model, stored with the verdicts
    # A local model is one llama.cpp context: calls from lanes wait their turn.
    serial: bool = False


def transcript(turns: Sequence[TurnRecord], participant: str = "Customer",
               agent: str = "Agent") -> str:
    lines: list[str] = []
    for t in turns:
        if t.said:
            lines.append(f"{participant}: {t.said}")
        lines.append(f"{agent}: {t.answer}")
    return "\n".join(lines)


def _ask(judge: JudgeModel, system: str, user: str, lock: threading.Lock | None) -> str:
    prompt = Prompt("chat", messages=(Message("system", system), Message("user", user)))
    if lock is not None and judge.serial:
        with lock:
            return judge.provider.complete(prompt, judge.params).strip()
    return judge.provider.complete(prompt, judge.params).strip()


def reason_of(text: str) -> str:
    m = _REASON.search(text)
    return (m.group(1) if m else text).strip()


def read_score(text: str) -> int | None:
    m = _SCORE.search(text) or _DIGIT.search(text)
    return int(m.group(1)) if m else None


def read_pass(text: str) -> bool | None:
    m = _VERDICT.search(text)
    return None if m is None else m.group(1).lower() == "pass"


def read_winner(text: str) -> str | None:
    m = _WINNER.search(text) or _LONE.search(text)
    return None if m is None else m.group(1).lower()


def judge_rubric(a: Assertion, judge: JudgeModel, turns: Sequence[TurnRecord],
                 instructions: str, turn: int | None = None,
                 lock: threading.Lock | None = None, participant: str = "Customer") -> Verdict:
    """Score the conversation (or one answer, ``turn``) against the assertion's rubric."""
    rubric = STAYS_IN_ROLE_RUBRIC if a.check == "stays_in_role" else (a.judge or "")
    shown = turns if turn is None else turns[: turn + 1]
    focus = ("the agent's last answer" if turn is not None else "the agent's answers")
    if a.scale == "pass_fail":
        shape = "Reply with two lines:\nVERDICT: PASS or FAIL\nREASON: one short sentence"
    else:
        shape = ("Reply with two lines:\nSCORE: a number from 1 (not at all) to 5 (fully)\n"
                 "REASON: one short sentence")
    system = "You grade a customer-service agent's conversation against a rubric. " + shape
    user = (f"The agent's instructions:\n{instructions.strip()}\n\nConversation:\n"
            f"{transcript(shown, participant)}\n\nRubric for {focus}: {rubric}\n\n{shape}")
    try:
        text = _ask(judge, system, user, lock)
    except ProviderError as err:
        return Verdict(a.label, a.check, False, a.weight, turn,
                       f"the judge ({judge.label}) failed: {err}")
    if a.scale == "pass_fail":
        verdict = read_pass(text)
        if verdict is None:
            return Verdict(a.label, a.check, False, a.weight, turn,
                           "the judge's answer has no PASS or FAIL", None, text)
        return Verdict(a.label, a.check, verdict, a.weight, turn,
                       f"judge: {'PASS' if verdict else 'FAIL'} ({judge.label})",
                       None, reason_of(text))
    score = read_score(text)
    if score is None:
        return Verdict(a.label, a.check, False, a.weight, turn,
                       "the judge's answer has no score from 1 to 5", None, text)
    return Verdict(a.label, a.check, score >= a.pass_at, a.weight, turn,
                   f"judge: {score}/5, passes at {a.pass_at} ({judge.label})",
                   float(score), reason_of(text))


def _pick(judge: JudgeModel, rubric: str, first: Sequence[TurnRecord],
          second: Sequence[TurnRecord], lock: threading.Lock | None) -> tuple[str, str]:
    shape = "Reply with two lines:\nWINNER: A, B or TIE\nREASON: one short sentence"
    system = "You compare two conversations of customer-service agents. " + shape
    user = (f"Conversation A:\n{transcript(first)}\n\nConversation B:\n"
            f"{transcript(second)}\n\nWhich agent does better on this: {rubric}\n\n{shape}")
    try:
        text = _ask(judge, system, user, lock)
    except ProviderError as err:
        return "tie", f"the judge ({judge.label}) failed: {err}"
    return read_winner(text) or "tie", reason_of(text)


def judge_pairwise(scenario: str, repeat: int, a: Assertion, judge: JudgeModel,
                   name_a: str, turns_a: Sequence[TurnRecord],
                   name_b: str, turns_b: Sequence[TurnRecord],
                   lock: threading.Lock | None = None) -> PairwiseResult:
    """Both orders, to remove the judge's position bias: a variant wins only when the
    judge picks it whether it is shown first or second."""
    rubric = a.pairwise or ""
    first, why_first = _pick(judge, rubric, turns_a, turns_b, lock)
    flipped, why_second = _pick(judge, rubric, turns_b, turns_a, lock)
    second = {"a": "b", "b": "a"}.get(flipped, "tie")
    winner = "tie"
    if first == second == "a":
        winner = name_a
    elif first == second == "b":
        winner = name_b
    return PairwiseResult(scenario, repeat, rubric, name_a, name_b, first, second, winner,
                          why_first, why_second, a.weight)


def pairwise_verdict(a: Assertion, variant: str, results: Sequence[PairwiseResult]
                     ) -> Verdict | None:
    """The pairwise check for one variant: passes when no other variant beat it."""
    mine = [r for r in results if variant in (r.a, r.b) and r.rubric == (a.pairwise or "")]
    if not mine:
        return None  # one variant alone: nothing to compare, not counted
    lost = [r for r in mine if r.winner not in ("tie", variant)]
    won = [r for r in mine if r.winner == variant]
    detail = f"won {len(won)}, lost {len(lost)}, tied {len(mine) - len(won) - len(lost)}"
    reasons = " | ".join(x for r in mine for x in (r.reasoning_first, r.reasoning_second) if x)
    return Verdict(a.label, "pairwise", not lost, a.weight, None, detail, None, reasons)
