"""Dashboard test helpers: a fresh store and configs per test, and AppTest runners."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from moments_core.settings import get_settings
from moments_core.store import LogStore, open_store

ROOT = Path(__file__).resolve().parents[1]
INSTANT_CONFIG = """\
mdl: "0.3"
kind: Agent
id: echo
variant: "{variant}"
provider: instant
model: echo
mode: chat
participant: Guest
init: |
  Instructions: '''
  You repeat what you hear.
  '''
  Begin.
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh store file and the shipped configs plus two instant-provider variants."""
    configs = tmp_path / "configs"
    configs.mkdir()
    for f in (ROOT / "configs").glob("*.yaml"):
        (configs / f.name).write_text(f.read_text())
    for v in ("01", "02"):
        (configs / f"Agent-echo-{v}.yaml").write_text(INSTANT_CONFIG.format(variant=v))
    monkeypatch.setenv("MOMENTS_DB_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("MOMENTS_CONFIGS_DIR", str(configs))
    monkeypatch.delenv("MOMENTS_DASHBOARD_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def app(page: str | None = None, variant: tuple[str, str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    if variant is not None:
        at.session_state["moments_variant"] = variant
    at.run()
    if page is not None:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def store_now() -> LogStore:
    return open_store(get_settings().database_url)
