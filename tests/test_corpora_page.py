"""The Corpora page through Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from moments_core.store.sql import SqlStore
from tests.corpora_data import synthetic, write_tiny

ROOT = Path(__file__).resolve().parents[1]


def page() -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / "corpora.py"), default_timeout=60).run()


def counts(at: AppTest) -> dict[str, int]:
    table = at.dataframe[0].value
    return dict(zip(table["count"], table["value"], strict=True))


def test_folder_to_csv_shows_counts_sample_and_download(tmp_path: Path) -> None:
    corpus = synthetic().write_corpus(tmp_path / "corpus", synthetic().Shape(posts=6), seed=2)
    at = page()
    assert not at.exception
    at.text_input(key="corpora_path").input(str(corpus))
    at.selectbox(key="corpora_config").select("Agent-cafebot-01")
    at.button(key="corpora_run").click().run()
    assert not at.exception and not at.error
    found = counts(at)
    assert found["threads written"] > 5 and found["utterances read"] > 50
    assert at.subheader[1].value == "Sample (5 moments)"
    assert len(at.chat_message) >= 10  # 5 moments, each at least two turns
    assert at.chat_message[0].name == "user"  # the post's author speaks first
    assert any(m.name == "assistant" for m in at.chat_message)
    assert at.markdown[1].value.startswith("**User")  # moment 1's first line


def test_filters_and_store_import(tmp_path: Path) -> None:
    corpus = write_tiny(tmp_path / "tiny")
    url = f"sqlite:///{tmp_path / 'moments.db'}"
    at = page()
    at.text_input(key="corpora_path").input(str(corpus))
    at.text_input(key="corpora_subreddits").input("AskReddit")
    at.radio(key="corpora_output").set_value("Log store").run()
    at.text_input(key="corpora_store_url").input(url)
    at.button(key="corpora_run").click().run()
    assert not at.exception and not at.error
    found = counts(at)
    assert found["threads written"] == 2 and found["skipped: other subreddit"] == 7
    assert "2 new, 0 already in the store" in at.success[0].value
    store = SqlStore(url)
    try:
        assert len(store.list_moments(source="corpus")) == 2
    finally:
        store.close()
    at.button(key="corpora_run").click().run()  # the same corpus again: nothing new
    assert not at.exception and not at.error
    assert "0 new, 2 already in the store" in at.success[0].value
    assert counts(at)["skipped: already in the store"] == 2
    store = SqlStore(url)
    try:
        assert len(store.list_moments(source="corpus")) == 2
    finally:
        store.close()


def test_chitchat_with_a_limit_and_missing_folder_error(tmp_path: Path) -> None:
    at = page()
    at.button(key="corpora_run").click().run()
    assert "corpus folder" in at.error[0].value
    at.radio(key="corpora_source").set_value("chitchat-dataset").run()
    at.number_input(key="corpora_limit").set_value(7).run()
    at.button(key="corpora_run").click().run()
    assert not at.exception
    assert counts(at)["threads written"] == 7
    assert at.chat_message[0].name == "assistant"  # the first chitchat speaker is Self
    # The dataset (and file) name follows the source: chitchat, not reddit.
    assert at.text_input(key="corpora_name_chitchat").value == "chitchat"
    _, _, done_name, _ = at.session_state["corpora_result"]
    assert f"from-{done_name}.csv" == "from-chitchat.csv"  # the download's file name
