"""Browser-test helpers: one dashboard server per test module, headless Chromium.

The server is the real ``streamlit run app.py`` (through ``tests/dashboard_server.py``, which
adds a handle on the local model's locks) on a loopback port, with a fresh SQLite store and
a configs folder holding the shipped configs plus instant-provider variants.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_app import INSTANT_CONFIG, ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
HAS_CHROMIUM = Path(CHROMIUM).exists()


@dataclass
class Dashboard:
    url: str
    folder: Path  # tmp folder: the store file, configs/, the lock-hold flags
    process: subprocess.Popen[bytes]

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.folder / 'app.db'}"

    def hold(self, what: str) -> None:
        """Hold the model's "load" or "model" lock until ``release``."""
        (self.folder / f"hold-{what}").touch()
        deadline = time.time() + 120
        while not (self.folder / f"holding-{what}").exists():
            if time.time() > deadline:
                raise TimeoutError(f"the server never held {what}")
            time.sleep(0.05)

    def release(self, what: str) -> None:
        (self.folder / f"hold-{what}").unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_dashboard(folder: Path, extra_configs: dict[str, str] | None = None,
                    env: dict[str, str] | None = None, hold: tuple[str, ...] = ()
                    ) -> Dashboard:
    configs = folder / "configs"
    configs.mkdir(parents=True, exist_ok=True)
    for f in (ROOT / "configs").glob("*.yaml"):
        (configs / f.name).write_text(f.read_text())
    for v in ("01", "02"):
        (configs / f"Agent-echo-{v}.yaml").write_text(INSTANT_CONFIG.format(variant=v))
    for name, text in (extra_configs or {}).items():
        (configs / name).write_text(text)
    for what in hold:
        (folder / f"hold-{what}").touch()
    port = free_port()
    full_env = {**os.environ, "MOMENTS_DB_URL": f"sqlite:///{folder / 'app.db'}",
                "MOMENTS_DATA_DIR": str(folder), "MOMENTS_CONFIGS_DIR": str(configs),
                "PYTHONPATH": str(ROOT), **(env or {})}
    if "MOMENTS_DASHBOARD_PASSWORD" not in (env or {}):
        full_env.pop("MOMENTS_DASHBOARD_PASSWORD", None)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "dashboard_server.py"), str(folder),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"streamlit exited: {out}") from None
            time.sleep(0.3)
    return Dashboard(f"http://127.0.0.1:{port}", folder, proc)


def stop_dashboard(dashboard: Dashboard) -> None:
    for flag in dashboard.folder.glob("hold-*"):
        flag.unlink()
    dashboard.process.terminate()
    try:
        dashboard.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        dashboard.process.kill()


def launch_browser(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, one per test module (registered in conftest.py)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


def send(page: Any, text: str) -> None:
    """Type a line into the chat input and send it (once the page is idle: a line sent
    while the previous answer's rerun redraws the input can be lost)."""
    wait_idle(page)
    box = page.locator('[data-testid="stChatInput"] textarea')
    box.fill(text)
    box.press("Enter")


def bubbles(page: Any) -> Any:
    return page.locator('[data-testid="stChatMessage"]')


def wait_idle(page: Any, timeout_ms: int = 60_000) -> None:
    """Wait until the script run is over (Streamlit shows a status widget while running)."""
    page.wait_for_timeout(150)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached",
                                                            timeout=timeout_ms)


def choose_variant(page: Any, name: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=name, exact=True).click()
    wait_idle(page)


def settled(page: Any, timeout_ms: int = 30_000) -> None:
    """Idle, and every widget drawn (Streamlit shows grey skeletons while a widget's code
    loads): what a screenshot for the docs should show."""
    wait_idle(page, timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector("
        "'[data-testid=\"stSkeleton\"], [data-testid=\"stSkeletonElement\"]')",
        timeout=timeout_ms)
    page.wait_for_timeout(300)


def click_until(page: Any, button: Any, appears: Any, tries: int = 3,
                timeout_ms: int = 10_000) -> None:
    """Click ``button`` until ``appears`` is visible. Streamlit may start a follow-up run
    (the URL update after an answer) right after the page looked idle, and a click that
    lands while that run redraws the button is dropped; a person clicks again, so do we."""
    for attempt in range(tries):
        wait_idle(page)
        if attempt and appears.is_visible():
            return  # the last click took effect, only later than we waited: no second one
        button.click()
        try:
            appears.wait_for(state="visible", timeout=timeout_ms)
            return
        except Exception:
            if attempt == tries - 1:
                raise
