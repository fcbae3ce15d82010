"""The Fine-tune page through AppTest (a tiny GPT-2 base, a real SQLite store), and the
`moments finetune` command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from moments_core.finetune import get_job
from moments_core.settings import get_settings
from moments_core.store import open_store
from tests.finetune_fixtures import build_tiny_gpt2, fill_store

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ("Agent", "cafebot", "01")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2-page"))


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh store (with logged cafe conversations) and data folder for the app."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    store = open_store(url)
    fill_store(store, conversations=8)
    store.close()
    monkeypatch.setenv("MOMENTS_DB_URL", url)
    monkeypatch.setenv("MOMENTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MOMENTS_DASHBOARD_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/finetune.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Fine-tune"
    return at


def start(at: AppTest, base: Path, max_steps: int) -> str:
    at.text_input(key="ft_base").input(str(base))
    at.number_input(key="ft_max_steps").set_value(max_steps)
    at.number_input(key="ft_lr").set_value(0.005)
    at.toggle(key="ft_lora").set_value(False)
    at.button(key="ft_start").click().run()
    assert not at.exception, at.exception
    job_id = str(at.session_state["finetune_job"])
    assert get_job(job_id) is not None
    return job_id


def test_train_in_the_background_then_open_compare(data_env: Path, tiny: Path) -> None:
    at = page()
    job_id = start(at, tiny, max_steps=6)
    job = get_job(job_id)
    assert job is not None
    at.run()  # the page answers while the job runs (or has just finished)
    assert not at.exception and at.get("progress")
    assert job.wait(timeout=90) and job.state == "done", job.error
    at.run()
    assert not at.exception, at.exception
    assert "Agent-cafebot-01-sft" in at.success[0].value
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")  # the loss chart
    assert len(job.status().losses) == 6
    at.button(key="ft_compare").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Compare"
    assert at.session_state["compare_keys"] == [SOURCE, ("Agent", "cafebot", "01-sft")]


def test_cancel_stops_the_job_and_saves_nothing(data_env: Path, tiny: Path) -> None:
    at = page()
    job_id = start(at, tiny, max_steps=5000)
    job = get_job(job_id)
    assert job is not None
    deadline = time.monotonic() + 60
    while job.status().step < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.status().state == "running"
    at.run()
    assert at.button(key="ft_start").disabled  # one job at a time
    t0 = time.monotonic()
    at.button(key="ft_cancel").click().run()
    assert job.wait(timeout=60) and job.state == "cancelled"
    assert time.monotonic() - t0 < 5  # the trainer leaves at its next step
    assert job.status().step < 5000
    at.run()
    warning = at.warning[0].value
    assert warning.startswith("Cancelled: the model in training was discarded and nothing "
                              "was saved or registered; the base model")
    assert not at.button(key="ft_start").disabled
    store = open_store(get_settings().database_url)
    assert not store.list_config_versions("Agent", "cafebot", "01-sft")
    assert not list((data_env / "data" / "models").glob("cafebot-01-sft-*/config.json"))


def test_cli_trains_from_a_file_and_registers(data_env: Path, tiny: Path) -> None:
    from moments_core.cli import app

    data = data_env / "sft.jsonl"
    runner = CliRunner()
    built = runner.invoke(app, ["build-dataset", "Agent", "cafebot", "01", "--format", "sft",
                                "--out", str(data)])
    assert built.exit_code == 0, built.output
    out = data_env / "cli-model"
    result = runner.invoke(app, [
        "finetune", "--base", str(tiny), "--data", str(data), "--method", "sft",
        "--max-steps", "3", "--lr", "0.005", "--out", str(out), "--variant", "cli",
        "--agent", "Agent-cafebot-01", "--threads", "2",
    ])
    assert result.exit_code == 0, result.output
    assert "registered variant: Agent-cafebot-cli" in result.output
    assert json.loads((out / "training.json").read_text())["steps"] == 3
    bad = runner.invoke(app, ["finetune", "--out", str(out), "--method", "ppo",
                              "--data", str(data)])
    assert bad.exit_code == 2 and "--method must be one of sft, dpo" in bad.output
    neither = runner.invoke(app, ["finetune", "--out", str(out)])
    assert neither.exit_code == 2 and "exactly one of --data" in neither.output


def test_step_counter_uses_max_steps_before_the_first_step(data_env: Path, tiny: Path) -> None:
    from moments_core.finetune import FinetuneRequest, TrainSettings
    from moments_core.finetune.jobs import FinetuneJob

    job = FinetuneJob(FinetuneRequest(out=data_env / "m", base=str(tiny),
                                      settings=TrainSettings(max_steps=200)), None)
    assert job.status().max_steps == 200 and job.status().step == 0


def test_conversion_shows_its_progress_and_cancel_stops_it_at_once(data_env: Path) -> None:
    """The one-time SmolLM2 conversion (a fresh data folder has none): its own progress
    bar while it runs, and Cancel ends it within seconds, keeping nothing."""
    at = page()
    at.number_input(key="ft_max_steps").set_value(3)
    at.button(key="ft_start").click().run()
    job = get_job(str(at.session_state["finetune_job"]))
    assert job is not None
    deadline = time.monotonic() + 30
    while job.status().conversion is None and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    assert not at.exception, at.exception
    bar = at.get("progress")[0].proto
    assert bar.text.startswith("Converting the base model (once, reused afterwards): ")
    assert "MB written" in bar.text and "step 0/?" not in bar.text
    t0 = time.monotonic()
    at.button(key="ft_cancel").click().run()
    assert job.wait(timeout=10) and job.state == "cancelled", job.status()
    assert time.monotonic() - t0 < 10
    at.run()
    warning = at.warning[0].value
    assert "conversion was stopped" in warning and "nothing of it was kept" in warning
    models = data_env / "data" / "models"
    assert not [p.name for p in models.iterdir()] if models.exists() else True
