"""Agent config files: shipped variants, clear errors, older configs, stored versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moments_core.agents import (
    ConfigError,
    default_key,
    list_configs,
    load_agent_config,
    load_config_file,
    parse_config,
    save_config,
)
from moments_core.mdl import Begin, Example, Instructions
from moments_core.settings import PROJECT_ROOT

REFERENCE = PROJECT_ROOT.parent / "shared" / "reference" / "configs"

GOOD = """\
kind: Agent
id: tester
variant: "01"
provider: local
mode: chat
init: |
  Instructions: '''
  Be brief.
  '''
  Begin.
"""


def _problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "configs/Agent-tester-01.yaml")
    assert "configs/Agent-tester-01.yaml" in str(info.value)
    return [(p.field, p.message) for p in info.value.problems]


def test_shipped_configs_cover_the_required_variants() -> None:
    configs = {c.name: c for c in list_configs(PROJECT_ROOT / "configs")}
    local = [c for c in configs.values() if c.provider == "local"]
    assert {c.id for c in local if c.mode == "chat"} >= {"cafebot", "pf"}
    assert any(c.mode == "completion" for c in local)
    barista = {c.provider for c in configs.values() if c.id == "cafebot"}
    assert {"local", "openai", "cohere"} <= barista
    for c in configs.values():
        kinds = [type(o) for o in c.init_occurrences()]
        assert Instructions in kinds and kinds[-1] is Begin, c.name


def test_default_variant_is_the_local_barista_in_chat_mode() -> None:
    kind, agent_id, variant = default_key()
    vc = load_agent_config(kind, agent_id, variant, folder=PROJECT_ROOT / "configs")
    assert (vc.config.id, vc.config.provider, vc.config.mode) == ("cafebot", "local", "chat")
    assert vc.version is None  # no store given


def test_valid_config_and_defaults() -> None:
    c = parse_config(GOOD)
    assert c.name == "Agent-tester-01"
    assert c.model == "smollm2-135m-instruct"  # filled from the provider's default
    assert c.params.max_tokens == 160
    assert c.participant == "Customer"


def test_unknown_field_is_named() -> None:
    assert _problems(GOOD + "temprature: 0.3\n") == [("temprature", "is not a known field")]


def test_missing_init_is_named() -> None:
    text = GOOD.split("init:")[0]
    assert _problems(text) == [("init", "is missing")]


def test_invalid_mdl_init_names_field_and_position() -> None:
    text = GOOD.replace("  Begin.\n", '  Self: "unclosed\n')
    [(field, message)] = _problems(text)
    assert field == "init"
    assert "not valid MDL at line" in message


def test_unknown_provider_is_named() -> None:
    [(field, message)] = _problems(GOOD.replace("provider: local", "provider: gpt5"))
    assert field == "provider"
    assert "'gpt5'" in message and "openai" in message


def test_bad_param_is_named_with_its_path() -> None:
    [(field, _)] = _problems(GOOD + "params: {temperature: 9}\n")
    assert field == "params.temperature"


def test_not_yaml_and_not_a_mapping() -> None:
    assert _problems("kind: [unclosed\n")[0][0] == "(file)"
    assert _problems("- a\n- b\n")[0] == ("(file)", "must be a YAML mapping of fields")


def test_a_literal_key_is_refused_and_a_named_one_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    openai = GOOD.replace("provider: local", "provider: openai")
    [(field, message)] = _problems(openai + "api_key: sk-secret-value-123\n")
    assert field == "api_key" and "environment" in message
    assert "sk-secret-value-123" not in message
    c = parse_config(openai + "api_key: ${TEAM_OPENAI_KEY}\n")
    monkeypatch.setenv("TEAM_OPENAI_KEY", "sk-from-env")
    assert c.resolved_api_key() == "sk-from-env"
    assert "sk-from-env" not in repr(c)


@pytest.mark.parametrize(
    ("kind", "provider", "mode"),
    [
        ("ChatGptAgent", "openai", "chat"),
        ("ChatOpenAiAgent", "openai", "chat"),
        ("LlmOpenAiAgent", "openai", "completion"),
        ("LlmCohereAgent", "cohere", "completion"),
        ("TextCompletionAgent", "local", "completion"),
        ("TribeHackathonAgent", "openai", "chat"),
    ],
)
def test_older_kinds_map_to_provider_and_mode(kind: str, provider: str, mode: str) -> None:
    legacy = (
        f"mdl: 0.2.2\nkind: {kind}\nid: cafebot\nvariant: 01\ninit: |\n"
        "  Instructions: You are a barista.\n"
        "  Example: An example - '''\\nSelf: \"Hi\"\\nCustomer (unknown): \"Hello.\"'''\n"
        "  Begin.\n"
    )
    c = parse_config(legacy)
    assert (c.provider, c.mode, c.kind) == (provider, mode, kind)
    assert c.variant == "1"  # YAML's integer 01, read as text
    occ = c.init_occurrences()
    assert isinstance(occ[0], Instructions) and occ[0].text == "You are a barista."
    assert isinstance(occ[1], Example) and "Customer (unknown)" in occ[1].text


@pytest.mark.reference
@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference is not here")
def test_reference_configs_load() -> None:
    files = sorted(REFERENCE.glob("*.yaml"))
    assert files
    seen: dict[str, Any] = {}
    for path in files:
        c = load_config_file(path)
        seen[path.name] = (c.provider, c.mode)
    assert seen["ChatGptAgent-cafe-01.yaml"] == ("openai", "chat")
    assert seen["LlmCohereAgent-cafe-01.yaml"] == ("cohere", "completion")
    assert seen["TextCompletionAgent-pf-01.yaml"] == ("local", "completion")


def test_config_versions_in_the_store(agent_store: Any, tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "Agent-tester-01.yaml").write_text(GOOD)
    first = load_agent_config("Agent", "tester", "01", agent_store, folder=folder)
    assert first.version == 1  # the file is the first version
    edited = GOOD.replace("Be brief.", "Be very brief.")
    second = save_config(agent_store, edited, author="ann", expect_key=("Agent", "tester", "01"))
    assert second.version == 2
    newest = load_agent_config("Agent", "tester", "01", agent_store, folder=folder)
    assert newest.version == 2 and "Be very brief." in newest.config.init
    old = load_agent_config("Agent", "tester", "01", agent_store, version=1, folder=folder)
    assert "Be very brief." not in old.config.init
    with pytest.raises(ConfigError) as info:
        save_config(agent_store, GOOD.replace("id: tester", "id: other"),
                    expect_key=("Agent", "tester", "01"))
    assert info.value.problems[0].field == "kind/id/variant"
    with pytest.raises(ConfigError):
        save_config(agent_store, GOOD + "bogus: 1\n")
    assert len(agent_store.list_config_versions("Agent", "tester", "01")) == 2
