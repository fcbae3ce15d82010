"""``moments eval run|list|show|compare``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from tqdm import tqdm

from moments_core.store import NotFound, open_store

from .report import compare_text, detail_text, matrix_text, run_header
from .results import RunRecord
from .runner import EvalRunner
from .suite import SuiteError, load_suite

eval_app = typer.Typer(help="Evaluations: run suites of conversations against variants.",
                       no_args_is_help=True)


def _names(text: str) -> list[str] | None:
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


@eval_app.command("run")
def run_command(
    suite_path: Path = typer.Argument(..., metavar="SUITE", help="a suite file, evals/*.yaml"),
    variants: str = typer.Option("", help="comma-separated variants (default: the suite's)"),
    repeats: int | None = typer.Option(None, min=1, help="times each scenario runs"),
    seed: int | None = typer.Option(None, help="sampling seed (repeat r uses seed + r)"),
    concurrency: int | None = typer.Option(None, min=1, help="lanes for remote providers"),
    fail_under: float | None = typer.Option(
        None, min=0.0, max=1.0, help="exit 1 when a variant's score is under this (CI gate)"),
    out: Path | None = typer.Option(None, help="also write the run record as JSON here"),
) -> None:
    """Run a suite; print the matrix; keep the run in the log store."""
    try:
        suite, text = load_suite(suite_path)
    except SuiteError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    store = open_store()
    bar = tqdm(desc="conversations", unit=" conv")

    def progress(done: int, total: int, what: str) -> None:
        bar.total = total
        bar.set_postfix_str(what[:40])
        bar.update(done - bar.n)

    runner = EvalRunner(suite, store, suite_text=text, suite_path=suite_path,
                        variants=_names(variants), repeats=repeats, seed=seed,
                        concurrency=concurrency, progress=progress)
    try:
        bar.total = len(runner.plan())
        record = runner.run()
    except (FileNotFoundError, ValueError) as err:
        bar.close()
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        bar.close()
        runner.cancel.set()
        typer.echo("cancelled", err=True)
        raise typer.Exit(130) from None
    bar.close()
    typer.echo(run_header(record))
    typer.echo(matrix_text(record))
    if out is not None:
        out.write_text(json.dumps(record.to_dict(), indent=2, ensure_ascii=False))
        typer.echo(f"record written to {out}")
    if fail_under is not None:
        low = {v: s for v, s in record.scores().items() if s is None or s < fail_under}
        if low:
            shown = ", ".join(f"{v} {'-' if s is None else f'{s:.0%}'}" for v, s in low.items())
            typer.echo(f"FAIL: under {fail_under:.0%}: {shown}", err=True)
            raise typer.Exit(1)


@eval_app.command("list")
def list_command(
    suite: str = typer.Option("", help="only runs of this suite (its name)"),
    limit: int = typer.Option(20, min=1),
) -> None:
    """Stored runs, newest first."""
    runs = open_store().list_eval_runs(suite or None, limit)
    if not runs:
        typer.echo("no eval runs stored")
    for r in runs:
        scores = ", ".join(f"{v} {'-' if s is None else f'{s:.0%}'}" for v, s in r.scores.items())
        typer.echo(f"{r.run_id}  {r.created_at[:19]}  {r.suite_name}  {r.status}  {scores}")


def _load(store_run_id: str) -> RunRecord:
    store = open_store()
    try:
        return RunRecord.from_dict(store.get_eval_run(store_run_id))
    except NotFound:
        typer.echo(f"error: no eval run {store_run_id!r} (see: moments eval list)", err=True)
        raise typer.Exit(2) from None


@eval_app.command("show")
def show_command(run_id: str = typer.Argument(..., metavar="RUN_ID")) -> None:
    """One run: the matrix, every conversation, verdicts and the judge's reasoning."""
    typer.echo(detail_text(_load(run_id)))


@eval_app.command("compare")
def compare_command(
    run_a: str = typer.Argument(..., metavar="RUN_A"),
    run_b: str = typer.Argument(..., metavar="RUN_B"),
) -> None:
    """What got better or worse from RUN_A to RUN_B, scenario by scenario."""
    typer.echo(compare_text(_load(run_a), _load(run_b)))
