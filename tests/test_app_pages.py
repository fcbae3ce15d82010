"""The dashboard pages through Streamlit's AppTest, on a real SQLite store and the real
local model (chat), or the instant provider where only the page logic is under test."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from moments_core.settings import get_settings
from tests.fixtures_app import INSTANT_CONFIG, ROOT, app, store_now


def test_chat_turn_with_the_real_local_model_is_logged_and_rendered(env: Path) -> None:
    at = app()
    assert at.title[0].value == "Chat"
    at.chat_input[0].set_value("Hello! Can I get a latte?").run()
    assert not at.exception, at.exception
    bubbles = [(m.name, [t.value for t in m.text]) for m in at.chat_message]
    assert bubbles[0] == ("user", ["Customer: Hello! Can I get a latte?"])
    assert bubbles[1][0] == "assistant" and bubbles[1][1][0].strip()
    (summary,) = store_now().list_moments(agent_id="cafebot", agent_variant="01")
    assert summary.snapshots == 3 and summary.info.source == "chat"
    leaf = store_now().get_snapshot(at.session_state["chat_leaf"])
    assert leaf.moment.occurrences[-1].kind == "Self"
    assert leaf.moment.occurrences[-1].says == bubbles[1][1][0].split(") ", 1)[-1] \
        or leaf.moment.occurrences[-1].says == bubbles[1][1][0]


def test_regenerate_edit_and_branch_switching(env: Path) -> None:
    at = app(variant=("Agent", "echo", "01"))
    at.chat_input[0].set_value("one").run()
    at.chat_input[0].set_value("two").run()
    first_leaf = at.session_state["chat_leaf"]
    regen = [b for b in at.button if b.key and b.key.startswith("regen-")]
    regen[-1].click().run()
    assert not at.exception, at.exception
    store = store_now()
    leaf = store.get_snapshot(at.session_state["chat_leaf"])
    kinds = [o.kind for o in leaf.moment.occurrences]
    assert kinds[-2:] == ["Rejected", "Self"]
    assert leaf.moment.occurrences[-2].says == "You said: two"
    siblings = store.children(leaf.previous_snapshot_id)
    assert len(siblings) == 2 and first_leaf in siblings
    assert any(c.value == "2/2" for c in at.caption)

    # Switch back to the first answer: nothing lost.
    prev = [b for b in at.button if b.key and b.key.startswith("prev-a-")]
    prev[-1].click().run()
    assert at.session_state["chat_leaf"] == first_leaf

    # Edit the first participant message: a fork at that point, the old branch kept.
    edit = [b for b in at.button if b.key and b.key.startswith("edit-")]
    edit[0].click().run()
    at.text_area[0].input("uno")  # a form: the value is sent with the submit click
    submit = [b for b in at.button if "Send edited message" in (b.label or "")]
    submit[0].click().run()
    assert not at.exception, at.exception
    new_leaf = store.get_snapshot(at.session_state["chat_leaf"])
    says = [getattr(o, "says", None) for o in new_leaf.moment.occurrences]
    assert "uno" in says and "one" not in says
    (summary,) = store.list_moments(agent_id="echo", agent_variant="01")
    assert summary.leaves == 3


def test_feedback_buttons_store_thumbs(env: Path) -> None:
    at = app(variant=("Agent", "echo", "01"))
    at.chat_input[0].set_value("hi").run()
    down = [b for b in at.button if b.key and b.key.startswith("down-")]
    down[-1].click().run()
    fb = store_now().list_feedback(snapshot_id=at.session_state["chat_leaf"])
    assert [(f.kind, f.value) for f in fb] == [("thumbs", -1)]


def test_failed_model_call_keeps_the_message_and_offers_retry(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = INSTANT_CONFIG.format(variant="03").replace(
        "provider: instant\nmodel: echo", "provider: openai\nmodel: gpt-4o-mini\n"
        "base_url: http://127.0.0.1:9/v1"
    )
    (env / "configs" / "Agent-echo-03.yaml").write_text(broken)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    get_settings.cache_clear()
    at = app(variant=("Agent", "echo", "03"))
    at.chat_input[0].set_value("are you there?").run()
    assert not at.exception, at.exception
    assert at.error and "Your message is saved" in at.error[0].value
    assert "sk-test" not in at.error[0].value
    saved = store_now().get_snapshot(at.session_state["chat_leaf"])
    assert saved.moment.occurrences[-1].says == "are you there?"
    assert any(b.label == "Retry" for b in at.button)


def test_editor_rejects_bad_mdl_and_saves_a_version_the_chat_uses(env: Path) -> None:
    at = app("editor", variant=("Agent", "echo", "01"))
    area = at.text_area[0]
    area.input("Instructions: '''\nYou shout.\n'''\nBegin.\nSelf: \"unclosed\n").run()
    assert at.error and at.error[0].value.startswith("Line 5, column 7:")
    save = next(b for b in at.button if b.label == "Save as new version")
    assert save.disabled
    at.text_area[0].input("Instructions: '''\nYou shout.\n'''\nBegin.\n").run()
    assert at.success and "Valid MDL: 2 occurrences" in at.success[0].value
    next(b for b in at.button if b.label == "Save as new version").click().run()
    assert not at.exception, at.exception
    versions = store_now().list_config_versions("Agent", "echo", "01")
    assert [v.version for v in versions] == [1, 2]
    assert "You shout." in versions[-1].yaml_text

    chat = app("chat", variant=("Agent", "echo", "01"))
    chat.chat_input[0].set_value("hello").run()
    snap = store_now().get_snapshot(chat.session_state["chat_leaf"])
    assert "You shout." in snap.moment.to_mdl()
    assert snap.annotations.get("config_version") == 2


def test_editor_export_refuses_paths_outside_configs(env: Path) -> None:
    at = app("editor", variant=("Agent", "echo", "01"))
    at.text_input(key="export-name-('Agent', 'echo', '01')").input("../evil.yaml").run()
    next(b for b in at.button if b.label == "Write to configs/").click().run()
    assert at.error and "not a safe file name" in at.error[0].value
    assert not (env / "evil.yaml").exists()


def test_compare_two_variants_and_store_a_vote(env: Path) -> None:
    at = app("compare")
    at.multiselect(key="compare_keys").set_value(
        [("Agent", "echo", "01"), ("Agent", "echo", "02")]
    ).run()
    at.chat_input[0].set_value("ping").run()
    assert not at.exception, at.exception
    store = store_now()
    moments = store.list_moments(agent_id="echo", source="compare")
    assert len(moments) == 2
    assert len({m.info.meta["compare_session_id"] for m in moments}) == 1
    next(b for b in at.button if b.label == "Best: Agent-echo-01").click().run()
    assert not at.exception, at.exception
    assert not [b for b in at.button if (b.label or "").startswith("Best:")]
    votes = [f for m in moments for f in store.list_feedback(moment_id=m.info.moment_id)
             if f.kind == "preference"]
    assert len(votes) == 1
    winner = votes[0].value
    assert store.get_snapshot(winner).moment.occurrences[-1].says == "You said: ping"
    assert any(s.value == "Tally" for s in at.subheader)


@pytest.mark.parametrize("page", ["chat", "editor", "compare", "mdl_playground"])
def test_password_gate_blocks_every_page(
    env: Path, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    monkeypatch.setenv("MOMENTS_DASHBOARD_PASSWORD", "open sesame")
    get_settings.cache_clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert [t.value for t in at.title] == ["Moments"]
    assert not at.chat_input and not at.sidebar.selectbox
    at.text_input(key="moments_password").input("wrong").run()
    at.button[0].click().run()
    assert at.error[0].value == "Wrong password."
    at.text_input(key="moments_password").input("open sesame").run()
    at.button[0].click().run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value != "Moments"
