"""Conversations and Datasets in a real headless Chromium (issue 14 items 10, 11, 13).

One dashboard server for the module, on a store filled beforehand by the runtime on
the instant provider. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from moments_core.agents import Agent
from moments_core.agents.config import parse_config
from moments_core.providers.instant import InstantProvider
from moments_core.store import LogStore, open_store
from tests.fixtures_app import INSTANT_CONFIG
from tests.fixtures_browser import (
    ARTIFACTS,
    HAS_CHROMIUM,
    Dashboard,
    start_dashboard,
    stop_dashboard,
    wait_idle,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HAS_CHROMIUM, reason="chromium is not installed"),
]


def _finish(events: Any) -> Any:
    out = None
    for item in events:
        if not isinstance(item, str):
            out = item
    return out


def _fill(store: LogStore) -> dict[str, str]:
    """Two conversations (the older one branched by a regenerate); their moment ids."""
    agent = Agent(parse_config(INSTANT_CONFIG.format(variant="01")), InstantProvider(), store)
    root = agent.start()
    first = _finish(agent.respond(root, "hello")).snapshot
    second = _finish(agent.respond(first, "a latte")).snapshot
    _finish(agent.regenerate(second))
    other = agent.start()
    _finish(agent.respond(other, "just browsing"))
    return {"latte": root.moment_id, "browsing": other.moment_id}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("data-pages")
    store = open_store(f"sqlite:///{folder / 'app.db'}")
    moments = _fill(store)
    store.close()
    dashboard = start_dashboard(folder)
    yield dashboard, moments
    stop_dashboard(dashboard)


def _click_row(page: Any, table: Any, row: int) -> None:
    """Click the selection cell of a row of an st.dataframe (a canvas grid: by position)."""
    box = table.bounding_box()
    assert box is not None
    header = row_height = 35
    page.mouse.click(box["x"] + 12, box["y"] + header + row_height * row + row_height / 2)
    wait_idle(page)


def _click_row_until(page: Any, table: Any, row: int, shows: Callable[[int], None],
                     tries: int = 3) -> None:
    """``_click_row`` until ``shows`` (an expect with the timeout it is given) passes: a
    click that lands while Streamlit redraws after the previous one is dropped, and a
    person clicks again (see ``click_until``)."""
    for attempt in range(tries):
        if attempt:  # the last click may have taken effect after we stopped waiting
            wait_idle(page)
            try:
                shows(500)
                return
            except AssertionError:
                pass
        _click_row(page, table, row)
        try:
            shows(8_000)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def test_conversations_click_rows_and_nodes_rate_twice_delete_asks_continue(
    server: tuple[Dashboard, dict[str, str]], browser: Any,
) -> None:
    from playwright.sync_api import expect

    dashboard, moments = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{dashboard.url}/conversations", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Conversations")).to_be_visible(timeout=60_000)
    wait_idle(page)
    tables = page.locator('[data-testid="stDataFrame"]')
    # Newest first: the open one is "just browsing"; a click on row 2 opens the other.
    heading = page.get_by_role("heading", level=3, name="Conversation ")
    expect(heading).to_have_text(f"Conversation {moments['browsing'][:8]}…")
    _click_row_until(page, tables.first, 1, lambda ms: expect(heading).to_have_text(
        f"Conversation {moments['latte'][:8]}…", timeout=ms))
    assert parse_qs(urlparse(page.url).query)["moment"] == [moments["latte"]]
    path = page.locator('[data-testid="stChatMessage"]')
    expect(path).to_have_count(4)  # hello, answer, a latte, the regenerated answer
    page.screenshot(path=str(ARTIFACTS / "conversations-open.png"), full_page=True)

    # A click on a node of the list opens it: the root holds no dialogue yet.
    _click_row_until(page, tables.nth(1), 0,
                     lambda ms: expect(path).to_have_count(0, timeout=ms))
    assert "node" in parse_qs(urlparse(page.url).query)
    _click_row_until(page, tables.nth(1), 2,  # the answer to "hello"
                     lambda ms: expect(path).to_have_count(2, timeout=ms))
    node = parse_qs(urlparse(page.url).query)["node"][0]

    # Rate it twice: confirmed each time, stored once.
    slider = page.get_by_role("slider", name="Rating")
    slider.focus()
    for _ in range(4):
        slider.press("ArrowRight")
    page.get_by_label("Labels (comma separated)").fill("polite, coffee")
    page.get_by_role("button", name="Save feedback").click()
    expect(page.get_by_text("Feedback saved for snapshot")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("rating 4, labels coffee, polite")).to_be_visible()
    page.get_by_role("button", name="Save feedback").click()
    wait_idle(page)
    expect(page.get_by_text("Feedback saved for snapshot")).to_be_visible(timeout=20_000)
    store = open_store(dashboard.db_url)
    try:
        kinds = sorted((f.kind, str(f.value)) for f in store.list_feedback(snapshot_id=node))
    finally:
        store.close()
    assert kinds == [("label", "coffee"), ("label", "polite"), ("rating", "4")]
    page.screenshot(path=str(ARTIFACTS / "conversations-feedback.png"), full_page=True)

    # Delete asks first; Cancel keeps the moment.
    page.get_by_role("button", name="Delete this moment").click()
    expect(page.get_by_text(f"Delete moment {moments['latte'][:8]}")).to_be_visible(
        timeout=20_000)
    page.get_by_role("button", name="Cancel").click()
    wait_idle(page)
    expect(page.get_by_role("button", name="Delete this moment")).to_be_visible()
    store = open_store(dashboard.db_url)
    try:
        assert not store.get_moment(moments["latte"]).deleted
    finally:
        store.close()

    # Continue in Chat: the chat page's URL names the moment and the node.
    page.get_by_role("link", name="Continue in Chat").click()
    page.wait_for_url("**/chat?**", timeout=20_000)
    query = parse_qs(urlparse(page.url).query)
    assert query["moment"] == [moments["latte"]] and query["leaf"] == [node]
    page.close()


def test_datasets_switching_format_drops_the_prepared_file(
    server: tuple[Dashboard, dict[str, str]], browser: Any, tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    dashboard, _ = server
    page = browser.new_page(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    page.goto(f"{dashboard.url}/datasets", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Datasets")).to_be_visible(timeout=60_000)
    wait_idle(page)

    def choose(format_name: str) -> None:
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Format").first.click()
        page.get_by_role("option").filter(has_text=f"{format_name} — ").first.click()
        wait_idle(page)

    choose("dpo")
    # The pair as prompt / chosen / rejected columns (the grid is a canvas: its cells are
    # checked by AppTest in test_app_data_pages; here it is seen in the screenshot).
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Prepare download").click()
    expect(page.get_by_role("button", name="Download dpo.jsonl")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "datasets-dpo.png"), full_page=True)

    choose("openai-chat")
    expect(page.get_by_text("prepare it again")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("button", name="Download dpo.jsonl")).to_have_count(0)
    page.get_by_role("button", name="Prepare download").click()
    button = page.get_by_role("button", name="Download openai-chat.jsonl")
    expect(button).to_be_visible(timeout=30_000)
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "openai-chat.jsonl"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert '"messages"' in saved.read_text().splitlines()[0]
    page.close()
