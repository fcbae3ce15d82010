"""Where rows go: CSV, JSONL or Parquet files, written as they come (bounded memory)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from moments_core.extras import needs_extra

Row = dict[str, Any]

_PARQUET_BATCH = 2_000


class RowSink:
    """Writes rows to one file; use as a context manager."""

    def __init__(self, path: Path, kind: str, csv_columns: tuple[str, ...] = ()) -> None:
        self.path = path
        self.kind = kind
        self.count = 0
        self._columns = csv_columns
        self._fh: IO[str] | None = None
        self._csv: Any = None
        self._batch: list[Row] = []
        self._parquet: Any = None

    def __enter__(self) -> RowSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "csv":
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            self._csv = csv.DictWriter(self._fh, fieldnames=list(self._columns))
            self._csv.writeheader()
        elif self.kind == "jsonl":
            self._fh = self.path.open("w", encoding="utf-8")
        elif self.kind != "parquet":
            raise ValueError(f"unknown sink kind {self.kind!r}")
        return self

    def write(self, row: Row) -> None:
        self.count += 1
        if self.kind == "csv":
            self._csv.writerow(row)
        elif self.kind == "jsonl":
            assert self._fh is not None
            self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            self._batch.append(row)
            if len(self._batch) >= _PARQUET_BATCH:
                self._flush_parquet()

    def _flush_parquet(self) -> None:
        with needs_extra("parquet"):
            import pyarrow as pa
            import pyarrow.parquet as pq

        if not self._batch:
            return
        if self._parquet is None:
            table = pa.Table.from_pylist(self._batch)
            self._parquet = pq.ParquetWriter(str(self.path), table.schema)
        else:
            table = pa.Table.from_pylist(self._batch, schema=self._parquet.schema)
        self._parquet.write_table(table)
        self._batch.clear()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.kind == "parquet":
            self._flush_parquet()
            if self._parquet is not None:
                self._parquet.close()
            elif exc is None:  # no rows: still leave a valid (empty) file behind
                with needs_extra("parquet"):
                    import pyarrow as pa
                    import pyarrow.parquet as pq

                pq.write_table(pa.table({}), str(self.path))
        if self._fh is not None:
            self._fh.close()


def sink_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    return "jsonl"
