"""Evaluation runs in the background (the Evals page): a thread per run, its progress, a
Cancel that stops it between turns, and the finished record.

Jobs live in this process (the page polls them); the record itself is saved in the log
store when the run starts and when it ends, so nothing depends on the job surviving.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from moments_core.store.base import LogStore

from .results import RunRecord
from .runner import EvalRunner
from .suite import Suite


@dataclass(slots=True)
class EvalJob:
    id: str
    suite_name: str
    runner: EvalRunner
    done: int = 0
    total: int = 0
    last: str = ""
    record: RunRecord | None = None
    error: str = ""
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def run_id(self) -> str:
        return self.runner.record.run_id

    def cancel(self) -> None:
        self.runner.cancel.set()


_jobs: dict[str, EvalJob] = {}
_lock = threading.Lock()


def start_job(suite: Suite, store: LogStore, *, suite_text: str = "", suite_path: str = "",
              variants: list[str] | None = None, **kwargs: Any) -> EvalJob:
    """Start the run in a thread; returns at once."""
    runner = EvalRunner(suite, store, suite_text=suite_text, suite_path=suite_path,
                        variants=variants, **kwargs)
    job = EvalJob(runner.record.run_id, suite.name, runner, total=len(runner.plan()))

    def progress(done: int, total: int, what: str) -> None:
        job.done, job.total, job.last = done, total, what

    runner.progress = progress

    def work() -> None:
        try:
            job.record = runner.run()
        except Exception as err:  # noqa: BLE001 - shown on the page, kept in the record
            job.error = f"{type(err).__name__}: {err}"

    job.thread = threading.Thread(target=work, name=f"moments-eval-{job.id[:8]}", daemon=True)
    with _lock:
        _jobs[job.id] = job
    job.thread.start()
    return job


def get_job(job_id: str) -> EvalJob | None:
    with _lock:
        return _jobs.get(job_id)
