"""`moments chat` (scripted through a pipe, with the real local model) and
`moments agents list|check`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from moments_core.cli import app
from moments_core.settings import PROJECT_ROOT, get_settings
from moments_core.store import open_store

runner = CliRunner()
CONFIGS = PROJECT_ROOT / "configs"


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CO_API_KEY", "COHERE_API_KEY",
                 "MOMENTS_CONFIGS_DIR", "MOMENTS_DEFAULT_AGENT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_check_accepts_the_shipped_configs() -> None:
    files = [str(p) for p in sorted(CONFIGS.glob("*.yaml"))]
    result = runner.invoke(app, ["agents", "check", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == len(files)


def test_check_names_file_and_field_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "Agent-bad-01.yaml"
    bad.write_text("id: bad\nvariant: '01'\nprovider: gpt5\nmodle: x\n")
    good = CONFIGS / "Agent-cafebot-01.yaml"
    result = runner.invoke(app, ["agents", "check", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: provider: unknown provider 'gpt5'" in result.output
    assert f"{bad}: modle: is not a known field" in result.output
    assert f"{bad}: init: is missing" in result.output
    assert f"{good}: ok" in result.output


def test_list_shows_provider_model_and_version(tmp_path: Path, no_keys: None) -> None:
    url = f"sqlite:///{tmp_path / 'list.db'}"
    store = open_store(url)
    text = (CONFIGS / "Agent-pf-01.yaml").read_text()
    store.save_config_version("Agent", "pf", "01", text)
    store.save_config_version("Agent", "pf", "01", text.replace("coach", "mentor"))
    store.close()
    result = runner.invoke(app, ["agents", "list", "--store", url])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "local" in rows["Agent-cafebot-01"] and "(default)" in rows["Agent-cafebot-01"]
    openai_row = rows["Agent-cafebot-openai"]
    assert "openai" in openai_row and "gpt-4o-mini" in openai_row
    assert rows["Agent-pf-01"].rstrip().endswith(" 2")


def test_chat_from_a_pipe_with_the_local_model(
    tmp_path: Path, local_provider: Any, no_keys: None
) -> None:
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    script = "Hi! A small tea, please.\n/mdl\n/regen\n/quit\nnever sent\n"
    result = runner.invoke(app, ["chat", "--store", url], input=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Customer: Hi! A small tea, please." in out
    assert out.count("\nSelf: ") >= 2  # the answer, then the regenerated one
    assert "Begin.\n" in out  # /mdl printed the moment
    store = open_store(url)
    try:
        [summary] = store.list_moments()
        assert summary.info.agent_id == "cafebot" and summary.info.config_version == 1
        [leaf, _] = sorted(store.leaves(summary.info.moment_id),
                           key=lambda s: len(s.moment.occurrences))[::-1]
        kinds = [o.kind for o in leaf.moment.occurrences]
        assert kinds[-3:] == ["Participant", "Rejected", "Self"]
        assert "never sent" not in leaf.moment.to_mdl()
    finally:
        store.close()


def test_chat_with_a_missing_key_says_what_to_set(tmp_path: Path, no_keys: None) -> None:
    url = f"sqlite:///{tmp_path / 'nokey.db'}"
    result = runner.invoke(app, ["chat", "Agent", "cafebot", "openai", "--store", url],
                           input="Hi\n")
    assert result.exit_code == 1
    assert "OPENAI_API_KEY" in result.output
