"""Evals: pick or edit a suite, run it against variants in the background, read the matrix,
open a cell's conversations side by side, and follow a variant's score across versions.

UI only: suites, runs, jobs and records are moments_core.evals.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import common
from moments_core.evals.history import by_version, score_history
from moments_core.evals.jobs import get_job, start_job
from moments_core.evals.results import CaseResult, RunRecord
from moments_core.evals.suite import Suite, SuiteError, parse_suite, suite_files
from moments_core.settings import get_settings

JOB = "evals_job"
RUN = "evals_run"
CELL = "evals_cell"  # (scenario, variant) picked in the matrix
NEW = "(new suite)"
NEW_SUITE = """\
name: my-suite
variants: [cafebot-01]
scenarios:
  - name: greets
    script:
      - say: Hello!
        assert: [{max_chars: 200}]
"""

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")


def _md(text: str) -> str:
    """Untrusted text (suite names, the model's words) inside markdown, shown as typed:
    every markdown character escaped, so nothing is formatted, linked or loaded."""
    return "  \n".join(_SPECIAL.sub(r"\\\1", text).split("\n"))


st.title("Evals")
st.caption("Run scripted and simulated conversations against variants; every answer is "
           "scored, every conversation is logged (source eval).")

store = common.store()
folder = get_settings().evals_dir
files = {p.name: p for p in suite_files(folder)}

# --- the suite ---------------------------------------------------------------------------
left, right = st.columns([3, 2])
with left:
    picked = st.selectbox("Suite", [*files, NEW], key="evals_suite_file")
    original = files[picked].read_text(encoding="utf-8") if picked in files else NEW_SUITE
    text = st.text_area("Suite (YAML): edit it here, it is checked as you type",
                        value=original, height=320, key=f"evals_text_{picked}")
suite: Suite | None = None
try:
    suite = parse_suite(text, picked)
except SuiteError as err:
    with left:
        st.error("The suite has problems:\n\n" + "\n".join(
            f"- `{_md(f)}`: {_md(m)}"
            for f, m in err.problems))
with right:
    if suite is not None:
        kinds = [s.kind for s in suite.scenarios]
        st.success(f"Valid: {len(kinds)} scenarios ({kinds.count('script')} scripted, "
                   f"{kinds.count('simulated')} simulated).")
        known = [common.name_of(k).removeprefix("Agent-") for k in common.variant_keys()]
        options = list(dict.fromkeys([*suite.variants, *known]))
        variants = st.multiselect("Variants", options, default=suite.variants,
                                  key=f"evals_variants_{picked}")
        repeats = int(st.number_input("Repeats", 1, 100, suite.repeats,
                                      key=f"evals_repeats_{picked}"))
        job = get_job(st.session_state.get(JOB, ""))
        busy = job is not None and job.running
        if st.button("Run", type="primary", disabled=busy or not variants,
                     key="evals_run_button"):
            try:
                job = start_job(suite, store, suite_text=text, suite_path=picked,
                                variants=variants, repeats=repeats)
            except (FileNotFoundError, ValueError) as err:
                st.error(str(err))
            else:
                st.session_state[JOB] = job.id
                st.session_state[RUN] = job.run_id
                st.session_state.pop(CELL, None)
                st.rerun()


@st.fragment(run_every=1.0 if (lambda j: j is not None and j.running)(
    get_job(st.session_state.get(JOB, ""))) else None)
def progress_panel() -> None:
    job = get_job(st.session_state.get(JOB, ""))
    if job is None:
        return
    if job.running:
        st.progress(job.fraction, text=f"{job.done} of {job.total} conversations"
                    + (f" - {job.last}" if job.last else ""))
        st.caption(job.runner.record.lanes_note)
        if st.button("Cancel", key="evals_cancel"):
            job.cancel()
            st.toast("Cancelling after the current turn...")
        return
    if job.error:
        st.error(f"The run failed: {job.error}")
    if st.session_state.get("evals_shown_job") != job.id:
        st.session_state["evals_shown_job"] = job.id
        st.rerun()  # the whole page, to show the finished run


progress_panel()

# --- a run's results ---------------------------------------------------------------------
runs = store.list_eval_runs(suite.name if suite else None, limit=50)
if not runs:
    st.info("No runs of this suite yet.")
    st.stop()
ids = [r.run_id for r in runs]
wanted = st.query_params.get("run") or st.session_state.get(RUN)
run_id = st.selectbox(
    "Run", ids, index=ids.index(wanted) if wanted in ids else 0, key="evals_run_pick",
    format_func=lambda i: next(f"{r.created_at[:19].replace('T', ' ')} - {r.status} - "
                               + ", ".join(f"{v} {s:.0%}" for v, s in r.scores.items()
                                           if s is not None)
                               for r in runs if r.run_id == i))
record = RunRecord.from_dict(store.get_eval_run(run_id))
st.caption(f"Run {record.run_id} - suite {record.suite_name} ({record.suite_hash}) - "
           f"{record.status} - {record.lanes_note}"
           + (f" - {record.preference_pairs} preference pairs for DPO"
              if record.preference_pairs else ""))

variant_names = record.variant_names()
scenarios = record.scenarios()
if not record.cases:
    st.info("This run has no finished conversations yet.")
    st.stop()

matrix = pd.DataFrame(
    {f"{v} (v{record.config_version(v)})": [record.cell(v, s) for s in scenarios]
     for v in variant_names},
    index=pd.Index(scenarios, name="scenario"),
)
score_row = pd.DataFrame({c: [record.score(v)] for c, v in zip(matrix.columns, variant_names,
                                                                strict=True)},
                         index=pd.Index(["suite score (weighted)"], name="scenario"))
shown = pd.concat([matrix, score_row])


def _colour(value: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    red, green = int(230 - 120 * value), int(110 + 110 * value)
    return f"background-color: rgb({red}, {green}, 120); color: black"


st.subheader("Pass rate: variants x scenarios")
st.caption("Click a cell to see its conversations.")
event = st.dataframe(
    shown.style.map(_colour).format(lambda v: "-" if pd.isna(v) else f"{v:.0%}"),
    on_select="rerun", selection_mode="single-cell", key=f"evals_matrix_{run_id}",
    use_container_width=False,
)
cells = list(getattr(getattr(event, "selection", None), "cells", []) or [])
if cells:
    row, column = cells[0][0], cells[0][1]
    if isinstance(row, int) and row < len(scenarios) and column in matrix.columns:
        st.session_state[CELL] = (scenarios[row], variant_names[list(matrix.columns)
                                                                .index(column)])

# --- one cell: the conversations, side by side for two variants ------------------------
cell = st.session_state.get(CELL)
scenario_default = cell[0] if cell and cell[0] in scenarios else scenarios[0]
variant_default = cell[1] if cell and cell[1] in variant_names else variant_names[0]
c1, c2, c3 = st.columns(3)
scenario = c1.selectbox("Scenario", scenarios, index=scenarios.index(scenario_default),
                        key=f"evals_scenario_{run_id}_{scenario_default}")
first = c2.selectbox("Variant", variant_names, index=variant_names.index(variant_default),
                     key=f"evals_first_{run_id}_{variant_default}")
others = [v for v in variant_names if v != first]
second = c3.selectbox("Side by side with", ["(none)", *others],
                      index=1 if others else 0, key=f"evals_second_{run_id}")


def show_case(case: CaseResult) -> None:
    st.markdown(f"**Repeat {case.repeat + 1}** - {'passed' if case.passed else 'failed'} "
                f"({case.score:.0%}) - ended by {case.ended_by} - moment `{case.moment_id}`")
    if case.error:
        st.error(case.error)
    with st.container(border=True):
        for t in case.turns:
            common.show_said("Participant", t.said)
            common.show_said("Agent", t.answer)
            st.caption(f"{t.latency_ms:.0f} ms" + (f", {t.tokens} tokens" if t.tokens else ""))
    rows = [{"": "✅" if v.passed else "❌", "assertion": v.name,
             "line": "all" if v.turn is None else str(v.turn + 1), "detail": v.detail,
             "score": "" if v.score is None else f"{v.score:.0f}/5",
             "judge's reasoning": v.reasoning} for v in case.verdicts]
    if rows:
        # A plain table: its text is in the page (searchable, copyable), shown as text.
        st.table(pd.DataFrame(rows).set_index(""))


shown_variants = [first] + ([second] if second != "(none)" else [])
st.subheader(f"Scenario: {scenario}")
for col, v in zip(st.columns(len(shown_variants)), shown_variants, strict=True):
    with col:
        st.markdown(f"#### {_md(v)}")
        for case in record.cases_of(v, scenario):
            show_case(case)
pairs = [p for p in record.pairwise if p.scenario == scenario]
for p in pairs:
    st.markdown(f"Pairwise ({_md(p.rubric)}): {p.a} vs {p.b} -> "
                f"**{_md(p.winner)}** (orders: {p.first}/{p.second})")
    st.caption(_md(f"{p.reasoning_first} | {p.reasoning_second}"))

# --- a variant's score across its config versions --------------------------------------
st.subheader("Score across config versions")
history_variant = st.selectbox("Variant", variant_names, key="evals_history_variant")
points = score_history(store, record.suite_name, history_variant)
versions = by_version(points)
if len(points) < 2:
    st.caption("One run so far: run the suite again after editing the prompt to see a line.")
if versions:
    chart = pd.DataFrame({"score": list(versions.values())},
                         index=pd.Index(list(versions), name="config version"))
    st.line_chart(chart, y="score")
