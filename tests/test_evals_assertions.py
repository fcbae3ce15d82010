"""Each assertion passes on one scripted answer and fails on another (instant provider),
through the whole runner: suite text in, verdicts out of the run record."""

from __future__ import annotations

import time

import pytest

from .evals_fixtures import EvalEnv, Reply, eval_env  # noqa: F401

SUITE = """\
name: one-check
variants: [bot-good, bot-bad]
scenarios:
  - name: check
    script:
{lines}
    assert:
{checks}
"""


def _slow(text: str, seconds: float) -> Reply:
    def reply(_: str) -> str:
        time.sleep(seconds)
        return text
    return reply


ACTION = 'Self: "Done."\nAction: ```submit_order: {customer: Sam, items: [latte]}```'
# (id, conversation-level assertion YAML, good answer, bad answer)
CASES: list[tuple[str, str, Reply, Reply]] = [
    ("contains", "- contains: Latte", "One Latte coming up.", "One latte coming up."),
    ("icontains", "- icontains: [sam, name]", "Thanks SAM!", "Thanks!"),
    ("not_contains", "- not_contains: ['$']", "It's on the house.", "That is $4."),
    ("regex", "- regex: '(?i)what size'", "What size would you like?", "Sure."),
    ("max_chars", "- max_chars: 20", "Sure!", "Sure! " * 10),
    ("max_latency_ms", "- max_latency_ms: 300", "Quick.", _slow("Slow.", 0.6)),
    ("no_repeat", "- no_repeat: true", lambda said: f"Noted: {said}", "Same answer."),
    ("occurrence", "- occurrence: Action\n        key: submit_order", ACTION, "Done."),
]


@pytest.mark.parametrize(("check", "yaml_check", "good", "bad"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_assertion_passes_and_fails(eval_env: EvalEnv, check: str, yaml_check: str,  # noqa: F811
                                         good: Reply, bad: Reply) -> None:
    suite = SUITE.format(lines="      - Hi\n      - A latte please",
                         checks="      " + yaml_check)
    rec = eval_env.run(suite, {"good": good, "bad": bad})
    verdicts = {c.variant: c.verdicts for c in rec.cases}
    [g] = verdicts["bot-good"]
    [b] = verdicts["bot-bad"]
    assert g.check == check == b.check
    assert g.passed, g.detail
    assert not b.passed and b.detail  # says why
    assert rec.scores() == {"bot-good": 1.0, "bot-bad": 0.0}


def test_per_line_assertions_look_at_that_answer_only(eval_env: EvalEnv) -> None:  # noqa: F811
    suite = """\
name: per-line
variants: [bot-a]
scenarios:
  - name: two lines
    script:
      - say: Hi
        assert: [{icontains: welcome}]
      - say: A latte
        assert: [{icontains: latte}, {icontains: welcome, weight: 3}]
"""
    rec = eval_env.run(suite, {"a": lambda said: "Welcome!" if said == "Hi" else "A latte."})
    [case] = rec.cases
    assert [(v.turn, v.passed) for v in case.verdicts] == [(0, True), (1, True), (1, False)]
    assert case.score == pytest.approx(2 / 5)  # weights 1 + 1 passed of 1 + 1 + 3
    assert not case.passed


def test_scope_any_all_last(eval_env: EvalEnv) -> None:  # noqa: F811
    suite = """\
name: scopes
variants: [bot-a]
scenarios:
  - name: s
    script: [one, two, three]
    assert:
      - {icontains: "answer two"}
      - {icontains: answer, scope: all}
      - {icontains: "answer two", scope: last}
      - {not_contains: "answer three"}
"""
    rec = eval_env.run(suite, {"a": lambda said: f"answer {said}"})
    assert [v.passed for v in rec.cases[0].verdicts] == [True, True, False, False]
    assert "answer 3" in rec.cases[0].verdicts[3].detail


def test_scenario_weights_make_the_weighted_pass_rate(eval_env: EvalEnv) -> None:  # noqa: F811
    suite = """\
name: weights
variants: [bot-a]
scenarios:
  - name: heavy
    weight: 3
    script: [Hi]
    assert: [{icontains: hello}]
  - name: light
    script: [Hi]
    assert: [{icontains: nope}]
"""
    rec = eval_env.run(suite, {"a": "Hello!"})
    assert rec.cell("bot-a", "heavy") == 1.0 and rec.cell("bot-a", "light") == 0.0
    assert rec.score("bot-a") == pytest.approx(0.75)
