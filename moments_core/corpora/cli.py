"""`moments generate-data reddit|chitchat NAME KIND ID VARIANT ...` (the older argument
order): a corpus -> the seed CSV (a path or S3) or the log store, with a progress bar."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm

from .agent_target import AgentTarget, load_target
from .reddit_threads import ThreadOptions
from .run import Conversion, Result, to_csv, to_store
from .seed_csv import default_s3_parts_url, default_s3_url
from .stats import ConversionStats

generate_data_app = typer.Typer(
    help="Turn public conversation corpora into moments: the seed CSV or the log store.",
    no_args_is_help=True,
)

NAME_HELP = "dataset name; the S3 default output is generated-datasets/from-NAME.csv.tar.gz"


class _Bar:
    """tqdm over the input (bytes of utterances.jsonl, or conversations), counts alongside."""

    def __init__(self, unit: str, scale: bool) -> None:
        self.bar = tqdm(total=0, unit=unit, unit_scale=scale, desc="reading", leave=True)

    def __call__(self, stats: ConversionStats) -> None:
        if stats.bytes_total and self.bar.total != stats.bytes_total:
            self.bar.total = stats.bytes_total
        self.bar.update(stats.bytes_read - self.bar.n)
        self.bar.set_postfix(
            utterances=stats.utterances_read, written=stats.threads_written,
            skipped=stats.threads_skipped, refresh=False,
        )

    def close(self) -> None:
        self.bar.close()


def _report(result: Result) -> None:
    for label, n in result.stats.summary().items():
        typer.echo(f"{label:>28}: {n:,}")
    for bad in result.stats.bad_lines:
        typer.echo(f"bad {bad}", err=True)
    hidden = result.stats.bad_line_count - len(result.stats.bad_lines)
    if hidden > 0:
        typer.echo(f"... and {hidden:,} more bad lines", err=True)
    typer.echo(f"written to {result.destination}")


def _run(
    conv: Conversion, name: str, kind: str, agent_id: str, variant: str,
    out: str | None, to_store_flag: bool, db: str | None, unit: str, scale: bool,
) -> None:
    if out and to_store_flag:
        raise typer.BadParameter("give either --out or --to-store, not both")
    bar = _Bar(unit, scale)
    try:
        if to_store_flag:
            from moments_core.store import open_store

            store = open_store(db)
            try:
                target = load_target(kind, agent_id, variant, store=store)
                result = to_store(conv, target, store, name, progress=bar)
            finally:
                store.close()
        else:
            target = _target(kind, agent_id, variant)
            dest = out or default_s3_url(name)
            result = to_csv(conv, target, dest, progress=bar)
    except (FileNotFoundError, ValueError) as err:
        bar.close()
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    bar.close()
    _report(result)


def _target(kind: str, agent_id: str, variant: str) -> AgentTarget:
    return load_target(kind, agent_id, variant)


def _options(
    min_score: int | None, min_turns: int | None, max_turns: int | None, subreddit: list[str]
) -> ThreadOptions:
    return ThreadOptions(
        min_score=min_score, min_turns=min_turns, max_turns=max_turns,
        subreddits=frozenset(s.strip().lower() for s in subreddit if s.strip()),
    )


@generate_data_app.command("reddit")
def reddit(
    name: str = typer.Argument(..., help=NAME_HELP),
    kind: str = typer.Argument(..., help="agent kind, e.g. Agent"),
    agent_id: str = typer.Argument(..., help="agent id, e.g. cafebot"),
    variant: str = typer.Argument(..., help="agent variant, e.g. 01"),
    path: str = typer.Option(
        ..., "--path",
        help="ConvoKit corpus folder or its .zip (dask: a folder, .jsonl or glob; s3:// too)"),
    out: str | None = typer.Option(
        None, "--out",
        help=".csv, .csv.tar.gz or s3://bucket/key (dask: a folder or s3:// prefix for parts)"),
    to_store_flag: bool = typer.Option(False, "--to-store", help="load into the log store"),
    db: str | None = typer.Option(None, "--db", help="store URL (default: the settings')"),
    min_score: int | None = typer.Option(None, help="skip paths with a lower-scored utterance"),
    min_turns: int | None = typer.Option(None, help="fewest utterances per path (default 2)"),
    max_turns: int | None = typer.Option(None, help="most utterances per path"),
    subreddit: list[str] = typer.Option([], "--subreddit", help="keep only these (repeat)"),
    limit: int | None = typer.Option(None, help="stop after this many threads"),
    no_trace: bool = typer.Option(False, "--no-trace",
                                  help="CSV: leave out the Context holding the source ids"),
    engine: str = typer.Option(
        "local", "--engine",
        help="local: one process on this machine; dask: a Dask cluster (see docs/corpora)"),
    scheduler: str | None = typer.Option(
        None, "--scheduler",
        help="dask: the scheduler's address, e.g. tcp://10.0.0.5:8786 (default: a local"
             " cluster on this machine)"),
    local_workers: int | None = typer.Option(
        None, "--local-workers", min=1, help="dask without --scheduler: worker processes"
                                             " (default: one per CPU)"),
) -> None:
    """Every root-to-leaf path of each post's reply tree becomes one moment."""
    options = _options(min_score, min_turns, max_turns, subreddit)
    if engine == "dask":
        _run_dask(name, kind, agent_id, variant, path, out, options, not no_trace,
                  scheduler, local_workers, bad=[(to_store_flag, "--to-store"),
                                                 (limit is not None, "--limit")])
        return
    if engine != "local":
        raise typer.BadParameter(f"--engine {engine!r}: use local or dask")
    if scheduler or local_workers:
        raise typer.BadParameter("--scheduler and --local-workers go with --engine dask")
    conv = Conversion("reddit", path=Path(path), limit=limit, trace=not no_trace,
                      options=options)
    _run(conv, name, kind, agent_id, variant, out, to_store_flag, db, "B", True)


def _run_dask(
    name: str, kind: str, agent_id: str, variant: str, path: str, out: str | None,
    options: ThreadOptions, trace: bool, scheduler: str | None, local_workers: int | None,
    bad: list[tuple[bool, str]],
) -> None:
    from .engine_dask import dask_csv

    for given, flag in bad:
        if given:
            raise typer.BadParameter(f"{flag} is not available with --engine dask")
    try:
        target = _target(kind, agent_id, variant)
        dest = out or default_s3_parts_url(name)
        typer.echo(f"converting {path} on Dask "
                   f"({scheduler or 'a local cluster'}) -> {dest}", err=True)
        done = dask_csv(path, target.init, dest, options, trace=trace, scheduler=scheduler,
                        local_workers=local_workers)
    except (FileNotFoundError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    for label, n in done.stats.summary().items():
        typer.echo(f"{label:>28}: {n:,}")
    typer.echo(f"written to {done.destination} ({len(done.parts)} parts)")


@generate_data_app.command("chitchat")
def chitchat(
    name: str = typer.Argument(..., help=NAME_HELP),
    kind: str = typer.Argument(..., help="agent kind, e.g. Agent"),
    agent_id: str = typer.Argument(..., help="agent id, e.g. cafebot"),
    variant: str = typer.Argument(..., help="agent variant, e.g. 01"),
    out: str | None = typer.Option(None, "--out", help=".csv, .csv.tar.gz or s3://bucket/key"),
    to_store_flag: bool = typer.Option(False, "--to-store", help="load into the log store"),
    db: str | None = typer.Option(None, "--db", help="store URL (default: the settings')"),
    min_turns: int | None = typer.Option(None, help="fewest turns per conversation (default 1)"),
    max_turns: int | None = typer.Option(None, help="most turns per conversation"),
    limit: int | None = typer.Option(None, help="stop after this many conversations"),
    no_trace: bool = typer.Option(False, "--no-trace",
                                  help="CSV: leave out the Context holding the source ids"),
) -> None:
    """Each chitchat-dataset conversation becomes one moment (first speaker: Self)."""
    conv = Conversion("chitchat", limit=limit, trace=not no_trace,
                      options=_options(None, min_turns, max_turns, []))
    _run(conv, name, kind, agent_id, variant, out, to_store_flag, db, "conv", False)
