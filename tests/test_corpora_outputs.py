"""Seed CSV (.csv, .csv.tar.gz, S3) and the log store import."""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path

import pytest

from moments_core.corpora import (
    Conversion,
    ThreadOptions,
    default_s3_url,
    load_target,
    reddit_threads,
    to_csv,
    to_store,
    write_seed,
)
from moments_core.corpora.stats import ConversionStats
from moments_core.mdl import Context, parse_moment, parse_occurrences
from moments_core.settings import Settings
from moments_core.store.base import LogStore
from tests.corpora_data import write_tiny

END = "<|ENDOFTEXT|>"


def rows(text: str) -> list[str]:
    reader = csv.reader(io.StringIO(text))
    assert next(reader) == ["conversation"]
    return [r[0] for r in reader]


def test_csv_rows_are_init_blank_line_moment_end(tmp_path: Path) -> None:
    target = load_target("Agent", "cafebot", "01")
    result = to_csv(Conversion("reddit", path=write_tiny(tmp_path / "c")), target,
                    tmp_path / "out" / "from-tiny.csv")
    assert result.destination == str(tmp_path / "out" / "from-tiny.csv")
    assert result.stats.threads_written == 4 and len(result.sample) == 4
    found = rows((tmp_path / "out" / "from-tiny.csv").read_text(encoding="utf-8"))
    assert len(found) == 4
    init = target.init if target.init.endswith("\n") else target.init + "\n"
    for row, thread in zip(found, result.sample, strict=True):
        assert row.startswith(init + "\n") and row.endswith(END)
        moment = parse_moment(row[len(init) + 1: -len(END)])
        assert isinstance(moment.occurrences[0], Context)
        assert moment.occurrences[1:] == thread.occurrences
    # The whole row parses as one moment: init occurrences, then the thread.
    whole = parse_occurrences(found[1][: -len(END)])
    assert whole[: len(parse_occurrences(target.init))] == parse_occurrences(target.init)
    assert not list(tmp_path.glob("out/.part-*"))  # no temporary file left


def test_tar_gz_holds_the_same_csv_and_no_trace_option(tmp_path: Path) -> None:
    target = load_target("Agent", "cafebot", "01")
    corpus = write_tiny(tmp_path / "c")
    to_csv(Conversion("reddit", path=corpus), target, tmp_path / "plain.csv")
    to_csv(Conversion("reddit", path=corpus), target, tmp_path / "from-x.csv.tar.gz")
    with tarfile.open(tmp_path / "from-x.csv.tar.gz", "r:gz") as tar:
        assert tar.getnames() == ["from-x.csv"]
        member = tar.extractfile("from-x.csv")
        assert member is not None
        packed = member.read().decode("utf-8")
    assert packed == (tmp_path / "plain.csv").read_text(encoding="utf-8")
    to_csv(Conversion("reddit", path=corpus, trace=False, limit=2), target, tmp_path / "nt.csv")
    bare = rows((tmp_path / "nt.csv").read_text(encoding="utf-8"))
    assert len(bare) == 2 and all("Context:" not in r for r in bare)


def test_upload_to_s3(s3_settings: Settings, tmp_path: Path) -> None:
    import boto3

    url = default_s3_url("tiny", s3_settings)
    assert url == f"s3://{s3_settings.s3_bucket}/generated-datasets/from-tiny.csv.tar.gz"
    stats = ConversionStats()
    threads = reddit_threads(write_tiny(tmp_path / "c"), ThreadOptions(), stats)
    assert write_seed(threads, url, "Begin.\n", stats, settings=s3_settings) == url
    client = boto3.client("s3", endpoint_url=s3_settings.s3_endpoint_url, region_name="us-east-1")
    body = client.get_object(Bucket=s3_settings.s3_bucket,
                             Key="generated-datasets/from-tiny.csv.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        member = tar.extractfile("from-tiny.csv")
        assert member is not None
        found = rows(member.read().decode("utf-8"))
    assert len(found) == 4 and found[0].startswith("Begin.\n\nContext: ```")


def test_no_bucket_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="MOMENTS_S3_BUCKET"):
        default_s3_url("x", Settings())


def test_store_import_saves_one_root_snapshot_per_thread(
    sqlite_store: LogStore, tmp_path: Path
) -> None:
    target = load_target("Agent", "cafebot", "01", store=sqlite_store)
    assert target.version == 1
    conv = Conversion("reddit", path=write_tiny(tmp_path / "c"))
    result = to_store(conv, target, sqlite_store, "tiny")
    assert result.stats.threads_written == 4
    moments = sqlite_store.list_moments(source="corpus")
    assert len(moments) == 4
    by_id = {m.info.moment_id: m for m in moments}
    for thread in result.sample:
        summary = by_id[thread.moment_id]
        assert summary.snapshots == 1 and summary.leaves == 1
        info = summary.info
        assert (info.agent_kind, info.agent_id, info.agent_variant) == ("Agent", "cafebot", "01")
        assert info.config_version == 1 and info.meta["thread"] == thread.key
        (leaf,) = sqlite_store.leaves(thread.moment_id)
        assert leaf.previous_snapshot_id is None
        init = parse_occurrences(target.init)
        assert leaf.moment.occurrences == [*init, *thread.occurrences]
        assert [u["id"] for u in leaf.annotations["utterances"]][-1] == thread.key.split("/")[1]
    # Importing again stores nothing new: ids come from the threads.
    to_store(conv, target, sqlite_store, "tiny")
    assert len(sqlite_store.list_moments(source="corpus")) == 4
