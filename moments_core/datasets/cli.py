"""`moments build-dataset KIND ID VARIANT --format csv --out PATH` (the older argument order)."""

from __future__ import annotations

from datetime import datetime

import typer
from tqdm import tqdm

from moments_core.store import open_store

from .export import default_s3_key, export_dataset
from .formats import FORMATS, get_format
from .walk import ExportFilters


def build_dataset(
    kind: str = typer.Argument(..., help="agent kind, or 'all'"),
    agent_id: str = typer.Argument(..., metavar="ID", help="agent id, or 'all'"),
    variant: str = typer.Argument(..., help="agent variant, or 'all'"),
    fmt: str = typer.Option("csv", "--format", "-f", help=f"one of: {', '.join(FORMATS)}"),
    out: str = typer.Option(
        "", "--out", "-o",
        help="output file (.csv/.jsonl/.parquet) or s3://bucket/key; default "
             "captured-datasets/from-KIND-ID-VARIANT.<ext>",
    ),
    since: datetime | None = typer.Option(None, help="moments created at or after"),
    until: datetime | None = typer.Option(None, help="moments created before"),
    min_rating: float | None = typer.Option(None, help="keep conversations rated at least"),
    include_excluded: bool = typer.Option(False, help="also conversations marked excluded"),
    latest_only: bool = typer.Option(False, help="only each moment's newest branch"),
    validation: float = typer.Option(0.0, help="share of moments for a validation file"),
    seed: int = typer.Option(0, help="seed of the train/validation split"),
    source: str = typer.Option(
        "", help="only moments from this source (chat, compare, eval, corpus, import, ...); "
                 "with --format dpo, 'eval' takes the pairs evaluation runs found"),
) -> None:
    """Export logged conversations as a training dataset."""
    try:
        dataset_format = get_format(fmt)
        filters = ExportFilters(
            agent_kind=kind, agent_id=agent_id, agent_variant=variant, since=since,
            until=until, min_rating=min_rating, include_excluded=include_excluded,
            branches="latest" if latest_only else "all", validation_fraction=validation,
            seed=seed, source=source or None,
        )
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    target = out or default_s3_key(kind, agent_id, variant, dataset_format.suffixes[0])
    store = open_store()
    with tqdm(desc="moments", unit=" moments") as bar:
        def progress(n: int) -> None:
            bar.update(n - bar.n)

        try:
            summary = export_dataset(store, dataset_format, target, filters, progress)
        except ValueError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None
    for path in summary.paths:
        typer.echo(path)
    typer.echo(
        f"{summary.rows} rows from {summary.conversations} conversations "
        f"({summary.moments} moments) -> {', '.join(summary.paths)}"
    )
