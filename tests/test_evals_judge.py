"""Judges: a rubric (1-5 and pass/fail) and the pairwise judge, against a local HTTP server
speaking OpenAI's wire format with fixed verdicts; and once with the real local model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from moments_core.evals.judge import read_score, read_winner

from .evals_fixtures import EvalEnv, WireServer, eval_env, start_wire_server, user_text  # noqa: F401


@pytest.fixture
def judge_server() -> Iterator[WireServer]:
    verdicts: dict[str, str] = {}

    def answer(body: dict[str, Any]) -> str:
        text = user_text(body)
        if "Conversation A:" in text:
            # Prefers whichever conversation has the word "please" in the agent's line,
            # wherever it is shown: a judge without position bias.
            a, b = text.split("Conversation B:", 1)
            return ("WINNER: A\nREASON: A is politer." if "Agent: Please" in a
                    else "WINNER: B\nREASON: B is politer." if "Agent: Please" in b
                    else "WINNER: TIE\nREASON: same.")
        for marker, verdict in verdicts.items():
            if marker in text:
                return verdict
        return "no idea"

    server, stop = start_wire_server(answer)
    server.verdicts = verdicts  # type: ignore[attr-defined]
    yield server
    stop()


def _suite(server: WireServer, checks: str, variants: str = "[bot-a]") -> str:
    return f"""\
name: judged
variants: {variants}
judge: {{provider: openai, model: judge-test, base_url: "{server.base_url}"}}
scenarios:
  - name: s
    script: [A latte please]
    assert:
{checks}
"""


def test_rubric_score_and_reasoning_are_stored(eval_env: EvalEnv,  # noqa: F811
                                               judge_server: WireServer) -> None:
    judge_server.verdicts.update({  # type: ignore[attr-defined]
        "Rubric for the agent's answers: polite": "SCORE: 5\nREASON: warm and clear.",
        "Rubric for the agent's answers: short": "SCORE: 2\nREASON: rambles.",
        "Rubric for the agent's answers: unreadable": "I cannot decide.",
    })
    checks = ("      - judge: polite\n      - judge: short\n"
              "      - judge: unreadable\n      - judge: friendly\n        scale: pass_fail")
    judge_server.verdicts["answers: friendly"] = "VERDICT: FAIL\nREASON: curt."  # type: ignore[attr-defined]
    rec = eval_env.run(_suite(judge_server, checks), {"a": "Sure."})
    polite, short, unreadable, pf = rec.cases[0].verdicts
    assert (polite.passed, polite.score, polite.reasoning) == (True, 5.0, "warm and clear.")
    assert (short.passed, short.score, short.reasoning) == (False, 2.0, "rambles.")
    assert not unreadable.passed and "no score" in unreadable.detail
    assert unreadable.reasoning == "I cannot decide."  # kept as the judge wrote it
    assert (pf.passed, pf.reasoning) == (False, "curt.")
    # The request carried the conversation and the agent's instructions.
    sent = user_text(judge_server.seen[0])
    assert "Customer: A latte please\nAgent: Sure." in sent and "test cafe" in sent
    stored = eval_env.store.get_eval_run(rec.run_id)["cases"][0]["verdicts"][0]
    assert stored["reasoning"] == "warm and clear." and stored["score"] == 5.0


def test_pairwise_asks_both_orders_and_keeps_only_agreement(
        eval_env: EvalEnv, judge_server: WireServer) -> None:  # noqa: F811
    checks = "      - pairwise: which agent is politer"
    rec = eval_env.run(_suite(judge_server, checks, "[bot-polite, bot-curt]"),
                       {"polite": "Please enjoy your latte.", "curt": "Latte."})
    [p] = rec.pairwise
    assert (p.first, p.second, p.winner) == ("a", "a", "bot-polite")
    asked = [user_text(b) for b in judge_server.seen if "Conversation A:" in user_text(b)]
    assert len(asked) == 2  # both orders
    assert asked[0].index("Please enjoy") < asked[0].index("Latte.")
    assert asked[1].index("Latte.") < asked[1].index("Please enjoy")
    verdicts = {c.variant: c.verdicts[0] for c in rec.cases}
    assert verdicts["bot-polite"].passed and not verdicts["bot-curt"].passed
    assert "politer" in verdicts["bot-curt"].reasoning
    assert rec.preference_pairs == 1  # the pairwise pick becomes a DPO pair


def test_a_judge_that_always_says_a_is_a_tie(eval_env: EvalEnv) -> None:  # noqa: F811
    server, stop = start_wire_server(lambda body: "WINNER: A\nREASON: first is best.")
    try:
        rec = eval_env.run(_suite(server, "      - pairwise: better", "[bot-x, bot-y]"),
                           {"x": "One.", "y": "Two."})
    finally:
        stop()
    [p] = rec.pairwise
    assert (p.first, p.second, p.winner) == ("a", "b", "tie")  # position bias removed
    assert all(c.verdicts[0].passed for c in rec.cases) and rec.preference_pairs == 0


def test_verdict_reading() -> None:
    assert read_score("SCORE: 4\nREASON: fine") == 4
    assert read_score("I'd give it 3/5.") == 3
    assert read_score("nothing") is None
    assert read_winner("**Winner:** B") == "b"
    assert read_winner("B\nbecause") == "b"


def test_judge_with_the_real_local_model(eval_env: EvalEnv) -> None:  # noqa: F811
    """Small: one judged answer with a few tokens; the verdict must be read or say why."""
    pytest.importorskip("llama_cpp")
    suite = """\
name: real-judge
variants: [bot-a]
judge: {provider: local, params: {temperature: 0.0, max_tokens: 16}}
scenarios:
  - name: s
    script: [A latte please]
    assert: [{judge: "The agent answers politely.", scale: pass_fail}]
"""
    rec = eval_env.run(suite, {"a": "Of course, one latte coming up!"})
    [v] = rec.cases[0].verdicts
    assert v.check == "judge"
    assert v.reasoning or v.detail  # what the model wrote is kept either way
    assert "local/" in v.detail or "PASS or FAIL" in v.detail
    assert rec.lanes == 1 and "serialises" in rec.lanes_note
