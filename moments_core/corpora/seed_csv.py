"""The seed's generated dataset: a CSV with one column, ``conversation``.

Each row is the agent's init moment, a blank line, the thread's moment and
``<|ENDOFTEXT|>``. A name ending in ``.tar.gz`` gets a gzip'd tarball holding the CSV (the
older system's form); ``s3://bucket/key`` uploads the file there.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from moments_core.settings import Settings, get_settings

from .stats import ConversionStats
from .thread import END_OF_TEXT, Thread

COLUMN = "conversation"
HEADER = f"{COLUMN}\n"

Fill = Callable[[Path], None]
"""Writes the whole CSV (header included) to the given, already existing, path."""


def default_s3_url(name: str, settings: Settings | None = None) -> str:
    bucket = (settings or get_settings()).s3_bucket
    if not bucket:
        raise ValueError("no S3 bucket: set MOMENTS_S3_BUCKET or give an output path")
    return f"s3://{bucket}/generated-datasets/from-{name}.csv.tar.gz"


class RowWriter:
    """One thread -> one CSV row of the seed (RFC 4180: every field quoted, quotes doubled).

    Shared by the single-process writer and the distributed engine, so both write the same
    bytes for a thread. The csv module does the same character by character and was most
    of the run time; str.replace is a C loop.
    """

    __slots__ = ("head", "tail", "trace")

    def __init__(self, init_mdl: str, *, trace: bool = True) -> None:
        init = init_mdl if init_mdl.endswith("\n") else init_mdl + "\n"
        self.head = '"' + (init + "\n").replace('"', '""')
        self.tail = END_OF_TEXT + '"\n'
        self.trace = trace

    def row(self, thread: Thread) -> str:
        return self.head + thread.mdl(trace=self.trace).replace('"', '""') + self.tail


def default_s3_parts_url(name: str, settings: Settings | None = None) -> str:
    """Where the distributed engine writes its CSV parts when no output is given."""
    return default_s3_url(name, settings).removesuffix(".csv.tar.gz") + "/"


def csv_rows(
    threads: Iterable[Thread], f: TextIO, init_mdl: str, stats: ConversionStats, trace: bool,
) -> None:
    """The header line and one row per thread to ``f``."""
    f.write(HEADER)
    row = RowWriter(init_mdl, trace=trace).row
    write = f.write
    for thread in threads:
        write(row(thread))
        stats.threads_written += 1


def open_csv(path: str | Path) -> TextIO:
    return open(path, "w", encoding="utf-8", newline="", buffering=1 << 20)


def _rows_fill(
    threads: Iterable[Thread], init_mdl: str, stats: ConversionStats, trace: bool
) -> Fill:
    def fill(path: Path) -> None:
        with open_csv(path) as f:
            csv_rows(threads, f, init_mdl, stats, trace)

    return fill


def write_csv_file(
    threads: Iterable[Thread], path: str | Path, init_mdl: str, stats: ConversionStats,
    *, trace: bool = True,
) -> Path:
    """Write ``path`` (.csv, or .tar.gz holding the .csv); a partial file never remains."""
    return fill_csv_file(_rows_fill(threads, init_mdl, stats, trace), path)


def fill_csv_file(fill: Fill, path: str | Path) -> Path:
    """``fill`` writes the CSV; it lands at ``path`` (.csv, or .tar.gz holding it) only
    when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    packed = path.name.endswith(".tar.gz")
    csv_name = path.name[: -len(".tar.gz")] if packed else path.name
    if packed and not csv_name.endswith(".csv"):
        csv_name += ".csv"
    fd, tmp_name = tempfile.mkstemp(prefix=".part-", suffix=".csv", dir=path.parent)
    tmp = Path(tmp_name)
    os.chmod(fd, 0o644)  # mkstemp makes it private; the dataset is an ordinary file
    os.close(fd)
    try:
        fill(tmp)
        if packed:
            tar_tmp = tmp.with_suffix(".tar.gz")
            try:
                with tarfile.open(tar_tmp, "w:gz", compresslevel=6) as tar:
                    tar.add(tmp, arcname=csv_name)
                tar_tmp.replace(path)
            finally:
                tar_tmp.unlink(missing_ok=True)
        else:
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def upload(local: Path, url: str, settings: Settings | None = None) -> None:
    from moments_core.store.s3client import make_client

    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket or not key:
        raise ValueError(f"{url} must look like s3://bucket/key")
    make_client(settings or get_settings()).upload_file(str(local), bucket, key)


def write_seed(
    threads: Iterable[Thread], dest: str | Path, init_mdl: str, stats: ConversionStats,
    *, trace: bool = True, settings: Settings | None = None,
) -> str:
    """Write to a local path or an ``s3://`` URL; returns where it went."""
    return place_seed(_rows_fill(threads, init_mdl, stats, trace), dest, settings=settings)


def place_seed(fill: Fill, dest: str | Path, *, settings: Settings | None = None) -> str:
    """``fill``'s CSV to a local path or an ``s3://`` URL; returns where it went."""
    dest = str(dest)
    if not dest.startswith("s3://"):
        return str(fill_csv_file(fill, dest))
    with tempfile.TemporaryDirectory(prefix="moments-seed-") as tmp:
        local = fill_csv_file(fill, Path(tmp) / dest.rsplit("/", 1)[-1])
        upload(local, dest, settings)
    return dest
