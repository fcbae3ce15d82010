"""What a run produced, as plain dataclasses that round-trip through dicts (the log
store keeps them as JSON), and the scores computed from them.

A case is one (variant, scenario, repeat). Its score is the weighted share of its
assertions that passed; a variant's suite score is the weighted (by scenario) mean of its
cases' scores: the weighted pass rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class Verdict:
    """One assertion's outcome. ``score`` is the judge's 1-5 (None for plain checks)."""

    name: str
    check: str
    passed: bool
    weight: float = 1.0
    turn: int | None = None  # None: on the whole conversation
    detail: str = ""
    score: float | None = None
    reasoning: str = ""  # the judge's words, kept as it wrote them


@dataclass(slots=True)
class TurnRecord:
    said: str  # the participant's line
    answer: str  # the agent's line
    raw: str = ""  # the model's text before repair
    latency_ms: float = 0.0
    tokens: int | None = None
    snapshot_id: str = ""  # the agent's answer snapshot
    participant_snapshot_id: str = ""


@dataclass(slots=True)
class CaseResult:
    variant: str
    scenario: str
    repeat: int
    moment_id: str = ""
    participant_moment_id: str = ""  # the simulated participant's own moment
    ended_by: str = ""  # script | stop_when | max_turns | error | cancelled
    turns: list[TurnRecord] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        """The weighted share of verdicts that passed (0 when it failed to run)."""
        if self.error and not self.verdicts:
            return 0.0
        total = sum(v.weight for v in self.verdicts)
        if total == 0:
            return 0.0 if self.error else 1.0
        return sum(v.weight for v in self.verdicts if v.passed) / total

    @property
    def passed(self) -> bool:
        return not self.error and all(v.passed for v in self.verdicts)

    @property
    def mean_latency_ms(self) -> float:
        return sum(t.latency_ms for t in self.turns) / len(self.turns) if self.turns else 0.0

    @property
    def tokens(self) -> int:
        return sum(t.tokens or 0 for t in self.turns)


@dataclass(slots=True)
class PairwiseResult:
    """A pairwise judge's view of two variants on one scenario and repeat, asked both
    ways round; ``winner`` is a variant only when both orders agree, else "tie"."""

    scenario: str
    repeat: int
    rubric: str
    a: str
    b: str
    first: str  # the judge's pick with a shown first: "a" | "b" | "tie"
    second: str  # with b shown first, mapped back to "a" | "b" | "tie"
    winner: str
    reasoning_first: str = ""
    reasoning_second: str = ""
    weight: float = 1.0


@dataclass(slots=True)
class VariantRun:
    name: str  # as the suite names it, e.g. cafebot-01
    kind: str
    agent_id: str
    variant: str
    config_version: int | None
    provider: str
    model: str


@dataclass(slots=True)
class RunRecord:
    run_id: str
    suite_name: str
    suite_hash: str
    suite_path: str = ""
    suite_yaml: str = ""
    created_at: str = ""
    finished_at: str = ""
    status: str = "running"  # running | done | cancelled | failed
    repeats: int = 1
    seed: int | None = None
    lanes: int = 1
    lanes_note: str = ""
    variants: list[VariantRun] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    pairwise: list[PairwiseResult] = field(default_factory=list)
    scenario_weights: dict[str, float] = field(default_factory=dict)
    preference_pairs: int = 0
    error: str = ""

    # --- scores -------------------------------------------------------------------------
    def cases_of(self, variant: str, scenario: str | None = None) -> list[CaseResult]:
        return [c for c in self.cases
                if c.variant == variant and (scenario is None or c.scenario == scenario)]

    def scenarios(self) -> list[str]:
        seen = dict.fromkeys(self.scenario_weights)
        for c in self.cases:
            seen.setdefault(c.scenario, None)
        return list(seen)

    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    def cell(self, variant: str, scenario: str) -> float | None:
        """The scenario's pass rate for the variant: mean case score over repeats."""
        cases = self.cases_of(variant, scenario)
        return sum(c.score for c in cases) / len(cases) if cases else None

    def score(self, variant: str) -> float | None:
        """The weighted pass rate of the variant over the suite's scenarios."""
        total = weighted = 0.0
        for scenario in self.scenarios():
            value = self.cell(variant, scenario)
            if value is None:
                continue
            w = self.scenario_weights.get(scenario, 1.0)
            total += w
            weighted += w * value
        return weighted / total if total else None

    def scores(self) -> dict[str, float | None]:
        return {v: self.score(v) for v in self.variant_names()}

    def config_version(self, variant: str) -> int | None:
        return next((v.config_version for v in self.variants if v.name == variant), None)

    # --- dict face ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scores"] = self.scores()  # for readers that do not rebuild the record
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        d = {k: v for k, v in data.items() if k in {f.name for f in fields(cls)}}
        d["variants"] = [VariantRun(**v) for v in d.get("variants", [])]
        d["pairwise"] = [PairwiseResult(**p) for p in d.get("pairwise", [])]
        d["cases"] = [
            CaseResult(**{
                **c,
                "turns": [TurnRecord(**t) for t in c.get("turns", [])],
                "verdicts": [Verdict(**v) for v in c.get("verdicts", [])],
            })
            for c in d.get("cases", [])
        ]
        return cls(**d)


@dataclass(slots=True)
class Change:
    variant: str
    scenario: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def label(self) -> str:
        d = self.delta
        if d is None:
            return "new" if self.before is None else "gone"
        return "better" if d > 1e-9 else "worse" if d < -1e-9 else "same"


def compare_runs(a: RunRecord, b: RunRecord) -> list[Change]:
    """Scenario by scenario, per variant found in either run: pass rate in a, then in b."""
    variants = list(dict.fromkeys([*a.variant_names(), *b.variant_names()]))
    scenarios = list(dict.fromkeys([*a.scenarios(), *b.scenarios()]))
    return [Change(v, s, a.cell(v, s), b.cell(v, s)) for v in variants for s in scenarios]
