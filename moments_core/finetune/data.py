"""Training rows: an exported file (JSONL or Parquet) or a fresh export from the store.

The rows are the exporters' own formats: ``sft`` gives ``{"messages": [...]}`` and
``dpo`` gives ``{"prompt": [...], "chosen": [...], "rejected": [...]}``. The eval rows
come from the exporter's ``-validation`` file when there is one, else a seeded share of
the training rows is held out.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from moments_core.datasets import ExportFilters, export_to_files
from moments_core.store.base import LogStore

Method = Literal["sft", "dpo"]
METHODS: tuple[Method, ...] = ("sft", "dpo")
Row = dict[str, Any]
EVAL_SHARE = 0.1
MAX_EVAL_ROWS = 64  # eval runs twice per job; more rows cost time and say little more


class DataError(ValueError):
    """Training data that cannot be used; the message names the file and the fix."""


@dataclass(slots=True)
class TrainingData:
    train: list[Row]
    eval: list[Row]
    source: str  # the file (or files) the rows came from
    eval_from: str  # "validation file" | "held out" | "train rows"


def read_rows(path: Path) -> list[Row]:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows: list[Row] = pq.read_table(path).to_pylist()
        return rows
    out: list[Row] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{n}: not a JSON line ({err.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: expected a JSON object per line")
            out.append(row)
    return out


def check_rows(rows: list[Row], method: Method, source: str) -> None:
    """Fail early, with the file and row, instead of deep inside a trainer."""
    need = ("messages",) if method == "sft" else ("prompt", "chosen", "rejected")
    for n, row in enumerate(rows, 1):
        missing = [k for k in need if k not in row]
        if missing:
            fmt = "an sft" if method == "sft" else "a dpo"
            raise DataError(f"{source}: row {n} lacks {', '.join(missing)}: is this {fmt} "
                            f"export? (moments build-dataset ... --format {method})")
        if method == "sft" and not any(m.get("role") == "assistant" for m in row["messages"]):
            raise DataError(f"{source}: row {n} has no assistant turn to learn from")


def validation_sibling(path: Path) -> Path | None:
    """``x-train.jsonl`` -> ``x-validation.jsonl`` when the exporter wrote both."""
    if not path.stem.endswith("-train"):
        return None
    other = path.with_name(f"{path.stem[: -len('-train')]}-validation{path.suffix}")
    return other if other.is_file() else None


def load_training_data(
    path: Path, method: Method, seed: int = 0, eval_path: Path | None = None
) -> TrainingData:
    rows = read_rows(path)
    if not rows:
        raise DataError(f"{path}: no rows. Log or import some conversations"
                        f"{' with regenerated or voted answers' if method == 'dpo' else ''}"
                        " and export again.")
    check_rows(rows, method, str(path))
    eval_path = eval_path or validation_sibling(path)
    if eval_path is not None:
        held = read_rows(eval_path)
        check_rows(held, method, str(eval_path))
        if held:
            return TrainingData(rows, held[:MAX_EVAL_ROWS], f"{path} + {eval_path}",
                                "validation file")
    if len(rows) < 2:  # nothing to hold out: the eval loss is measured on the train row
        return TrainingData(rows, list(rows), str(path), "train rows")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)  # noqa: S311 - a data split, not a secret
    n_eval = min(MAX_EVAL_ROWS, max(1, round(len(rows) * EVAL_SHARE)))
    held_ids = set(order[:n_eval])
    train = [r for i, r in enumerate(rows) if i not in held_ids]
    held_rows = [rows[i] for i in sorted(held_ids)]
    return TrainingData(train, held_rows, str(path), "held out")


def export_from_store(
    store: LogStore, method: Method, folder: Path, filters: ExportFilters
) -> Path:
    """Write the variant's conversations as ``method`` rows into ``folder``; returns
    the (train) file, with its ``-validation`` sibling when the filters split."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{method}.jsonl"
    summary = export_to_files(store, method, out, filters)
    if summary.rows == 0:
        what = "-".join(x or "all" for x in (filters.agent_kind, filters.agent_id,
                                             filters.agent_variant))
        raise DataError(f"the store has no {method} rows for {what}: chat with it first"
                        f"{' and regenerate or vote on answers' if method == 'dpo' else ''}")
    if filters.validation_fraction > 0:
        return folder / f"{method}-train.jsonl"
    return out
