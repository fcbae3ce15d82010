"""End to end in a real headless Chromium (Debian's, driven by Playwright for Python): the
everyday loop of issue 14's "Done when", with the real local model.

chat 3 turns -> reload -> still there -> regenerate -> Conversations -> open it -> rate ->
Continue in Chat -> Datasets: the DPO file holds the pair. Then every page once. The
screenshots land in tests/artifacts/ (docs/screenshots/ is refreshed from them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from moments_core.store import open_store
from tests.fixtures_browser import (
    ARTIFACTS,
    HAS_CHROMIUM,
    Dashboard,
    bubbles,
    send,
    settled,
    start_dashboard,
    stop_dashboard,
    wait_idle,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HAS_CHROMIUM, reason="chromium is not installed"),
]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dash = start_dashboard(tmp_path_factory.mktemp("e2e"))  # default: cafebot-01, local
    yield dash
    stop_dashboard(dash)


def _answers(page: Any) -> Any:
    return page.get_by_role("button", name="Regenerate")


def test_the_everyday_loop(dashboard: Dashboard, browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(dashboard.url, wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Chat")).to_be_visible(timeout=90_000)
    wait_idle(page)

    # Chat: three turns with the real model.
    for n, line in enumerate(["Hello!", "Could I get a latte, please?", "Make it large."], 1):
        send(page, line)
        expect(_answers(page)).to_have_count(n, timeout=180_000)
        wait_idle(page, 180_000)
    moment = parse_qs(urlparse(page.url).query)["moment"][0]
    assert bubbles(page).count() == 6
    settled(page)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

    # Reload: still there.
    page.reload(wait_until="domcontentloaded")
    expect(_answers(page)).to_have_count(3, timeout=60_000)
    expect(bubbles(page)).to_have_count(6)
    expect(page.get_by_text("Customer: Make it large.")).to_be_visible()

    # Regenerate the last answer: a second branch, the first answer kept as Rejected.
    old_answer = bubbles(page).nth(5).inner_text()
    _answers(page).last.click()
    expect(page.get_by_text("2/2")).to_be_visible(timeout=180_000)
    wait_idle(page, 180_000)
    leaf = parse_qs(urlparse(page.url).query)["leaf"][0]

    # Conversations: open it (the newest), rate the regenerated answer.
    page.get_by_role("link", name="Conversations").click()
    expect(page.get_by_role("heading", name=f"Conversation {moment[:8]}…")).to_be_visible(
        timeout=60_000)
    expect(page.get_by_text("Customer: Hello! · Agent-cafebot-01")).to_be_visible()
    wait_idle(page)
    expect(page.locator('[data-testid="stChatMessage"]')).to_have_count(6, timeout=30_000)
    slider = page.get_by_role("slider", name="Rating")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    page.get_by_role("button", name="Save feedback").click()
    expect(page.get_by_text("Feedback saved for snapshot")).to_be_visible(timeout=30_000)
    settled(page)
    page.screenshot(path=str(ARTIFACTS / "conversations.png"), full_page=True)
    store = open_store(dashboard.db_url)
    ratings = [f for f in store.list_feedback(moment_id=moment) if f.kind == "rating"]
    assert [(f.snapshot_id, f.value) for f in ratings] == [(leaf, 5)]

    # Continue in Chat: the same branch, ready for the next line.
    page.get_by_role("link", name="Continue in Chat").click()
    # The chat is the default page: its URL is the root (or /chat) with the query.
    page.wait_for_url(re.compile(r".*/(chat)?\?moment=.*"), timeout=30_000)
    expect(page.get_by_role("heading", name="Chat")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("2/2")).to_be_visible(timeout=30_000)
    assert parse_qs(urlparse(page.url).query)["moment"] == [moment]

    # Datasets: DPO holds the pair (chosen: the new answer, rejected: the old one).
    page.get_by_role("link", name="Datasets").click()
    expect(page.get_by_role("heading", name="Datasets")).to_be_visible(timeout=60_000)
    wait_idle(page)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Format").first.click()
    page.get_by_role("option").filter(has_text="dpo — ").first.click()
    wait_idle(page)
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Prepare download").click()
    download_button = page.get_by_role("button", name="Download dpo.jsonl")
    expect(download_button).to_be_visible(timeout=60_000)
    settled(page)
    page.screenshot(path=str(ARTIFACTS / "datasets.png"), full_page=True)
    with page.expect_download() as got:
        download_button.click()
    saved = tmp_path / "dpo.jsonl"
    got.value.save_as(saved)
    rows = [json.loads(line) for line in saved.read_text().splitlines() if line.strip()]
    new_answer = store.get_snapshot(leaf).moment.occurrences[-1].says
    pairs = [r for r in rows if _text(r["chosen"]) == new_answer]
    assert pairs, rows
    assert _text(pairs[0]["rejected"]) in old_answer
    store.close()

    # Every other page renders (screenshots for the docs).
    for path, heading in (("editor", "Prompt editor"), ("compare", "Compare"),
                          ("insights", "Insights"), ("corpora", "Corpora"),
                          ("finetune", "Fine-tune"), ("evals", "Evals"),
                          ("mdl", "MDL playground")):
        page.goto(f"{dashboard.url}/{path}", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=60_000)
        settled(page, 120_000)
        page.screenshot(path=str(ARTIFACTS / f"{path}.png"), full_page=True)
    page.close()


def _text(value: Any) -> str:
    """A DPO field's text: a plain string, or the content of its (last) message."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        return str(value[-1].get("content", ""))
    return str(value)
