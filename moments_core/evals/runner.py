"""Run a suite: every (variant, scenario, repeat) as a logged conversation, then score it.

Each conversation is a moment with source ``eval`` and the run id, scenario, repeat and
config version in its meta, so it opens in the tree browser like any other. A simulated
participant is an agent of its own: its moment holds its persona and sees the agent's
lines as another participant's (roles swapped); both moments are logged.

Cases run in up to ``concurrency`` lanes when every model involved is remote (OpenAI,
Cohere, an OpenAI-compatible server) or instant. The local model is one llama.cpp
context per process: its calls would only queue, so such a run uses one lane and says so.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from moments_core.agents import Agent
from moments_core.agents.config import AgentConfig
from moments_core.agents.registry import VersionedConfig, load_agent_config, split_name
from moments_core.agents.runtime import AgentError, TurnFailed, TurnResult
from moments_core.mdl import (
    Instructions,
    Moment,
    Occurrence,
    Participant,
    Self,
    Snapshot,
    new_id,
    now,
)
from moments_core.providers import GenerationParams, Provider, make_provider
from moments_core.settings import Settings, get_settings
from moments_core.store.base import LogStore

from .assertions import check_conversation, check_turn, stop_reached
from .judge import JudgeModel, judge_pairwise, judge_rubric, pairwise_verdict
from .results import CaseResult, PairwiseResult, RunRecord, TurnRecord, VariantRun, Verdict
from .suite import Assertion, ModelSpec, Scenario, Suite, suite_hash

#: Back ends that run in this process on one shared model: their calls serialise.
SERIAL_PROVIDERS = frozenset({"local", "transformers"})
ProviderFactory = Callable[[AgentConfig], Provider]
Progress = Callable[[int, int, str], None]  # done, total, what just finished


class EvalCancelled(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Case:
    variant: str
    scenario: Scenario
    repeat: int


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "scenario"


def _with_seed(config: AgentConfig, seed: int | None) -> AgentConfig:
    if seed is None:
        return config
    params = config.params.model_copy(update={"seed": seed})
    return config.model_copy(update={"params": params})


def _instructions(occurrences: list[Occurrence]) -> str:
    return "\n".join(o.text for o in occurrences if isinstance(o, Instructions))


class EvalRunner:
    """One run of a suite. ``provider_for`` builds the provider of each conversation of a
    variant under test (tests and benchmarks pass their own); simulated participants and
    judges get theirs from the suite; ``judge_provider`` replaces every judge's."""

    def __init__(
        self,
        suite: Suite,
        store: LogStore,
        *,
        suite_text: str = "",
        suite_path: str | Path = "",
        variants: list[str] | None = None,
        repeats: int | None = None,
        seed: int | None = None,
        concurrency: int | None = None,
        provider_for: ProviderFactory | None = None,
        judge_provider: Provider | None = None,
        settings: Settings | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.suite = suite
        self.store = store
        self.suite_text = suite_text
        self.suite_path = str(suite_path)
        self.variants = variants or list(suite.variants)
        self.repeats = repeats or suite.repeats
        self.seed = suite.seed if seed is None else seed
        self.concurrency = concurrency or suite.concurrency
        self.settings = settings or get_settings()
        self.provider_for = provider_for or self._make_provider
        self.judge_provider = judge_provider
        self.progress = progress
        self.cancel = cancel or threading.Event()
        self._serial_lock = threading.Lock()
        self._configs: dict[str, VersionedConfig] = {}
        self._sim_versions: dict[str, int | None] = {}
        self._providers: dict[str, Provider] = {}
        self.record = RunRecord(run_id=new_id(), suite_name=suite.name,
                                suite_hash=suite_hash(suite_text or suite.model_dump_json()))

    # --- set-up -----------------------------------------------------------------------
    def _make_provider(self, c: AgentConfig) -> Provider:
        return make_provider(c.provider, c.model, api_key=c.resolved_api_key(),
                             base_url=c.base_url, device=c.device, settings=self.settings)

    def _provider(self, variant: str, config: AgentConfig) -> Provider:
        """One provider per variant, shared by its lanes: providers keep no per-call state,
        and a remote one reuses its HTTP client (connections, TLS set-up)."""
        with self._serial_lock:
            if variant not in self._providers:
                self._providers[variant] = self.provider_for(config)
            return self._providers[variant]

    def _load(self, name: str) -> VersionedConfig:
        if name not in self._configs:
            kind, agent_id, variant = split_name(name)
            self._configs[name] = load_agent_config(kind, agent_id, variant, self.store,
                                                    folder=self.settings.configs_dir)
        return self._configs[name]

    def _spec_config(self, spec: ModelSpec, init: str, participant: str,
                     agent_id: str, variant: str) -> AgentConfig:
        """An agent config for a model the suite names (a judge, a simulated participant)."""
        if spec.variant:
            base = self._load(spec.variant).config
            return base.model_copy(update={"init": init, "participant": participant,
                                           "id": agent_id, "variant": variant})
        return AgentConfig(id=agent_id, variant=variant, provider=spec.provider,
                           model=spec.model or _default_model(spec.provider), mode="chat",
                           base_url=spec.base_url, params=spec.params,
                           participant=participant, init=init)

    def _judge(self, spec: ModelSpec | None) -> JudgeModel:
        spec = spec or self.suite.judge
        config = self._spec_config(spec, "Begin.", "Agent", "evaljudge", "judge")
        params = spec.params if not spec.variant else config.params
        provider = self.judge_provider or self._make_provider(config)
        return JudgeModel(provider, params, f"{config.provider}/{config.model}",
                          serial=config.provider in SERIAL_PROVIDERS)

    def _lanes(self) -> tuple[int, str]:
        used: set[str] = {self._load(v).config.provider for v in self.variants}
        for s in self.suite.scenarios:
            if s.simulated is not None:
                used.add(self._load(s.simulated.variant).config.provider
                         if s.simulated.variant else s.simulated.provider)
        if self.judge_provider is None and any(
                a.is_judged or a.check == "pairwise"
                for s in self.suite.scenarios for _, a in s.all_checks()):
            used.add(self.suite.judge.provider)
        serial = sorted(used & SERIAL_PROVIDERS)
        if serial and self.concurrency > 1:
            return 1, (f"one lane: the {', '.join(serial)} model runs in this process and "
                       f"serialises its calls (concurrency {self.concurrency} asked)")
        if serial:
            return 1, f"one lane (the {', '.join(serial)} model serialises)"
        return self.concurrency, f"{self.concurrency} lanes (no in-process model)"

    def plan(self) -> list[Case]:
        return [Case(v, s, r) for v in self.variants for s in self.suite.scenarios
                for r in range(self.repeats)]

    # --- the run ----------------------------------------------------------------------
    def run(self) -> RunRecord:
        rec = self.record
        rec.suite_yaml, rec.suite_path = self.suite_text, self.suite_path
        rec.created_at, rec.repeats, rec.seed = now().isoformat(), self.repeats, self.seed
        rec.scenario_weights = {s.name: s.weight for s in self.suite.scenarios}
        for name in self.variants:
            vc = self._load(name)
            c = vc.config
            rec.variants.append(VariantRun(name, c.kind, c.id, c.variant, vc.version,
                                           c.provider, c.model))
        rec.lanes, rec.lanes_note = self._lanes()
        self.store.save_eval_run(rec.to_dict())
        cases = self.plan()
        pair_jobs = self._pairwise_jobs()
        total = len(cases) + len(pair_jobs)
        done = 0
        try:
            results = self._run_cases(cases, rec.lanes, total)
            done = len(results)
            rec.cases = sorted(results, key=lambda c: (self.variants.index(c.variant),
                                                       self._scenario_index(c.scenario),
                                                       c.repeat))
            if not self.cancel.is_set():
                rec.pairwise = self._run_pairwise(pair_jobs, done, total)
                self._add_pairwise_verdicts()
                from .preferences import record_preferences

                rec.preference_pairs = record_preferences(self.store, rec, self.suite)
            rec.status = "cancelled" if self.cancel.is_set() else "done"
        except Exception as err:
            rec.status, rec.error = "failed", f"{type(err).__name__}: {err}"
            raise
        finally:
            rec.finished_at = now().isoformat()
            self.store.save_eval_run(rec.to_dict())
        return rec

    def _scenario_index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.suite.scenarios) if s.name == name)

    def _tick(self, done: int, total: int, what: str) -> None:
        if self.progress is not None:
            self.progress(done, total, what)

    def _run_cases(self, cases: list[Case], lanes: int, total: int) -> list[CaseResult]:
        out: list[CaseResult] = []
        if lanes <= 1:
            for case in cases:
                if self.cancel.is_set():
                    break
                out.append(self.run_case(case))
                self._saved(out)
                self._tick(len(out), total, f"{case.variant} / {case.scenario.name}")
            return out
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="moments-eval") as pool:
            pending: set[Future[CaseResult]] = set()
            queue = list(reversed(cases))
            while queue or pending:
                while queue and len(pending) < lanes and not self.cancel.is_set():
                    pending.add(pool.submit(self.run_case, queue.pop()))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    result = f.result()
                    out.append(result)
                    self._saved(out)
                    self._tick(len(out), total, f"{result.variant} / {result.scenario}")
        return out

    def _saved(self, cases: list[CaseResult]) -> None:
        """The record with the cases so far, saved: a run stopped midway (killed, out of
        time) keeps what it finished, and the page can show a run in progress."""
        self.record.cases = list(cases)
        self.store.save_eval_run(self.record.to_dict())

    # --- one conversation -------------------------------------------------------------
    def _meta(self, case: Case, vc_version: int | None, role: str) -> dict[str, object]:
        return {"eval_run_id": self.record.run_id, "suite": self.suite.name,
                "scenario": case.scenario.name, "repeat": case.repeat,
                "variant": case.variant, "config_version": vc_version, "role": role}

    def _seed(self, case: Case) -> int | None:
        return None if self.seed is None else self.seed + case.repeat

    def run_case(self, case: Case) -> CaseResult:
        started = time.perf_counter()
        vc = self._load(case.variant)
        config = _with_seed(vc.config, self._seed(case))
        agent = Agent(config, self._provider(case.variant, config), self.store,
                      config_version=vc.version)
        result = CaseResult(case.variant, case.scenario.name, case.repeat)
        root = agent.start(source="eval", meta=self._meta(case, vc.version, "agent"))
        result.moment_id = root.moment_id
        init_len = len(root.moment.occurrences)
        last = root
        try:
            if case.scenario.script is not None:
                last = self._scripted(case, agent, root, result)
            else:
                last = self._simulated(case, agent, root, result)
        except (TurnFailed, AgentError) as err:
            result.error, result.ended_by = str(err), "error"
        except EvalCancelled:
            result.ended_by = "cancelled"
        if result.turns and result.turns[-1].snapshot_id:
            last = self.store.get_snapshot(result.turns[-1].snapshot_id)
        occurrences = list(last.moment.occurrences[init_len:])
        result.verdicts = self._verdicts(case.scenario, result.turns, occurrences,
                                         _instructions(root.moment.occurrences),
                                         config.participant)
        result.seconds = time.perf_counter() - started
        return result

    def _turn(self, said: str, r: TurnResult) -> TurnRecord:
        # The answering call's own usage (a provider object serves several lanes at once).
        usage = getattr(r, "usage", None)
        tokens = getattr(usage, "completion_tokens", None)
        return TurnRecord(
            said=said, answer=r.occurrence.says, raw=r.raw,
            latency_ms=round(r.seconds * 1000, 1),
            tokens=tokens if isinstance(tokens, int) else None,
            snapshot_id=r.snapshot.id,
            participant_snapshot_id=r.participant_snapshot.id if r.participant_snapshot else "",
        )

    def _scripted(self, case: Case, agent: Agent, root: Snapshot, out: CaseResult) -> Snapshot:
        snap = root
        for line in case.scenario.script or []:
            if self.cancel.is_set():
                raise EvalCancelled
            r = agent.reply(snap, line.say)
            out.turns.append(self._turn(line.say, r))
            snap = r.snapshot
        out.ended_by = "script"
        return snap

    def _sim_agent(self, case: Case) -> Agent:
        spec = case.scenario.simulated
        assert spec is not None
        config = self._spec_config(spec, spec.init, spec.agent_name, "evalsim",
                                   _slug(case.scenario.name))
        config = _with_seed(config, self._seed(case))
        key = case.scenario.name
        if key not in self._sim_versions:
            # The persona is stored like any config, so its moments name a version.
            text = config.model_dump_json(exclude_defaults=True)
            cv = self.store.save_config_version(config.kind, config.id, config.variant, text,
                                                author=f"eval:{self.suite.name}")
            self._sim_versions[key] = cv.version
        # Its own model, from the suite (``provider_for`` is for the variants under test).
        return Agent(config, self._make_provider(config), self.store,
                     config_version=self._sim_versions[key])

    def _append(self, parent: Snapshot, added: list[Occurrence], version: int | None) -> Snapshot:
        moment = Moment([*parent.moment.occurrences, *added], parent.moment_id)
        snap = Snapshot(moment, moment_id=parent.moment_id, previous_snapshot_id=parent.id)
        if version is not None:
            snap.annotations = {"config_version": version}
        self.store.save_snapshot(snap)
        return snap

    def _simulated(self, case: Case, agent: Agent, root: Snapshot, out: CaseResult) -> Snapshot:
        scenario = case.scenario
        spec = scenario.simulated
        assert spec is not None
        sim = self._sim_agent(case)
        meta = {**self._meta(case, sim.config_version, "participant"),
                "counterpart_moment_id": root.moment_id}
        sim_snap = sim.start(source="eval", meta=meta)
        out.participant_moment_id = sim_snap.moment_id
        name = spec.name or agent.config.participant
        snap, answer = root, ""
        out.ended_by = "max_turns"
        for turn in range(scenario.max_turns):
            if self.cancel.is_set():
                raise EvalCancelled
            if turn == 0 and spec.opener:
                said = spec.opener
                sim_snap = self._append(sim_snap, [Self(said)], sim.config_version)
            else:
                heard = Participant(spec.agent_name, answer) if answer else None
                sim_turn = sim.reply(sim_snap, heard)
                said, sim_snap = sim_turn.occurrence.says, sim_turn.snapshot
            if (scenario.stop_when is not None and scenario.stop_on == "participant"
                    and stop_reached(scenario.stop_when, said)):
                out.ended_by = "stop_when"
                break
            r = agent.reply(snap, Participant(name, said))
            out.turns.append(self._turn(said, r))
            snap, answer = r.snapshot, r.occurrence.says
            if (scenario.stop_when is not None and scenario.stop_on == "agent"
                    and stop_reached(scenario.stop_when, r.raw or answer, r.seconds * 1000)):
                out.ended_by = "stop_when"
                break
        if answer:  # the participant's moment hears the agent's last line too
            self._append(sim_snap, [Participant(spec.agent_name, answer)], sim.config_version)
        return snap

    # --- scoring ----------------------------------------------------------------------
    def _verdicts(self, scenario: Scenario, turns: list[TurnRecord],
                  occurrences: list[Occurrence], instructions: str,
                  participant: str) -> list[Verdict]:
        out: list[Verdict] = []
        for turn, a in scenario.all_checks():
            if a.check == "pairwise":
                continue  # judged across variants once every case has run
            if turn is not None and turn >= len(turns):
                out.append(Verdict(a.label, a.check, False, a.weight, turn,
                                   "no answer to this line (the conversation stopped)"))
            elif a.is_judged:
                out.append(judge_rubric(a, self._judge(a.by), turns, instructions, turn,
                                        self._serial_lock, participant))
            elif turn is not None:
                out.append(check_turn(a, turns[turn], turn))
            else:
                out.append(check_conversation(a, turns, occurrences))
        return out

    def _pairwise_jobs(self) -> list[tuple[Scenario, Assertion, int, str, str]]:
        jobs = []
        for s in self.suite.scenarios:
            for _, a in s.all_checks():
                if a.check != "pairwise":
                    continue
                for r in range(self.repeats):
                    for i, va in enumerate(self.variants):
                        for vb in self.variants[i + 1:]:
                            jobs.append((s, a, r, va, vb))
        return jobs

    def _run_pairwise(self, jobs: list[tuple[Scenario, Assertion, int, str, str]],
                      done: int, total: int) -> list[PairwiseResult]:
        out: list[PairwiseResult] = []
        by_key = {(c.variant, c.scenario, c.repeat): c for c in self.record.cases}
        for s, a, r, va, vb in jobs:
            if self.cancel.is_set():
                break
            ca, cb = by_key.get((va, s.name, r)), by_key.get((vb, s.name, r))
            if ca is None or cb is None:
                continue
            out.append(judge_pairwise(s.name, r, a, self._judge(a.by), va, ca.turns, vb,
                                      cb.turns, self._serial_lock))
            done += 1
            self._tick(done, total, f"pairwise {va} vs {vb} / {s.name}")
        return out

    def _add_pairwise_verdicts(self) -> None:
        for case in self.record.cases:
            scenario = self.suite.scenario(case.scenario)
            for _, a in scenario.all_checks():
                if a.check != "pairwise":
                    continue
                mine = [p for p in self.record.pairwise
                        if p.scenario == case.scenario and p.repeat == case.repeat]
                v = pairwise_verdict(a, case.variant, mine)
                if v is not None:
                    case.verdicts.append(v)


def _default_model(provider: str) -> str:
    from moments_core.agents.config import DEFAULT_MODELS

    return DEFAULT_MODELS.get(provider, "echo" if provider == "instant" else "")


def run_suite(suite: Suite, store: LogStore, **kwargs: object) -> RunRecord:
    """``EvalRunner(suite, store, **kwargs).run()``."""
    return EvalRunner(suite, store, **kwargs).run()  # type: ignore[arg-type]


__all__ = ["SERIAL_PROVIDERS", "Case", "EvalCancelled", "EvalRunner", "GenerationParams",
           "run_suite"]
