"""``moments eval run|list|show|compare``: the matrix, the --fail-under gate, the record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moments_core.evals.cli import eval_app
from moments_core.settings import get_settings

from .evals_fixtures import write_config

SUITE = """\
name: gate
variants: [bot-a, bot-b]
scenarios:
  - name: greets
    script: [Hello]
    assert: [{icontains: hello}]
  - name: latte
    script: [A latte please]
    assert: [{icontains: latte}]
"""


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    configs = tmp_path / "configs"
    configs.mkdir()
    for v in ("a", "b"):
        write_config(configs, v)  # instant: echoes "You said: <line>"
    (tmp_path / "suite.yaml").write_text(SUITE)
    monkeypatch.setenv("MOMENTS_DB_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MOMENTS_CONFIGS_DIR", str(configs))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(eval_app, list(args))
    return result.exit_code, result.output


def test_run_prints_the_matrix_and_gates(cli_env: Path) -> None:
    suite = str(cli_env / "suite.yaml")
    code, out = _run("run", suite, "--fail-under", "0.8", "--out", str(cli_env / "r.json"))
    assert code == 0, out
    assert "greets" in out and "latte" in out and "bot-a pass" in out and "100%" in out
    assert "lanes" in out
    record = json.loads((cli_env / "r.json").read_text())
    assert record["scores"] == {"bot-a": 1.0, "bot-b": 1.0}
    # The echo fails a check the suite makes stricter: the gate answers 1.
    (cli_env / "strict.yaml").write_text(SUITE.replace("icontains: latte", "icontains: mocha"))
    code, out = _run("run", str(cli_env / "strict.yaml"), "--variants", "bot-b",
                     "--fail-under", "0.8")
    assert code == 1 and "under 80%: bot-b 50%" in out
    code, out = _run("run", str(cli_env / "strict.yaml"), "--fail-under", "0.5")
    assert code == 0, out


def test_list_show_compare(cli_env: Path) -> None:
    _run("run", str(cli_env / "suite.yaml"))
    (cli_env / "worse.yaml").write_text(SUITE.replace("icontains: latte", "icontains: mocha"))
    _run("run", str(cli_env / "worse.yaml"))
    code, out = _run("list")
    assert code == 0
    ids = [line.split()[0] for line in out.splitlines()]
    assert len(ids) == 2
    newest, oldest = ids
    code, out = _run("show", oldest)
    assert code == 0 and "You said: A latte please" in out and "[PASS] bot-a / latte" in out
    code, out = _run("compare", oldest, newest)
    assert code == 0
    assert any("bot-a / latte" in ln and "worse" in ln for ln in out.splitlines())
    assert any("bot-a / greets" in ln and "same" in ln for ln in out.splitlines())
    code, out = _run("show", "no-such-run")
    assert code == 2 and "no eval run" in out


def test_bad_suite_exits_2_naming_the_field(cli_env: Path) -> None:
    (cli_env / "bad.yaml").write_text("name: x\nvariants: []\nscenarios: []\n")
    code, out = _run("run", str(cli_env / "bad.yaml"))
    assert code == 2 and "bad.yaml: field 'variants'" in out
