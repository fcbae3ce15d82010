"""Fine-tuning jobs in the background, for the dashboard.

A job runs ``run_finetune`` in a daemon thread of the app's process: the page keeps
answering while it trains, reads the job's losses (or the base-model conversion's
progress) on every rerun, and can cancel it: the conversion process is stopped, the
trainer leaves at its next step or evaluation batch. Jobs live in a process-wide table so a
page rerun (a fresh script run) finds its job again by id.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Literal

from moments_core.settings import Settings
from moments_core.store.base import LogStore

from .base_model import ConversionProgress
from .pipeline import FinetuneOutcome, FinetuneRequest, run_finetune
from .register import Key
from .train import StepReport, TrainingCancelled

State = Literal["running", "done", "failed", "cancelled"]
FINISHED: tuple[State, ...] = ("done", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A consistent copy of a job's progress, safe to render while it keeps running."""

    id: str
    state: State
    stage: str
    step: int
    max_steps: int
    losses: list[tuple[int, float]]
    error: str
    elapsed_s: float
    variant: Key | None
    source: Key | None
    eval_loss_before: float | None
    eval_loss_after: float | None
    # The one-time base-model conversion, while it runs (None before and after it).
    conversion: ConversionProgress | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.max_steps) if self.max_steps else 0.0


@dataclass(eq=False)
class FinetuneJob:
    request: FinetuneRequest
    store: LogStore | None
    settings: Settings | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: State = "running"
    stage: str = "starting"
    step: int = 0
    max_steps: int = 0
    losses: list[tuple[int, float]] = field(default_factory=list)
    error: str = ""
    outcome: FinetuneOutcome | None = None
    conversion: ConversionProgress | None = None
    started: float = field(default_factory=time.monotonic)
    finished_at: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        # Known from the start when set: the counter reads "step 0/200", not "0/?".
        self.max_steps = self.request.settings.max_steps or 0

    def start(self) -> FinetuneJob:
        self._thread = threading.Thread(target=self._run, name=f"finetune-{self.id}",
                                        daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()
        with self._lock:
            if self.state == "running":
                self.stage = "cancelling"

    def wait(self, timeout: float | None = None) -> bool:
        """True when the job has finished within ``timeout``."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state in FINISHED

    def status(self) -> JobStatus:
        with self._lock:
            result = self.outcome.result if self.outcome else None
            end = self.finished_at or time.monotonic()
            return JobStatus(
                id=self.id, state=self.state, stage=self.stage, step=self.step,
                max_steps=self.max_steps, losses=list(self.losses), error=self.error,
                elapsed_s=end - self.started,
                variant=self.outcome.variant if self.outcome else None,
                source=self.request.source,
                eval_loss_before=result.eval_loss_before if result else None,
                eval_loss_after=result.eval_loss_after if result else None,
                conversion=self.conversion,
            )

    def _on_step(self, report: StepReport) -> None:
        with self._lock:
            self.step, self.max_steps = report.step, report.max_steps
            if report.loss is not None:
                self.losses.append((report.step, report.loss))

    def _on_stage(self, stage: str) -> None:
        with self._lock:
            self.conversion = None  # a new stage: the conversion (if any) is over
            if not self._cancel.is_set():
                self.stage = stage

    def _on_conversion(self, progress: ConversionProgress) -> None:
        with self._lock:
            self.conversion = progress if progress.stage != "done" else None
            if not self._cancel.is_set():
                self.stage = f"converting the base model: {progress.stage}"

    def _finish(self, state: State, error: str = "") -> None:
        with self._lock:
            self.state, self.error = state, error
            self.stage = state
            self.conversion = None
            self.finished_at = time.monotonic()

    def _run(self) -> None:
        try:
            outcome = run_finetune(self.request, self.store, progress=self._on_step,
                                   cancel=self._cancel, stage=self._on_stage,
                                   settings=self.settings, conversion=self._on_conversion)
        except TrainingCancelled as err:
            self._finish("cancelled", str(err))
        except Exception as err:  # noqa: BLE001 - a job reports any failure to its page
            detail = traceback.format_exception_only(err)[-1].strip()
            self._finish("failed", detail)
        else:
            with self._lock:
                self.outcome = outcome
            self._finish("done")


_jobs: dict[str, FinetuneJob] = {}
_jobs_lock = threading.Lock()


def start_job(request: FinetuneRequest, store: LogStore | None,
              settings: Settings | None = None) -> FinetuneJob:
    job = FinetuneJob(request, store, settings)
    with _jobs_lock:
        _jobs[job.id] = job
    return job.start()


def get_job(job_id: str) -> FinetuneJob | None:
    with _jobs_lock:
        return _jobs.get(job_id)


def running_jobs() -> list[FinetuneJob]:
    with _jobs_lock:
        return [j for j in _jobs.values() if j.state == "running"]
