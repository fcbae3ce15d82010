"""A variant's score across its config versions: did the last prompt edit help?"""

from __future__ import annotations

from dataclasses import dataclass

from moments_core.store.base import LogStore


@dataclass(frozen=True, slots=True)
class ScorePoint:
    config_version: int | None
    run_id: str
    created_at: str
    score: float


def score_history(store: LogStore, suite_name: str, variant: str) -> list[ScorePoint]:
    """Every finished run of the suite that ran the variant, oldest first."""
    points = []
    for run in store.list_eval_runs(suite_name):
        score = run.scores.get(variant)
        if run.status != "done" or score is None:
            continue
        points.append(ScorePoint(run.config_versions.get(variant), run.run_id,
                                 run.created_at, float(score)))
    points.sort(key=lambda p: (p.created_at, p.run_id))
    return points


def by_version(points: list[ScorePoint]) -> dict[int, float]:
    """The mean score per config version (runs without a version left out)."""
    sums: dict[int, list[float]] = {}
    for p in points:
        if p.config_version is not None:
            sums.setdefault(p.config_version, []).append(p.score)
    return {v: sum(s) / len(s) for v, s in sorted(sums.items())}
