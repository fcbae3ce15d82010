"""Run a format over the store: count, preview, or write files (local or S3)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moments_core.mdl import Participant, Self
from moments_core.settings import Settings, get_settings
from moments_core.store.base import LogStore

from .formats import DatasetFormat, ExportContext, get_format
from .sinks import RowSink, sink_kind
from .turns import is_turn
from .walk import ExportFilters, Split, conversations_of, iter_trees

Row = dict[str, Any]
Progress = Callable[[int], None]  # called with the number of moments read so far


@dataclass(slots=True)
class ExportSummary:
    """What an export wrote (or would write)."""

    rows: int = 0
    moments: int = 0
    conversations: int = 0
    turns: int = 0  # agent turns (datasets.turns) along each exported conversation
    total_chars: int = 0  # of the participant and agent lines
    preference_rows: int = 0
    rows_by_split: dict[str, int] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)

    @property
    def average_turns(self) -> float:
        return self.turns / self.conversations if self.conversations else 0.0

    @property
    def average_chars_per_turn(self) -> float:
        return self.total_chars / self.turns if self.turns else 0.0

    @property
    def preference_share(self) -> float:
        return self.preference_rows / self.rows if self.rows else 0.0


def iter_rows(
    store: LogStore, fmt: DatasetFormat | str, filters: ExportFilters,
    summary: ExportSummary | None = None, progress: Progress | None = None,
) -> Iterator[tuple[Split, Row]]:
    """Every row of the format, moment by moment; fills ``summary`` as it goes."""
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    ctx = ExportContext(store)
    summary = summary if summary is not None else ExportSummary()
    for n, tree in enumerate(iter_trees(store, filters), start=1):
        conversations = conversations_of(tree, filters)
        if conversations:
            summary.moments += 1
            summary.conversations += len(conversations)
            for conv in conversations:
                for occ in conv.occurrences:
                    if is_turn(occ):
                        assert isinstance(occ, Self)
                        summary.turns += 1
                        summary.total_chars += len(occ.says)
                    elif isinstance(occ, Participant):
                        summary.total_chars += len(occ.says)
        for split, row in fmt.rows(tree, conversations, ctx):
            summary.rows += 1
            summary.rows_by_split[split] = summary.rows_by_split.get(split, 0) + 1
            if fmt.preference:
                summary.preference_rows += 1
            yield split, row
        if progress is not None:
            progress(n)


def preview(
    store: LogStore, fmt: DatasetFormat | str, filters: ExportFilters, limit: int = 5
) -> tuple[list[Row], ExportSummary]:
    """The first ``limit`` rows and the summary of the whole export (rows are counted,
    not kept)."""
    summary = ExportSummary()
    first: list[Row] = []
    for _, row in iter_rows(store, fmt, filters, summary):
        if len(first) < limit:
            first.append(row)
    return first, summary


def split_paths(out: Path, splits: bool) -> dict[str, Path]:
    """``data.jsonl`` -> ``data-train.jsonl`` and ``data-validation.jsonl`` when split."""
    if not splits:
        return {"train": out, "validation": out}
    return {s: out.with_name(f"{out.stem}-{s}{out.suffix}") for s in ("train", "validation")}


def export_to_files(
    store: LogStore, fmt: DatasetFormat | str, out: Path, filters: ExportFilters,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the dataset to ``out`` (``-train``/``-validation`` files when split)."""
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    kind = sink_kind(out)
    if kind == "csv" and not fmt.csv_columns:
        raise ValueError(f"format {fmt.name} is JSON-shaped; write it to .jsonl or .parquet")
    if kind == "parquet" and not fmt.parquet:
        raise ValueError(f"format {fmt.name} cannot be written as Parquet; use .jsonl")
    if fmt.csv_columns and kind != "csv":
        raise ValueError(f"format {fmt.name} is a CSV; give an output ending in .csv")
    paths = split_paths(out, filters.validation_fraction > 0)
    summary = ExportSummary(paths=sorted({str(p) for p in paths.values()}))
    sinks = {str(p): RowSink(p, kind, fmt.csv_columns) for p in set(paths.values())}
    for s in sinks.values():
        s.__enter__()
    try:
        for split, row in iter_rows(store, fmt, filters, summary, progress):
            sinks[str(paths[split])].write(row)
    finally:
        for s in sinks.values():
            s.__exit__(None, None, None)
    return summary


def default_s3_key(kind: str, agent_id: str, variant: str, suffix: str = ".csv") -> str:
    """The older logger's layout for captured datasets."""
    return f"captured-datasets/from-{kind}-{agent_id}-{variant}{suffix}"


def export_dataset(
    store: LogStore, fmt: DatasetFormat | str, out: str, filters: ExportFilters,
    progress: Progress | None = None, settings: Settings | None = None,
) -> ExportSummary:
    """Write to a local path or to ``s3://bucket/key`` (uploaded when complete)."""
    if not out.startswith("s3://"):
        return export_to_files(store, fmt, Path(out), filters, progress)
    from moments_core.store.s3client import make_client

    bucket, _, key = out[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError(f"{out!r}: an S3 output needs a bucket, as in s3://bucket/key")
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    if not key or key.endswith("/"):
        suffix = fmt.suffixes[0]
        key = key + default_s3_key(filters.agent_kind or "Agent", filters.agent_id or "all",
                                   filters.agent_variant or "all", suffix)
    client = make_client(settings or get_settings())
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / Path(key).name
        summary = export_to_files(store, fmt, local, filters, progress)
        uploaded = []
        for path in summary.paths:
            name = Path(path).name
            target = key if name == local.name else str(Path(key).with_name(name))
            client.upload_file(path, bucket, target)
            uploaded.append(f"s3://{bucket}/{target}")
        summary.paths = uploaded
    return summary


def render_bytes(
    store: LogStore, fmt: DatasetFormat | str, filters: ExportFilters, suffix: str | None = None,
    progress: Progress | None = None,
) -> tuple[bytes, ExportSummary]:
    """The whole export as one file's bytes (the dashboard's download button)."""
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    unsplit = ExportFilters(**{**_as_dict(filters), "validation_fraction": 0.0})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"dataset{suffix or fmt.suffixes[0]}"
        summary = export_to_files(store, fmt, path, unsplit, progress)
        return path.read_bytes(), summary


def _as_dict(filters: ExportFilters) -> dict[str, Any]:
    return {name: getattr(filters, name) for name in filters.__dataclass_fields__}
