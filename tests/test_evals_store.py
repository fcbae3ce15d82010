"""Run records survive reopening the store: a SQLite file (migration 0005_eval_runs), the
Postgres server, and S3 over HTTP (moto's server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moments_core.evals import RunRecord
from moments_core.settings import Settings
from moments_core.store import NotFound
from moments_core.store.base import LogStore
from moments_core.store.migrate import current_revisions, head_revisions

from .evals_fixtures import EvalEnv, eval_env  # noqa: F401

SUITE = """\
name: keep
variants: [bot-a]
scenarios:
  - name: s
    script: [Hi, A latte]
    assert: [{icontains: latte}, {no_repeat: true}]
"""


def _record(env: EvalEnv) -> RunRecord:
    return env.run(SUITE, {"a": lambda said: f"Got it: {said}"})


def _same(a: RunRecord, b: RunRecord) -> None:
    assert b.to_dict() == a.to_dict()
    assert b.scores() == {"bot-a": 1.0}
    assert [t.answer for t in b.cases[0].turns] == ["Got it: Hi", "Got it: A latte"]
    assert b.variants[0].config_version == a.variants[0].config_version is not None


def test_sqlite_run_records_survive_reopening(eval_env: EvalEnv, tmp_path: Path) -> None:  # noqa: F811
    from moments_core.store.sql import SqlStore

    rec = _record(eval_env)
    eval_env.store.close()
    again = SqlStore(f"sqlite:///{tmp_path / 'evals.db'}")
    try:
        assert current_revisions(again.engine) == head_revisions()
        _same(rec, RunRecord.from_dict(again.get_eval_run(rec.run_id)))
        [summary] = again.list_eval_runs()
        assert (summary.run_id, summary.status, summary.scores) == (rec.run_id, "done",
                                                                    {"bot-a": 1.0})
        assert again.list_eval_runs("other suite") == []
        with pytest.raises(NotFound):
            again.get_eval_run("missing")
        # The run's conversations are ordinary eval moments in the same store.
        moments = again.list_moments(source="eval")
        assert {m.info.moment_id for m in moments} == {rec.cases[0].moment_id}
    finally:
        again.close()


def test_postgres_keeps_run_records(pg_store: LogStore, tmp_path: Path) -> None:
    record = {"run_id": "r1", "suite_name": "s", "suite_hash": "h", "status": "done",
              "created_at": "2026-12-01T09:00:00+00:00", "variants": [{"name": "a"}],
              "scores": {"a": 0.5}}
    pg_store.save_eval_run(record)
    pg_store.save_eval_run({**record, "scores": {"a": 0.75}})  # replaced, not duplicated
    assert pg_store.get_eval_run("r1")["scores"] == {"a": 0.75}
    assert [s.run_id for s in pg_store.list_eval_runs()] == ["r1"]


def test_s3_run_records_survive_reopening(eval_env: EvalEnv, s3_settings: Settings) -> None:  # noqa: F811
    from moments_core.store.s3 import S3Store

    store = S3Store(s3_settings)
    eval_env.store = store
    rec = _record(eval_env)
    store.close()
    again = S3Store(s3_settings)
    try:
        _same(rec, RunRecord.from_dict(again.get_eval_run(rec.run_id)))
        assert [s.run_id for s in again.list_eval_runs("keep")] == [rec.run_id]
        with pytest.raises(NotFound):
            again.get_eval_run("missing")
        keys = again._list(f"{again.prefix}/eval-runs/")
        assert keys == [f"{again.prefix}/eval-runs/{rec.run_id}.json"]
    finally:
        again.close()
