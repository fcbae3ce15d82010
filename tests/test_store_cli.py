"""`moments log list`, `moments log show`, `moments import` on a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moments_core.cli import app
from moments_core.settings import get_settings
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info, conversation
from tests.fixtures_store import ConversationFactory

runner = CliRunner()


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MOMENTS_DB_URL", url)
    monkeypatch.delenv("MOMENTS_S3_MIRROR", raising=False)
    get_settings.cache_clear()
    store = SqlStore(url)
    yield store
    store.close()
    get_settings.cache_clear()


def test_log_list_and_show(cli_store: SqlStore, make_conversation: ConversationFactory) -> None:
    info, snaps = make_conversation(cli_store, turns=2, regenerate_every=2)
    make_conversation(cli_store, turns=1, agent_id="financebot")
    out = runner.invoke(app, ["log", "list"]).output.splitlines()
    assert len(out) == 2
    out = runner.invoke(app, ["log", "list", "Agent", "cafebot", "01"]).output.splitlines()
    assert out == [f"{info.moment_id}  Agent/cafebot/01  chat  snapshots={len(snaps)}  leaves=2"
                   f"  {info.created_at.isoformat(timespec='seconds')}"]

    tree = runner.invoke(app, ["log", "show", info.moment_id]).output.splitlines()
    assert len(tree) == len(snaps)
    assert tree[0].startswith(snaps[0].id) and "Customer:" in tree[0]
    assert sum(line.endswith("[leaf]") for line in tree) == 2
    assert tree[-1].startswith("      ") and "Self:" in tree[-1]  # depth 3, indented

    mdl = runner.invoke(app, ["log", "show", info.moment_id, "--mdl"]).output
    leaves = cli_store.leaves(info.moment_id)
    assert mdl == "\n".join(leaf.to_mdl() for leaf in leaves)
    missing = runner.invoke(app, ["log", "show", "nope"])
    assert missing.exit_code == 1 and "not stored" in missing.output


def test_import_command(cli_store: SqlStore, tmp_path: Path) -> None:
    info = agent_info("legacy-cli")
    folder = tmp_path / "old"
    folder.mkdir()
    snaps = conversation(2, info)
    for s in snaps:
        d = s.to_dict()
        d["__agent_info"] = {"kind": "Agent", "id": "cafebot", "variant": "01"}
        (folder / f"{s.id}.json").write_text(json.dumps(d))
    first = runner.invoke(app, ["import", str(folder)])
    assert first.exit_code == 0, first.output
    assert f"imported {len(snaps)}," in first.output
    second = runner.invoke(app, ["import", str(folder)])
    assert f"imported 0, already stored {len(snaps)}" in second.output
    assert cli_store.leaves("legacy-cli")[0].to_mdl() == snaps[-1].to_mdl()
