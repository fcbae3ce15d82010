"""Evaluations: suites of scripted and simulated conversations run against agent
variants, scored by plain checks and judges, logged as moments, kept as run records.

    suite, text = load_suite("evals/cafebot.yaml")
    record = EvalRunner(suite, store, suite_text=text).run()
    record.scores()          # variant -> weighted pass rate
"""

from .results import CaseResult, Change, RunRecord, TurnRecord, Verdict, compare_runs
from .runner import EvalRunner, run_suite
from .suite import Assertion, Scenario, Suite, SuiteError, load_suite, parse_suite, suite_hash

__all__ = [
    "Assertion", "CaseResult", "Change", "EvalRunner", "RunRecord", "Scenario", "Suite",
    "SuiteError", "TurnRecord", "Verdict", "compare_runs", "load_suite", "parse_suite",
    "run_suite", "suite_hash",
]
