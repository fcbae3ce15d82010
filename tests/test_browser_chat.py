"""Chat and Compare in a real headless Chromium (issue 14 items 1-3, 5, 9; issue 12 item 12).

One dashboard server for the module. The instant provider answers where the model is not
the point; a fake OpenAI server in this process (the real SDK over HTTP) answers where a
test must see a turn while it is in flight, and the real local model where the waiting
for it is the point.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from moments_core.store import open_store
from tests.fixtures_agents import FakeModelServer, _handler, _QuietServer
from tests.fixtures_app import INSTANT_CONFIG
from tests.fixtures_browser import (
    ARTIFACTS,
    HAS_CHROMIUM,
    Dashboard,
    bubbles,
    choose_variant,
    click_until,
    send,
    start_dashboard,
    stop_dashboard,
    wait_idle,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HAS_CHROMIUM, reason="chromium is not installed"),
]

PAGE_TITLES = {"Chat", "Prompt editor", "Compare", "Conversations", "Datasets", "Insights",
               "Corpora", "Fine-tune", "MDL playground", "Evals"}


def _slow_config(variant: str, port: int) -> str:
    return INSTANT_CONFIG.format(variant=variant).replace("id: echo", "id: slow").replace(
        "provider: instant\nmodel: echo",
        f"provider: openai\nmodel: gpt-4o-mini\nbase_url: http://127.0.0.1:{port}/v1")


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeModelServer]:
    fake = FakeModelServer(reply="First answer.")
    httpd = _QuietServer(("127.0.0.1", 0), _handler(fake))
    fake.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield fake
    httpd.shutdown()
    httpd.server_close()


class _Tracker(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Tracker.hits.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def tracker() -> Iterator[tuple[int, list[str]]]:
    """A server that records every request: an image or link pointing here must never
    be fetched by a viewer's browser."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Tracker)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield httpd.server_address[1], _Tracker.hits
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory,
              fake_openai: FakeModelServer) -> Iterator[Dashboard]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    folder = tmp_path_factory.mktemp("browser-chat")
    extra = {f"Agent-slow-{v}.yaml": _slow_config(v, fake_openai.port) for v in ("01", "02")}
    dash = start_dashboard(folder, extra, env={"MOMENTS_DEFAULT_AGENT": "Agent-echo-01",
                                               "OPENAI_API_KEY": "sk-test-not-a-real-key"})
    yield dash
    stop_dashboard(dash)


def _open(browser: Any, url: str) -> Any:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(url, wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Chat")).to_be_visible(timeout=60_000)
    wait_idle(page)
    return page


def _params(url: str) -> tuple[str, str]:
    found = dict(re.findall(r"[?&](moment|leaf)=([0-9a-f-]+)", url))
    return found.get("moment", ""), found.get("leaf", "")


def test_reload_back_forward_shared_link_and_recent_list(dashboard: Dashboard,
                                                         browser: Any) -> None:
    from playwright.sync_api import expect

    page = _open(browser, dashboard.url)
    send(page, "one")
    expect(page.get_by_text("You said: one")).to_be_visible(timeout=30_000)
    send(page, "two")
    expect(page.get_by_text("You said: two")).to_be_visible(timeout=30_000)
    wait_idle(page)
    moment, first_leaf = _params(page.url)
    assert moment and first_leaf, page.url

    page.reload(wait_until="domcontentloaded")
    expect(page.get_by_text("You said: two")).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(bubbles(page)).to_have_count(4, timeout=30_000)

    click_until(page, page.get_by_role("button", name="Regenerate").last,
                page.get_by_text("2/2"))
    expect(page.get_by_text("2/2")).to_be_visible(timeout=30_000)
    wait_idle(page)
    _, second_leaf = _params(page.url)
    assert second_leaf and second_leaf != first_leaf

    page.go_back()
    expect(page.get_by_text("1/2")).to_be_visible(timeout=30_000)
    assert _params(page.url) == (moment, first_leaf)
    page.go_forward()
    expect(page.get_by_text("2/2")).to_be_visible(timeout=30_000)

    # A shared link: another browser session lands on the same branch.
    other = browser.new_context().new_page()
    other.goto(f"{dashboard.url}/chat?moment={moment}&leaf={first_leaf}",
               wait_until="domcontentloaded")
    expect(other.get_by_text("1/2")).to_be_visible(timeout=60_000)
    expect(other.get_by_text("You said: two")).to_be_visible()

    # The recent list reopens it from a fresh start.
    fresh = _open(browser, dashboard.url)
    row = fresh.locator('[data-testid="stHorizontalBlock"]', has_text="one · Agent-echo-01 ·")
    expect(row).to_have_count(1, timeout=30_000)
    row.get_by_role("button", name="Open").click()
    expect(fresh.get_by_text("You said: two")).to_be_visible(timeout=30_000)
    wait_idle(fresh)
    assert _params(fresh.url)[0] == moment
    for p in (page, other, fresh):
        p.close()


def test_regenerate_and_edit_stream_in_place_cancel_and_thumbs(
    dashboard: Dashboard, browser: Any, fake_openai: FakeModelServer
) -> None:
    from playwright.sync_api import expect

    page = _open(browser, dashboard.url)
    choose_variant(page, "Agent-slow-01")
    fake_openai.default, fake_openai.reply = "ok", "First answer."
    send(page, "one")
    expect(page.get_by_text("First answer.")).to_be_visible(timeout=30_000)
    fake_openai.reply = "Second answer."
    send(page, "two")
    expect(page.get_by_text("Second answer.")).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(bubbles(page)).to_have_count(4, timeout=30_000)

    # Regenerate the FIRST answer: while the model works, the turns below it are gone and
    # the waiting bubble stands where the old answer was.
    # The model takes 8 s: the old turns must be gone well before its answer arrives.
    fake_openai.default, fake_openai.slow_seconds, fake_openai.reply = "slow", 8.0, "Redone."
    click_until(page, page.get_by_role("button", name="Regenerate").first,
                bubbles(page).nth(1).get_by_text("thinking…"), timeout_ms=4_000)
    expect(bubbles(page)).to_have_count(2, timeout=6_000)
    expect(bubbles(page).nth(1)).to_contain_text("thinking…")
    expect(page.get_by_text("Second answer.")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "chat-regenerate-in-place.png"))
    expect(page.get_by_text("Redone.")).to_be_visible(timeout=30_000)
    expect(bubbles(page)).to_have_count(2, timeout=30_000)
    expect(bubbles(page).nth(1)).to_contain_text("Redone.")

    # Edit, then Cancel: the form closes and nothing is stored.
    store = open_store(dashboard.db_url)
    moment, _ = _params(page.url)
    before = len(store.tree(moment))
    click_until(page, page.get_by_role("button", name="Edit").first,
                page.get_by_role("button", name="Cancel"))
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0, timeout=30_000)
    assert len(store.tree(moment)) == before

    # Edit and send: the edited line replaces the old one in place while the model works.
    fake_openai.reply = "Edited answer."
    click_until(page, page.get_by_role("button", name="Edit").first,
                page.get_by_role("button", name="Cancel"))
    wait_idle(page)
    page.locator('[data-testid="stForm"] textarea').fill("uno")
    page.get_by_role("button", name="Send edited message").click()
    expect(bubbles(page)).to_have_count(2, timeout=6_000)
    expect(bubbles(page).nth(1)).to_contain_text("thinking…")
    assert "uno" in bubbles(page).nth(0).inner_text()
    expect(page.get_by_text("Edited answer.")).to_be_visible(timeout=30_000)
    fake_openai.default = "ok"
    wait_idle(page)

    # Thumbs: pressed shows as pressed; a second press takes it back; one record.
    up = bubbles(page).nth(1).get_by_role("button", name=re.compile("thumb_up"))

    def up_as(kind: str) -> Any:  # the thumb, drawn pressed (primary) or not (secondary)
        return up.and_(page.locator(f'[data-testid="stBaseButton-{kind}"]'))

    click_until(page, up, up_as("primary"), timeout_ms=8_000)
    wait_idle(page)
    expect(up).to_have_attribute("data-testid", "stBaseButton-primary", timeout=30_000)
    _, leaf = _params(page.url)
    click_until(page, up, up_as("secondary"), timeout_ms=8_000)
    wait_idle(page)
    expect(up).to_have_attribute("data-testid", "stBaseButton-secondary", timeout=30_000)
    thumbs = [f for f in store.list_feedback(snapshot_id=leaf) if f.kind == "thumbs"]
    assert len(thumbs) == 1 and thumbs[0].value in (None, 0)
    page.close()


def test_waiting_for_the_model_is_said(dashboard: Dashboard, browser: Any) -> None:
    from playwright.sync_api import expect

    page = _open(browser, dashboard.url)
    choose_variant(page, "Agent-cafebot-01")
    dashboard.hold("load")  # the model cannot load yet, as on a cold start
    try:
        send(page, "Hello!")
        expect(page.get_by_text("loading the model…")).to_be_visible(timeout=10_000)
    finally:
        dashboard.release("load")
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=120_000)
    wait_idle(page)
    dashboard.hold("model")  # another tab's turn holds the model
    try:
        send(page, "A latte, please.")
        expect(page.get_by_text("waiting for the model (1 ahead)")).to_be_visible(
            timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "chat-waiting.png"))
    finally:
        dashboard.release("model")
    expect(page.get_by_role("button", name="Regenerate")).to_have_count(2, timeout=120_000)
    page.close()


def test_no_raw_page_list_flashes_in_the_sidebar(dashboard: Dashboard, browser: Any) -> None:
    page = browser.new_page()
    # Record every navigation link text from the first paint on.
    page.add_init_script("""
        window.__navTexts = new Set();
        new MutationObserver(() => {
          document.querySelectorAll('[data-testid="stSidebar"] a').forEach(a => {
            window.__navTexts.add(a.innerText.trim().split('\\n').pop().trim());
          });
        }).observe(document, {subtree: true, childList: true, characterData: true});
    """)
    page.goto(dashboard.url, wait_until="domcontentloaded")
    page.get_by_role("heading", name="Chat").wait_for(timeout=60_000)
    page.get_by_role("link", name="MDL playground").wait_for(timeout=60_000)
    wait_idle(page)
    seen = set(page.evaluate("Array.from(window.__navTexts)")) - {""}
    assert seen, "the navigation never showed"
    assert seen <= PAGE_TITLES, f"raw page names flashed: {sorted(seen - PAGE_TITLES)}"
    page.close()


def test_untrusted_text_never_loads_images_or_links(
    dashboard: Dashboard, browser: Any, tracker: tuple[int, list[str]]
) -> None:
    from playwright.sync_api import expect

    port, hits = tracker
    requested: list[str] = []
    page = _open(browser, dashboard.url)
    page.on("request", lambda r: requested.append(r.url))
    image = f"![x](http://127.0.0.1:{port}/track.png)"
    link = f"[click](http://127.0.0.1:{port}/link) http://127.0.0.1:{port}/bare www.example.com"
    send(page, image)
    expect(page.get_by_text(image).first).to_be_visible(timeout=30_000)
    send(page, link)
    expect(page.get_by_text(link).first).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(bubbles(page)).to_have_count(4, timeout=30_000)
    assert bubbles(page).locator("img").count() == 0  # the avatars are icons, not images
    assert bubbles(page).locator("a").count() == 0
    page.wait_for_timeout(500)
    assert not hits and not [u for u in requested if str(port) in u], (hits, requested)
    page.close()


def test_compare_lanes_answer_concurrently_and_vote_in_one_click(
    dashboard: Dashboard, browser: Any, fake_openai: FakeModelServer
) -> None:
    from playwright.sync_api import expect

    page = _open(browser, dashboard.url)
    choose_variant(page, "Agent-slow-01")
    page.get_by_role("link", name="Compare").click()
    expect(page.get_by_role("heading", name="Compare")).to_be_visible(timeout=30_000)
    wait_idle(page)
    # Two lanes on the fake OpenAI server: the variant at T=0.3 and at T=1.
    page.get_by_text("One variant at several temperatures").click()
    expect(page.get_by_text("Agent-slow-01 @ T=1", exact=True)).to_be_visible(timeout=30_000)
    wait_idle(page)
    fake_openai.default, fake_openai.slow_seconds, fake_openai.reply = "slow", 2.5, "Lane."
    seen_before = len(fake_openai.seen)
    send(page, "ping")
    deadline = time.time() + 30
    while len(fake_openai.seen) < seen_before + 1 and time.time() < deadline:
        time.sleep(0.02)
    first = time.time()
    while len(fake_openai.seen) < seen_before + 2 and time.time() < deadline:
        time.sleep(0.02)
    gap = time.time() - first
    page.screenshot(path=str(ARTIFACTS / "compare-lanes-asked.png"))
    # One after another, the second lane would ask only after the first's 2.5 s answer.
    assert len(fake_openai.seen) == seen_before + 2 and gap < 1.5, gap
    columns = page.locator('[data-testid="stColumn"] [data-testid="stChatMessage"]')
    expect(columns).to_have_count(2, timeout=30_000)
    expect(page.get_by_text("Lane.")).to_have_count(2, timeout=30_000)
    fake_openai.default = "ok"
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "compare-lanes.png"))

    page.get_by_role("button", name="Best: Agent-slow-01 @ T=1").click()
    expect(page.get_by_text("Vote: Agent-slow-01 @ T=1")).to_be_visible(timeout=30_000)
    store = open_store(dashboard.db_url)
    votes = [f for s in store.list_moments(source="compare")
             for f in store.list_feedback(moment_id=s.info.moment_id) if f.kind == "preference"]
    assert len(votes) == 1
    page.close()
