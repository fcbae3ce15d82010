"""Chat developer view, the line cap, the background model load and the prompt editor
(issue 14 items 3, 4, 6-8; issue 12 items 8 and 13) through Streamlit's AppTest, on a real
SQLite store and configs folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from moments_core.settings import get_settings
from tests.fixtures_app import INSTANT_CONFIG, ROOT, app, store_now

ECHO = ("Agent", "echo", "01")


def _button(at: object, label: str) -> object:
    return next(b for b in at.button if b.label == label)  # type: ignore[attr-defined]


def test_developer_view_shows_yaml_kinds_as_labelled_code(env: Path) -> None:
    config = INSTANT_CONFIG.format(variant="05").replace(
        "  Begin.\n", "  Begin.\n  Context: ```\n  place: ISO Ikigai\n  open: true\n  ```\n")
    (env / "configs" / "Agent-echo-05.yaml").write_text(config)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["moments_variant"] = ("Agent", "echo", "05")
    at.session_state["moments_dev_view"] = True
    at.run()
    at.chat_input[0].set_value("hi").run()
    assert not at.exception, at.exception
    yaml_blocks = [c for c in at.code if c.language == "yaml"]
    assert any("place: ISO Ikigai\nopen: true" in c.value for c in yaml_blocks), \
        [c.value for c in at.code]
    captions = [c.value for c in at.caption]
    assert any(c.endswith(" Context") for c in captions)
    # No caption carries a raw multi-line block (the old broken caption).
    assert not [c for c in captions if "```" in c]


def test_a_line_over_the_cap_is_refused_with_the_text_kept(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOMENTS_MAX_LINE_CHARS", "40")
    get_settings.cache_clear()
    at = app(variant=ECHO)
    long_line = "x" * 41
    at.chat_input[0].set_value(long_line).run()
    assert not at.exception, at.exception
    assert at.error and "limit is 40" in at.error[0].value
    assert "still in the box" in at.error[0].value
    assert at.chat_input[0].value == long_line or at.session_state["chat_text"] == long_line
    assert store_now().list_moments() == []  # nothing stored
    at.chat_input[0].set_value("short").run()
    assert not at.error and len(store_now().list_moments()) == 1


def test_the_default_model_loads_in_the_background_at_start(env: Path) -> None:
    from dashboard.common import _warm_default_model
    from moments_core.providers import local
    from moments_core.providers.local import LocalProvider

    at = app("mdl_playground")  # any page: the load starts with the app
    assert not at.exception
    loader = _warm_default_model()  # the thread the app started (cached per process)
    assert loader.name == "moments-warm-model"
    loader.join(timeout=120)
    assert LocalProvider().wait_status()[0], "the default model is not loaded"
    assert local._models


def _save_version(at: object, init: str) -> None:
    at.text_area[0].input(init).run()  # type: ignore[attr-defined]
    _button(at, "Save as new version").click().run()  # type: ignore[attr-defined]


def test_after_a_save_the_pickers_follow_the_newest_version(
    env: Path,
) -> None:
    at = app("editor", variant=ECHO)
    _save_version(at, "Instructions: '''\nYou shout.\n'''\nBegin.\n")
    assert not at.exception, at.exception
    assert at.selectbox(key="diff-a-('Agent', 'echo', '01')-v2").value == 1
    assert at.selectbox(key="diff-b-('Agent', 'echo', '01')-v2").value == 2
    assert "You shout." in next(c.value for c in at.code if c.language == "diff")
    _save_version(at, "Instructions: '''\nYou whisper.\n'''\nBegin.\n")
    pickers = {s.label: s.value for s in at.selectbox if "version" in s.label.lower()}
    assert pickers == {"Compare version": 2, "with version": 3, "Restore version": 3,
                       "Version to write": 3}
    diff = next(c.value for c in at.code if c.language == "diff")
    assert "-You shout." in diff and "+You whisper." in diff


def test_save_as_new_variant_switches_editor_and_sidebar(env: Path) -> None:
    at = app("editor", variant=ECHO)
    at.text_input(key="newvariant-('Agent', 'echo', '01')").input("03-friendly").run()
    _button(at, "Save as new variant").click().run()
    assert not at.exception, at.exception
    new = ("Agent", "echo", "03-friendly")
    assert at.session_state["moments_variant"] == new
    assert at.session_state["moments_variant_pending"] == new  # the picker's next value
    assert "Editing **Agent-echo-03-friendly**" in at.caption[0].value
    # A second try with the same name: a clear message, no exception, nothing new.
    at.text_input(key=f"newvariant-{new}").input("03-friendly").run()
    _button(at, "Save as new variant").click().run()
    assert not at.exception, at.exception
    assert at.error and "already exists" in at.error[0].value
    assert len(store_now().list_config_versions(*new)) == 1
    # A bad name is refused by the one variant-name rule.
    at.text_input(key=f"newvariant-{new}").input("../evil").run()
    _button(at, "Save as new variant").click().run()
    assert at.error and "variant" in at.error[0].value


def test_the_diff_shows_meaning_not_yaml_formatting(env: Path) -> None:
    from moments_core.agents.editor import diff_versions

    store = store_now()
    one = INSTANT_CONFIG.format(variant="07")
    # The same config written another way: flow style, quoted, other key order, and the
    # init re-quoted as an older form; one real change (temperature) and one init line.
    two = (
        "{kind: Agent, id: echo, variant: '07', mdl: '0.3', provider: instant, model: echo,"
        " mode: chat, participant: Guest, params: {temperature: 0.9},\n"
        " init: \"Instructions: '''\\nYou repeat what you hear.\\n'''\\nBegin.\\n"
        "Self: Hello!\\n\"}\n"
    )
    a = store.save_config_version("Agent", "echo", "07", one)
    b = store.save_config_version("Agent", "echo", "07", two)
    diff = diff_versions(a, b).splitlines()
    assert "params.temperature: '(unset)' → 0.9" in diff
    assert '+Self: "Hello!"' in diff
    changed = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ['+Self: "Hello!"'], diff
    assert not any(line.startswith(("kind", "id:", "variant", "mdl")) for line in diff)
    assert diff_versions(a, a) == ""


def test_write_to_configs_refuses_another_variants_file(env: Path) -> None:
    other = env / "configs" / "Agent-echo-02.yaml"
    before = other.read_text()
    at = app("editor", variant=ECHO)
    at.text_input(key="export-name-('Agent', 'echo', '01')").input("Agent-echo-02.yaml").run()
    _button(at, "Write to configs/").click().run()
    assert at.error and "refusing to overwrite" in at.error[0].value
    assert "Agent-echo-02" in at.error[0].value
    assert other.read_text() == before
    # Its own file may be rewritten.
    at.text_input(key="export-name-('Agent', 'echo', '01')").input("Agent-echo-01.yaml").run()
    _button(at, "Write to configs/").click().run()
    assert not at.error and any("Wrote Agent-echo-01.yaml" in m.value for m in at.success)
