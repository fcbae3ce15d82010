"""Evaluation run records in the log store: SQL (table ``eval_runs``, revision
``0005_eval_runs``) and S3 (one JSON object per run under ``{prefix}/eval-runs/``).

A record is the run's plain dict (``moments_core.evals.results.RunRecord.to_dict``): the
suite's hash and text, each variant with its config version, every case's turns and
verdicts with the judge's reasoning, timings and scores. The store keeps it as JSON and
does not look inside beyond a few columns for listing; ``LogStore`` delegates here, so
the back ends themselves need no code of their own for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite

from .base import NotFound, StoreError

if TYPE_CHECKING:
    from .base import LogStore

# Its own metadata: the table is created by its migration, not by SQLModel.
metadata = MetaData()
eval_runs_t = Table(
    "eval_runs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("suite_name", String(200), nullable=False),
    Column("suite_hash", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime(), nullable=False),
    Column("finished_at", DateTime(), nullable=True),
    Column("variants", Text, nullable=False),  # comma-separated names, for listing
    Column("score", Float, nullable=True),  # the best variant's score, for listing
    Column("record_json", Text, nullable=False),
)


@dataclass(slots=True)
class EvalRunSummary:
    """One row of ``moments eval list``."""

    run_id: str
    suite_name: str
    suite_hash: str
    status: str
    created_at: str
    variants: list[str]
    scores: dict[str, float | None]
    config_versions: dict[str, int | None]


def _summary(record: dict[str, Any]) -> EvalRunSummary:
    return EvalRunSummary(
        run_id=str(record["run_id"]), suite_name=str(record.get("suite_name", "")),
        suite_hash=str(record.get("suite_hash", "")), status=str(record.get("status", "")),
        created_at=str(record.get("created_at", "")),
        variants=[str(v.get("name", "")) for v in record.get("variants", [])],
        scores=dict(record.get("scores", {})),
        config_versions={str(v.get("name", "")): v.get("config_version")
                         for v in record.get("variants", [])},
    )


def _check(record: dict[str, Any]) -> str:
    run_id = record.get("run_id")
    if not isinstance(run_id, str) or not run_id or "/" in run_id or len(run_id) > 64:
        raise StoreError(f"an eval run record needs a run_id (text, no '/'), got {run_id!r}")
    return run_id


def _time(text: str) -> datetime | None:
    if not text:
        return None
    from datetime import UTC

    t = datetime.fromisoformat(text)
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _backend(store: LogStore) -> tuple[str, Any]:
    """("sql", SqlStore) or ("s3", S3Store); a mirrored store keeps runs in its SQL half."""
    from .mirror import MirroredStore
    from .s3 import S3Store
    from .sql import SqlStore

    if isinstance(store, MirroredStore):
        return "sql", store.sql
    if isinstance(store, SqlStore):
        return "sql", store
    if isinstance(store, S3Store):
        return "s3", store
    raise StoreError(f"{type(store).__name__} does not keep eval runs")


def _s3_key(prefix: str, run_id: str) -> str:
    return f"{prefix}/eval-runs/{run_id}.json"


# --- the three operations --------------------------------------------------------------
def save_eval_run(store: LogStore, record: dict[str, Any]) -> None:
    """Create or replace the run's record (a run is saved when it starts and ends)."""
    run_id = _check(record)
    body = json.dumps(record, ensure_ascii=False, default=str)
    kind, back = _backend(store)
    if kind == "s3":
        back._put(_s3_key(back.prefix, run_id), body.encode())
        return
    scores = [s for s in dict(record.get("scores", {})).values() if s is not None]
    values = {
        "run_id": run_id, "suite_name": str(record.get("suite_name", ""))[:200],
        "suite_hash": str(record.get("suite_hash", ""))[:64],
        "status": str(record.get("status", ""))[:20],
        "created_at": _time(str(record.get("created_at", ""))) or datetime.now(),
        "finished_at": _time(str(record.get("finished_at", ""))),
        "variants": ",".join(v.get("name", "") for v in record.get("variants", [])),
        "score": max(scores) if scores else None, "record_json": body,
    }
    with back.engine.begin() as conn:
        name = conn.dialect.name
        if name in ("sqlite", "postgresql"):
            dialect = sqlite if name == "sqlite" else postgresql
            stmt = dialect.insert(eval_runs_t).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["run_id"],
                set_={k: v for k, v in values.items() if k != "run_id"})
            conn.execute(stmt)
        else:
            conn.execute(eval_runs_t.delete().where(eval_runs_t.c.run_id == run_id))
            conn.execute(eval_runs_t.insert().values(**values))


def get_eval_run(store: LogStore, run_id: str) -> dict[str, Any]:
    """The run's record; raises NotFound."""
    kind, back = _backend(store)
    if kind == "s3":
        if "/" in run_id:
            raise NotFound(f"no eval run {run_id!r}")
        body = back._get(_s3_key(back.prefix, run_id))
        if body is None:
            raise NotFound(f"no eval run {run_id!r}")
        data: dict[str, Any] = json.loads(body)
        return data
    with back.engine.connect() as conn:
        text = conn.scalar(select(eval_runs_t.c.record_json)
                           .where(eval_runs_t.c.run_id == run_id))
    if text is None:
        raise NotFound(f"no eval run {run_id!r}")
    found: dict[str, Any] = json.loads(text)
    return found


def list_eval_runs(store: LogStore, suite_name: str | None = None,
                   limit: int | None = None) -> list[EvalRunSummary]:
    """Newest first."""
    kind, back = _backend(store)
    if kind == "s3":
        keys = back._list(f"{back.prefix}/eval-runs/")
        records = [json.loads(b) for b in back._pool.map(back._get, keys) if b]
        out = [_summary(r) for r in records
               if suite_name is None or r.get("suite_name") == suite_name]
        out.sort(key=lambda s: s.created_at, reverse=True)
        return out[:limit] if limit else out
    stmt = select(eval_runs_t.c.record_json).order_by(eval_runs_t.c.created_at.desc(),
                                                      eval_runs_t.c.run_id)
    if suite_name is not None:
        stmt = stmt.where(eval_runs_t.c.suite_name == suite_name)
    if limit:
        stmt = stmt.limit(limit)
    with back.engine.connect() as conn:
        return [_summary(json.loads(t)) for t in conn.scalars(stmt)]
