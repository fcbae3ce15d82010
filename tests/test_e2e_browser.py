"""End to end in a real headless Chromium (Debian's, driven by Playwright for Python).

Starts the dashboard on a loopback port with a fresh SQLite store, chats with the real
local model, visits every page, and saves screenshots under tests/artifacts/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {**os.environ, "MOMENTS_DB_URL": f"sqlite:///{tmp / 'e2e.db'}",
           "MOMENTS_DATA_DIR": str(tmp)}
    env.pop("MOMENTS_DASHBOARD_PASSWORD", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"streamlit exited: {out}") from None
            time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def test_chat_then_editor_then_compare_in_a_real_browser(dashboard: str, browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(dashboard, wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Chat")).to_be_visible(timeout=90_000)

    box = page.locator("textarea").last
    box.fill("Hello! Could I get a cappuccino, please?")
    box.press("Enter")
    user = page.get_by_text("Hello! Could I get a cappuccino, please?")
    expect(user.first).to_be_visible(timeout=60_000)
    # The answer is the second chat bubble, with the regenerate button under it.
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=120_000)
    bubbles = page.locator('[data-testid="stChatMessage"]')
    assert bubbles.count() >= 2
    answer = bubbles.nth(1).inner_text().strip()
    assert answer and "cappuccino, please?" not in answer
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

    page.goto(f"{dashboard}/editor", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Prompt editor")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Valid MDL").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "editor.png"), full_page=True)

    page.goto(f"{dashboard}/compare", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Compare")).to_be_visible(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)

    page.goto(f"{dashboard}/conversations", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Tree")).to_be_visible(timeout=60_000)
    graph = page.locator('[data-testid="stGraphVizChart"] svg')
    expect(graph.first).to_be_visible(timeout=30_000)
    assert graph.first.locator("g.node").count() >= 2  # root, the line asked, the answer
    page.screenshot(path=str(ARTIFACTS / "conversations.png"), full_page=True)

    page.goto(f"{dashboard}/datasets", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="First rows")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Prepare download")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stMetricValue"]').first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "datasets.png"), full_page=True)

    page.goto(f"{dashboard}/insights", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Insights")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Agent turns").first).to_be_visible(timeout=60_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "insights.png"), full_page=True)

    for path, heading, button in (("corpora", "Corpora", "Run"),
                                  ("finetune", "Fine-tune", "Start fine-tuning")):
        page.goto(f"{dashboard}/{path}", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=60_000)
        expect(page.get_by_role("button", name=button)).to_be_visible(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / f"{path}.png"), full_page=True)

    page.goto(f"{dashboard}/mdl", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="MDL playground")).to_be_visible(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "mdl.png"), full_page=True)
    page.close()
