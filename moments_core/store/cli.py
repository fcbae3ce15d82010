"""`moments log ...` and `moments import`: look at the log store, fill it from older logs.

Every command opens the store the settings name (MOMENTS_DB_URL, the S3 settings).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import typer
from tqdm import tqdm

from moments_core.settings import get_settings

from . import open_store
from .base import MomentFilter, NotFound, StoreError
from .legacy_import import import_snapshots
from .render import moment_line, tree_lines

log_app = typer.Typer(help="Browse the log store: moments and their snapshot trees.",
                      no_args_is_help=True)
T = TypeVar("T")


@log_app.command("list")
def list_moments(
    kind: str | None = typer.Argument(None, help="agent kind, e.g. Agent"),
    agent_id: str | None = typer.Argument(None, help="agent id, e.g. cafebot"),
    variant: str | None = typer.Argument(None, help="agent variant, e.g. 01"),
    limit: int | None = typer.Option(None, help="show at most this many, newest first"),
    deleted: bool = typer.Option(False, "--deleted", help="include deleted moments"),
) -> None:
    """One line per moment: id, kind/id/variant, source, snapshots, leaves, created time."""
    store = open_store()
    try:
        where = MomentFilter(agent_kind=kind, agent_id=agent_id, agent_variant=variant,
                             include_deleted=deleted)
        for summary in store.list_moments(where, limit=limit):
            typer.echo(moment_line(summary))
    finally:
        store.close()


@log_app.command("show")
def show(
    moment_id: str = typer.Argument(..., help="the moment's id"),
    mdl: bool = typer.Option(False, "--mdl", help="print each leaf's conversation as MDL"),
) -> None:
    """The moment's snapshot tree, or with --mdl the canonical MDL of every leaf's path."""
    store = open_store()
    try:
        if mdl:
            texts = [leaf.to_mdl() for leaf in store.leaves(moment_id)]
            typer.echo("\n".join(texts), nl=False)
        else:
            for line in tree_lines(store.tree(moment_id)):
                typer.echo(line)
    except NotFound as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()


def _progress(items: Iterable[T], total: int) -> Iterable[T]:
    bar: Iterable[T] = tqdm(items, total=total, desc="importing", unit="snapshot")
    return bar


def import_command(
    source: str = typer.Argument(..., help="s3://bucket/prefix or a folder of .json files"),
) -> None:
    """Import snapshots written in the older full-snapshot JSON form; safe to repeat."""
    settings = get_settings()
    store = open_store(settings=settings)
    try:
        report = import_snapshots(store, source, settings, progress=_progress)
    except StoreError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    for name, why in report.errors[:20]:
        typer.echo(f"{name}: {why}", err=True)
    if len(report.errors) > 20:
        typer.echo(f"... and {len(report.errors) - 20} more errors", err=True)
    typer.echo(report.summary())
    if report.errors:
        raise typer.Exit(1)
