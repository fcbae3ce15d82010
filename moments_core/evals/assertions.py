"""The plain checks: text, length, latency, repeats and MDL occurrences.

A check written on a script line looks at the agent's answer to that line. Written on the
whole conversation it looks at every answer: ``contains``/``icontains``/``regex`` pass when
any answer matches, ``not_contains``/``max_chars``/``max_latency_ms`` when all do (``scope``
overrides: any / all / last). Judged checks live in ``judge.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from moments_core.mdl import MDLSyntaxError, Occurrence, YamlOccurrence, parse_occurrences

from .results import TurnRecord, Verdict
from .suite import DEFAULT_SCOPE, Assertion


def _texts(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _one(a: Assertion, answer: str, latency_ms: float) -> tuple[bool, str]:
    """Whether one answer passes a plain check, and why not."""
    check = a.check
    if check == "contains":
        hit = [t for t in _texts(a.contains or []) if t in answer]
        return bool(hit), "" if hit else f"none of {_texts(a.contains or [])} in the answer"
    if check == "icontains":
        low = answer.casefold()
        hit = [t for t in _texts(a.icontains or []) if t.casefold() in low]
        return bool(hit), "" if hit else f"none of {_texts(a.icontains or [])} in the answer"
    if check == "not_contains":
        low = answer.casefold()
        bad = [t for t in _texts(a.not_contains or []) if t.casefold() in low]
        return not bad, f"the answer has {bad[0]!r}" if bad else ""
    if check == "regex":
        ok = re.search(a.regex or "", answer) is not None
        return ok, "" if ok else f"no match for /{a.regex}/"
    if check == "max_chars":
        limit = a.max_chars or 0
        return len(answer) <= limit, (f"{len(answer)} characters > {limit}"
                                      if len(answer) > limit else "")
    if check == "max_latency_ms":
        ms = a.max_latency_ms or 0.0
        return latency_ms <= ms, (f"{latency_ms:.0f} ms > {ms:.0f} ms"
                                  if latency_ms > ms else "")
    raise ValueError(f"{check} is not a per-answer check")


def _normal(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .!?")


def no_repeat(turns: Sequence[TurnRecord]) -> tuple[bool, str]:
    seen: dict[str, int] = {}
    for i, t in enumerate(turns):
        key = _normal(t.answer)
        if key in seen:
            return False, f"answer {i + 1} repeats answer {seen[key] + 1}: {t.answer[:60]!r}"
        seen[key] = i
    return True, ""


def _raw_occurrences(raw: str) -> list[Occurrence]:
    """MDL lines the model wrote besides its own line (an Action, an Identification):
    each line is read on its own, and what does not parse is left out."""
    found: list[Occurrence] = []
    try:
        return parse_occurrences(raw)
    except MDLSyntaxError:
        pass
    for line in raw.splitlines():
        try:
            found.extend(parse_occurrences(line))
        except MDLSyntaxError:
            continue
    return found


def has_occurrence(a: Assertion, occurrences: Sequence[Occurrence],
                   turns: Sequence[TurnRecord]) -> tuple[bool, str]:
    """An occurrence of the kind (with ``key`` in its YAML value) in the moment after its
    init, or written by the model in an answer's raw text. Nothing in it is executed."""
    pool = [*occurrences, *(o for t in turns for o in _raw_occurrences(t.raw))]
    for o in pool:
        if o.kind != a.occurrence:
            continue
        if not a.key:
            return True, ""
        if isinstance(o, YamlOccurrence) and isinstance(o.value, dict) and a.key in o.value:
            return True, ""
    return False, f"no {a.occurrence}{' with ' + a.key if a.key else ''} in the conversation"


def check_turn(a: Assertion, turn: TurnRecord, index: int) -> Verdict:
    ok, detail = _one(a, turn.answer, turn.latency_ms)
    return Verdict(a.label, a.check, ok, a.weight, index, detail)


def check_conversation(a: Assertion, turns: Sequence[TurnRecord],
                       occurrences: Sequence[Occurrence]) -> Verdict:
    """A plain check on the whole conversation (judged ones are done by the judge)."""
    if a.check == "no_repeat":
        ok, detail = no_repeat(turns)
        return Verdict(a.label, a.check, ok, a.weight, None, detail)
    if a.check == "occurrence":
        ok, detail = has_occurrence(a, occurrences, turns)
        return Verdict(a.label, a.check, ok, a.weight, None, detail)
    if not turns:
        return Verdict(a.label, a.check, False, a.weight, None, "the agent gave no answer")
    scope = a.scope or DEFAULT_SCOPE[a.check]
    pool = [turns[-1]] if scope == "last" else list(turns)
    results = [(i, *_one(a, t.answer, t.latency_ms)) for i, t in enumerate(pool)]
    if scope == "any":
        ok = any(r[1] for r in results)
        detail = "" if ok else f"no answer passes ({results[-1][2]})"
    else:
        failed = [r for r in results if not r[1]]
        ok = not failed
        turn_no = failed[0][0] + 1 if scope == "all" and failed else len(turns)
        detail = "" if ok else f"answer {turn_no}: {failed[0][2]}"
    return Verdict(a.label, a.check, ok, a.weight, None, detail)


def stop_reached(a: Assertion, text: str, latency_ms: float = 0.0) -> bool:
    """Whether ``stop_when`` holds for the latest line (a plain check)."""
    if a.check == "occurrence":
        return any(o.kind == a.occurrence for o in _raw_occurrences(text))
    return _one(a, text, latency_ms)[0]
