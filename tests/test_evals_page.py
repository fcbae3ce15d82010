"""The Evals page: a suite validated live, run in the background to its matrix (AppTest);
and in headless Chromium a click on a matrix cell opens that cell's conversations."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from moments_core.settings import get_settings

from .fixtures_app import app, store_now

SUITE = """\
name: page-suite
variants: [echo-01, echo-02]
scenarios:
  - name: greets
    script: [Hello there]
    assert: [{icontains: hello}]
  - name: asks for mocha
    script: [A latte please]
    assert: [{icontains: mocha}, {max_chars: 100}]
"""


@pytest.fixture
def evals_env(env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = env / "evals"
    folder.mkdir()
    (folder / "page.yaml").write_text(SUITE)
    monkeypatch.setenv("MOMENTS_EVALS_DIR", str(folder))
    get_settings.cache_clear()
    return env


def _finish(at: AppTest, seconds: float = 60) -> None:
    # The matrix shows while a run is going (the record is saved after every case), so
    # wait for the stored run to be done, then for the page to show it.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        store = store_now()
        runs = store.list_eval_runs("page-suite")
        store.close()
        if runs and runs[0].status == "done":
            at.run()
            if any("Pass rate" in s.value for s in at.subheader):
                return
        time.sleep(0.3)
    raise AssertionError("the run did not finish")


def test_page_validates_live_and_runs_a_suite(evals_env: Path) -> None:
    at = app("evals")
    assert any("Valid: 2 scenarios" in s.value for s in at.success)
    assert any("No runs" in i.value for i in at.info)
    # A broken edit is reported by field, and Run is not offered.
    at.text_area[0].set_value(SUITE.replace("script: [Hello there]", "script: []")).run()
    assert any("greets" in e.value and "at least one line" in e.value
               for e in at.error)
    assert not [b for b in at.button if b.label == "Run"]
    at.text_area[0].set_value(SUITE).run()
    at.button(key="evals_run_button").click().run()
    _finish(at)
    assert not at.exception, at.exception
    [summary] = store_now().list_eval_runs("page-suite")
    assert summary.status == "done"
    assert summary.scores == {"echo-01": 0.75, "echo-02": 0.75}
    matrix = at.dataframe[0].value
    assert list(matrix.index) == ["greets", "asks for mocha", "suite score (weighted)"]
    assert matrix.iloc[0, 0] == 1.0 and matrix.iloc[1, 0] == 0.5
    # The first cell's conversations, two variants side by side, verdicts beside them.
    texts = " ".join([*(m.value for m in at.markdown), *(t.value for t in at.text)])
    assert "Hello there" in texts and "echo\\-01" in texts and "echo\\-02" in texts
    verdicts = at.table[0].value
    assert list(verdicts["assertion"]) == ["icontains: hello"]
    assert len(at.table) == 2  # one per variant, side by side
    assert any(h.value == "Score across config versions" for h in at.subheader)


def test_matrix_click_opens_the_conversation_in_chromium(evals_env: Path,
                                                          tmp_path: Path) -> None:
    pw = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("chromium is not installed")
    import subprocess
    import sys

    from moments_core.evals import load_suite
    from moments_core.evals.runner import EvalRunner

    store = store_now()
    suite, text = load_suite(evals_env / "evals" / "page.yaml")
    EvalRunner(suite, store, suite_text=text).run()
    store.close()
    from .fixtures_store import free_port, wait_for_port

    port = free_port()
    root = Path(__file__).resolve().parents[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(root / "app.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 60)
        with pw.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu",
                                              "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/evals", timeout=60_000)
            page.get_by_text("Pass rate: variants x scenarios").wait_for(timeout=60_000)
            grid = page.locator('[data-testid="stDataFrame"]').first
            grid.wait_for(timeout=30_000)
            page.wait_for_timeout(1000)
            assert page.get_by_text("Scenario: greets").count() == 1
            box = grid.bounding_box()
            assert box is not None
            # Row 2 ("asks for mocha"), the second variant's column: the grid is drawn on
            # a canvas, so the click goes to where the cell is drawn.
            header, row_h = 35, 35  # the last column is the second variant's
            page.mouse.click(box["x"] + box["width"] - 20, box["y"] + header + row_h * 1.5)
            heading = page.get_by_text("Scenario: asks for mocha")
            heading.wait_for(timeout=30_000)
            page.get_by_text("You said: A latte please").first.wait_for(timeout=30_000)
            assert page.get_by_text("none of ['mocha'] in the answer").count() == 2
            page.get_by_text("Run", exact=True).last.scroll_into_view_if_needed()
            page.mouse.wheel(0, 700)
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "evals-cell.png"))
            # The docs show this view (as the e2e test refreshes the other pages' shots).
            page.screenshot(path=str(root / "docs" / "screenshots" / "evals.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
