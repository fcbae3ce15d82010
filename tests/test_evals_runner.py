"""The runner: simulated participants (stop_when, max_turns, both moments logged with roles
swapped), moments' meta, lanes, cancel, suite validation, and DPO pairs from a run."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from moments_core.datasets.export import export_to_files
from moments_core.datasets.walk import ExportFilters
from moments_core.evals import SuiteError, load_suite, parse_suite
from moments_core.evals.runner import EvalRunner
from moments_core.mdl import Participant, Self

from .evals_fixtures import EvalEnv, eval_env  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

SIM = """\
name: sim
variants: [bot-a]
scenarios:
  - name: customer
    simulated:
      provider: instant
      name: Guest
      agent_name: Barista
      opener: A latte, please.
      init: |
        Instructions: '''
        You are a customer who wants a latte.
        '''
        Begin.
    max_turns: {max_turns}
    stop_when: {{icontains: ready}}
    assert: [{{icontains: latte}}]
"""


def _barista(ready_at: int) -> object:
    count = {"n": 0}

    def reply(said: str) -> str:
        count["n"] += 1
        return "Your latte is ready." if count["n"] >= ready_at else f"Sure, a latte ({said[:20]})"
    return reply


def test_simulated_conversation_ends_by_stop_when(eval_env: EvalEnv) -> None:  # noqa: F811
    rec = eval_env.run(SIM.format(max_turns=6), {"a": _barista(2)})  # type: ignore[dict-item]
    [case] = rec.cases
    assert case.ended_by == "stop_when" and len(case.turns) == 2
    assert case.turns[0].said == "A latte, please."
    assert case.turns[1].said.startswith("You said: Sure, a latte")  # the instant customer
    assert case.passed


def test_simulated_conversation_ends_by_max_turns(eval_env: EvalEnv) -> None:  # noqa: F811
    rec = eval_env.run(SIM.format(max_turns=3), {"a": _barista(99)})  # type: ignore[dict-item]
    [case] = rec.cases
    assert case.ended_by == "max_turns" and len(case.turns) == 3


def test_both_moments_are_logged_with_roles_swapped(eval_env: EvalEnv) -> None:  # noqa: F811
    rec = eval_env.run(SIM.format(max_turns=2), {"a": "Coming right up."})
    [case] = rec.cases
    store = eval_env.store
    agent_info = store.get_moment(case.moment_id)
    sim_info = store.get_moment(case.participant_moment_id)
    assert agent_info.source == sim_info.source == "eval"
    assert agent_info.meta["eval_run_id"] == rec.run_id == sim_info.meta["eval_run_id"]
    assert agent_info.meta["scenario"] == "customer" and agent_info.meta["repeat"] == 0
    assert agent_info.meta["config_version"] == rec.config_version("bot-a") is not None
    assert agent_info.meta["role"] == "agent" and sim_info.meta["role"] == "participant"
    assert sim_info.meta["counterpart_moment_id"] == case.moment_id
    assert sim_info.config_version is not None  # the persona is a stored config version
    [agent_leaf] = store.leaves(case.moment_id)
    [sim_leaf] = store.leaves(case.participant_moment_id)
    agent_lines = [(type(o).__name__, o.says) for o in agent_leaf.moment.occurrences
                   if isinstance(o, Self | Participant)]
    sim_lines = [(type(o).__name__, o.says) for o in sim_leaf.moment.occurrences
                 if isinstance(o, Self | Participant)]
    swap = {"Self": "Participant", "Participant": "Self"}
    assert [(swap[k], s) for k, s in agent_lines] == sim_lines  # the same talk, mirrored
    assert {o.name for o in sim_leaf.moment.occurrences if isinstance(o, Participant)} \
        == {"Barista"}
    assert {o.name for o in agent_leaf.moment.occurrences if isinstance(o, Participant)} \
        == {"Guest"}


def test_lanes_local_model_serialises_and_says_so(eval_env: EvalEnv) -> None:  # noqa: F811
    from .evals_fixtures import write_config

    write_config(eval_env.folder, "loc", provider="local", model="smollm2-135m-instruct")
    write_config(eval_env.folder, "a")
    suite = parse_suite("name: l\nvariants: [bot-loc, bot-a]\nconcurrency: 8\n"
                        "scenarios: [{name: s, script: [Hi]}]")
    runner = EvalRunner(suite, eval_env.store, settings=eval_env.settings)
    assert runner._lanes()[0] == 1 and "serialises" in runner._lanes()[1]
    remote = EvalRunner(parse_suite("name: r\nvariants: [bot-a]\nconcurrency: 8\n"
                                    "scenarios: [{name: s, script: [Hi]}]"),
                        eval_env.store, settings=eval_env.settings)
    assert remote._lanes() == (8, "8 lanes (no in-process model)")


def test_repeats_seed_and_cancel(eval_env: EvalEnv) -> None:  # noqa: F811
    suite = "name: r\nvariants: [bot-a]\nrepeats: 3\nseed: 5\nconcurrency: 1\n" \
            "scenarios: [{name: s, script: [Hi, Again]}]"
    seeds: list[int | None] = []
    cancel = threading.Event()

    def progress(done: int, total: int, what: str) -> None:
        assert total == 3
        if done == 2:
            cancel.set()

    from collections.abc import Iterator

    from moments_core.agents.config import AgentConfig
    from moments_core.providers import GenerationParams, InstantProvider, Prompt, Provider
    from moments_core.providers.base import Usage

    class Seeds(InstantProvider):
        def stream_into(self, prompt: Prompt, params: GenerationParams,
                        usage: Usage) -> Iterator[str]:
            seeds.append(params.seed)
            return super().stream_into(prompt, params, usage)

    def provider_for(c: AgentConfig) -> Provider:
        return Seeds("ok")

    from .evals_fixtures import write_config
    write_config(eval_env.folder, "a")
    rec = EvalRunner(parse_suite(suite), eval_env.store, settings=eval_env.settings,
                     provider_for=provider_for, progress=progress, cancel=cancel).run()
    assert seeds == [5, 5, 6, 6]  # repeat r runs with seed + r; the third never started
    assert rec.status == "cancelled" and len(rec.cases) == 2
    assert eval_env.store.get_eval_run(rec.run_id)["status"] == "cancelled"


def test_dpo_pairs_from_a_run(eval_env: EvalEnv, tmp_path: Path,  # noqa: F811
                              monkeypatch: pytest.MonkeyPatch) -> None:
    suite = """\
name: prefs
variants: [bot-good, bot-bad]
scenarios:
  - name: price
    script:
      - say: Hi
      - say: How much is a latte?
        assert: [{not_contains: "$"}]
"""
    rec = eval_env.run(suite, {"good": lambda s: f"It's free: {s}",
                               "bad": lambda s: f"That's $4: {s}"})
    assert rec.preference_pairs == 1
    out = tmp_path / "dpo.jsonl"
    summary = export_to_files(eval_env.store, "dpo", out, ExportFilters(source="eval"))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary.rows == 1 and len(rows) == 1
    [row] = rows
    assert row["chosen"][0]["content"] == "It's free: How much is a latte?"
    assert row["rejected"][0]["content"] == "That's $4: How much is a latte?"
    assert row["prompt"][-1] == {"role": "user", "content": "How much is a latte?"}
    # Nothing from eval moments leaks into exports of other sources.
    assert export_to_files(eval_env.store, "dpo", tmp_path / "chat.jsonl",
                           ExportFilters(source="chat")).rows == 0
    # The same through the command: moments build-dataset all all all --format dpo --source eval
    import typer
    from typer.testing import CliRunner

    from moments_core.datasets.cli import build_dataset
    from moments_core.settings import get_settings

    monkeypatch.setenv("MOMENTS_DB_URL", f"sqlite:///{tmp_path / 'evals.db'}")
    get_settings.cache_clear()
    app = typer.Typer()
    app.command()(build_dataset)
    try:
        for source, count in (("eval", 1), ("chat", 0)):
            target = tmp_path / f"cli-{source}.jsonl"
            result = CliRunner().invoke(app, ["all", "all", "all", "--format", "dpo",
                                              "--source", source, "--out", str(target)])
            assert result.exit_code == 0, result.output
            assert len(target.read_text().splitlines()) == count
    finally:
        get_settings.cache_clear()


def test_suite_errors_name_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nvariants: [a-01]\nrepeats: 0\nscenarios:\n"
                   "  - name: first\n    script: [Hi]\n    assert: [{icontains: a, regex: b}]\n"
                   "  - name: second\n    simulated: {init: 'Begin.'}\n    stop_when: "
                   "{judge: polite}\n  - name: third\n    script: [Hi]\n    bogus: 1\n")
    with pytest.raises(SuiteError) as info:
        load_suite(bad)
    text = str(info.value)
    assert f"{bad}: field 'repeats'" in text
    assert "field 'scenarios[0: first].assert[0]': needs exactly one check" in text
    assert "field 'scenarios[1: second]': stop_when must be a plain check" in text
    assert "field 'scenarios[2: third].bogus': is not a known field" in text
    with pytest.raises(SuiteError, match=r"field '\(file\)': not valid YAML at line 1"):
        parse_suite("name: [", "x.yaml")
    with pytest.raises(SuiteError, match="python/object"):
        parse_suite("!!python/object/apply:os.system [echo hi]", "evil.yaml")


def test_shipped_suites_load() -> None:
    cafe, _ = load_suite(ROOT / "evals" / "cafebot.yaml")
    pf, _ = load_suite(ROOT / "evals" / "pfcoach.yaml")
    assert len(cafe.scenarios) >= 8 and sum(s.kind == "simulated" for s in cafe.scenarios) >= 2
    assert len(pf.scenarios) == 5
