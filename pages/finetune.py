"""Fine-tune: train an open model on a variant's logged conversations (or an exported
file), in the background, then compare the new variant with its base.

UI only: the work is moments_core.finetune.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.common import Key, name_of, selected_key, store, variant_keys
from moments_core.datasets import ExportFilters
from moments_core.finetune import METHODS, FinetuneRequest, JobStatus, TrainSettings, get_job
from moments_core.finetune.base_model import models_dir
from moments_core.finetune.jobs import running_jobs, start_job

JOB = "finetune_job"
FROM_STORE, FROM_FILE = "Logged conversations of a variant", "An exported file"
REFRESH_S = 1.0

st.title("Fine-tune")
st.caption("Train SmolLM2 (or any local checkpoint) on conversations you logged; the "
           "result becomes a new variant on the transformers provider.")

keys = variant_keys()
current = selected_key()
source_kind = st.radio("Training data", [FROM_STORE, FROM_FILE], key="ft_source_kind",
                       horizontal=True)
source: Key = st.selectbox(
    "Source variant (its config is copied; its conversations are the data)" if
    source_kind == FROM_STORE else "Variant whose config the new one copies",
    keys, index=keys.index(current) if current in keys else 0, format_func=name_of,
    key="ft_source",
)
data_path = ""
filters = ExportFilters()
if source_kind == FROM_STORE:
    with st.expander("Filters"):
        c1, c2, c3 = st.columns(3)
        min_rating = c1.number_input("Minimum mean rating (0: any)", 0.0, 5.0, 0.0, 0.5,
                                     key="ft_min_rating")
        latest = c2.checkbox("Newest branch of each moment only", key="ft_latest")
        validation = c3.number_input("Validation share", 0.0, 0.5, 0.0, 0.05,
                                     key="ft_validation")
    filters = ExportFilters(min_rating=min_rating or None,
                            branches="latest" if latest else "all",
                            validation_fraction=validation)
else:
    data_path = st.text_input("Exported sft/dpo file (.jsonl or .parquet)",
                              key="ft_data").strip()

c1, c2 = st.columns(2)
method = c1.radio("Method", METHODS, key="ft_method", horizontal=True,
                  format_func=lambda m: {"sft": "SFT (agent turns)",
                                         "dpo": "DPO (preferences)"}[m])
base = c2.text_input("Base model ('smollm2' or a checkpoint folder)", "smollm2",
                     key="ft_base").strip()
c1, c2, c3, c4 = st.columns(4)
epochs = c1.number_input("Epochs", 0.1, 50.0, 1.0, 0.5, key="ft_epochs")
max_steps = c2.number_input("Max steps (0: by epochs)", 0, 100_000, 0, 10, key="ft_max_steps")
lr = c3.number_input("Learning rate (0: default)", 0.0, 1.0, 0.0, 1e-5, format="%.6f",
                     key="ft_lr")
lora = c4.toggle("LoRA", value=True, key="ft_lora")
variant_name = st.text_input("New variant name (empty: derived, e.g. 01-sft)",
                             key="ft_variant").strip()


def start() -> None:
    if source_kind == FROM_FILE and not data_path:
        st.error("Give the path of an exported file, or train on logged conversations.")
        return
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = models_dir() / f"{source[1]}-{source[2]}-{method}-{stamp}"
    request = FinetuneRequest(
        out=out, base=base or "smollm2",
        settings=TrainSettings(method=method, lora=lora, epochs=float(epochs),
                               max_steps=int(max_steps) or None,
                               learning_rate=float(lr) or None),
        data=Path(data_path) if data_path else None, source=source,
        filters=filters if source_kind == FROM_STORE else None,
        variant=variant_name or None,
    )
    job = start_job(request, store())
    st.session_state[JOB] = job.id


busy = bool(running_jobs())
if st.button("Start fine-tuning", type="primary", disabled=busy, key="ft_start"):
    start()
    busy = True
if busy and not st.session_state.get(JOB):
    st.info("A fine-tuning job started elsewhere is running; one runs at a time.")


def show(status: JobStatus) -> None:
    conv = status.conversion
    if conv is not None:
        # The one-time conversion has its own bar: stages, then megabytes written.
        of = f" of {conv.mb_expected:,.0f} MB" if conv.mb_expected else ""
        st.progress(conv.fraction or 0.0,
                    text=f"Converting the base model (once, reused afterwards): "
                         f"{conv.stage} · {conv.mb_written:,.0f} MB written{of} · "
                         f"{conv.elapsed_s:.0f} s")
    elif status.state == "running" and not status.step and status.stage != "training":
        st.progress(0.0, text=f"{status.stage} · {status.elapsed_s:.0f} s")
    else:
        label = f"{status.stage} · step {status.step}/{status.max_steps or '?'} · " \
                f"{status.elapsed_s:.0f} s"
        st.progress(status.fraction, text=label)
    if status.losses:
        frame = pd.DataFrame(status.losses, columns=["step", "loss"]).set_index("step")
        st.line_chart(frame, height=220)
    if status.state == "running":
        if st.button("Cancel", key="ft_cancel"):
            job = get_job(status.id)
            if job is not None:
                job.cancel()
                st.rerun()
    elif status.state == "failed":
        st.error(f"Fine-tuning failed: {status.error}")
    elif status.state == "cancelled":
        st.warning(status.error or "Cancelled: nothing was saved or registered.")
    elif status.state == "done" and status.variant is not None:
        before = "-" if status.eval_loss_before is None else f"{status.eval_loss_before:.4f}"
        after = "-" if status.eval_loss_after is None else f"{status.eval_loss_after:.4f}"
        st.success(f"Done: variant **{name_of(status.variant)}** is ready "
                   f"(eval loss {before} → {after}).")
        if status.source is not None and st.button(
            f"Compare with {name_of(status.source)}", key="ft_compare", type="primary"
        ):
            st.session_state["compare_preset"] = [status.source, status.variant]
            st.switch_page("pages/compare.py")


_job = get_job(st.session_state.get(JOB, ""))
_running = _job is not None and _job.state == "running"


@st.fragment(run_every=REFRESH_S if _running else None)
def live_job() -> None:
    """Redrawn every second on its own, so the rest of the page stays usable."""
    job = get_job(st.session_state.get(JOB, ""))
    if job is None:
        return
    status = job.status()
    show(status)
    if status.finished and _running:
        st.rerun()  # once, as it ends: the Start button comes back, the timer stops


if st.session_state.get(JOB):
    st.subheader("Job")
    live_job()
