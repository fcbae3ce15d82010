"""Fine-tuning end to end on a tiny GPT-2 built here: data exported from a real SQLite
store by the real exporters, SFT and DPO with TRL, the checkpoint served back through the
transformers provider, and the new variant registered in the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from moments_core.agents import Agent, load_agent_config
from moments_core.datasets import ExportFilters, export_to_files
from moments_core.finetune import (
    DataError,
    FinetuneRequest,
    StepReport,
    TrainSettings,
    load_training_data,
    run_finetune,
)
from moments_core.finetune.chat_template import ensure_generation_template
from moments_core.providers import GenerationParams, Message, Prompt, make_provider
from moments_core.settings import Settings
from moments_core.store import LogStore, open_store
from tests.finetune_fixtures import build_tiny_gpt2, fill_store

SOURCE = ("Agent", "cafebot", "01")
FAST = {"batch_size": 4, "max_length": 256, "threads": 2}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[LogStore]:
    store = open_store(f"sqlite:///{tmp_path / 'ft.db'}")
    fill_store(store, conversations=12)
    yield store
    store.close()


def test_chat_template_masks_only_the_agent_turns(tiny: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny)
    assert tok.chat_template is None
    assert ensure_generation_template(tok) is True
    assert ensure_generation_template(tok) is False  # already tagged: left alone
    messages = [{"role": "system", "content": "You are a barista."},
                {"role": "user", "content": "A latte, please."},
                {"role": "assistant", "content": "Sure thing!"},
                {"role": "user", "content": "Thanks."},
                {"role": "assistant", "content": "Welcome!"}]
    out = tok.apply_chat_template(messages, tokenize=True, return_dict=True,
                                  return_assistant_tokens_mask=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    learned = tok.decode([i for i, m in zip(ids, mask, strict=True) if m])
    # Only the agent's words and its end-of-turn token carry loss; never the customer's.
    assert learned == "Sure thing!<|im_end|>Welcome!<|im_end|>"
    assert tok.eos_token == "<|im_end|>"


def test_sft_from_the_store_trains_registers_and_chats(
    tiny: Path, filled: LogStore, tmp_path: Path
) -> None:
    steps: list[StepReport] = []
    stages: list[str] = []
    out = tmp_path / "sft-model"
    outcome = run_finetune(
        FinetuneRequest(out=out, base=str(tiny), source=SOURCE,
                        settings=TrainSettings(method="sft", max_steps=12,
                                               learning_rate=5e-3, **FAST)),
        filled, progress=steps.append, stage=stages.append,
    )
    r = outcome.result
    assert r.steps == 12 and [s.step for s in steps] == list(range(1, 13))
    assert r.eval_loss_before is not None and r.eval_loss_after is not None
    assert r.eval_loss_after < r.eval_loss_before - 0.3  # it learned the cafe replies
    assert stages[0] == "preparing the base model" and stages[-1] == "done"

    report = json.loads((out / "training.json").read_text())
    assert report["method"] == "sft" and report["steps"] == 12
    assert report["data"]["train_rows"] + report["data"]["eval_rows"] == 24  # 12 x 2 leaves
    assert len(report["losses"]) == 12
    assert report["eval_loss_after"] == pytest.approx(r.eval_loss_after)
    assert report["hardware"]["device"] == "cpu" and report["timings"]["train_s"] > 0
    assert report["variant"] == "Agent-cafebot-01-sft"

    # The registered variant: the source's config on the transformers provider.
    assert outcome.variant == ("Agent", "cafebot", "01-sft")
    new = load_agent_config(*outcome.variant, store=filled).config
    old = load_agent_config(*SOURCE, store=filled).config
    assert new.provider == "transformers" and Path(new.model) == out.resolve()
    assert (new.init, new.participant, new.params) == (old.init, old.participant, old.params)
    assert new.mode == "chat"

    # It answers a chat turn through the agent runtime, and the turn ends by itself.
    agent = Agent.from_name(*outcome.variant, store=filled)
    turn = agent.reply(agent.start(), "A large americano please.")
    assert turn.occurrence.says.strip()
    provider = make_provider("transformers", str(out), device="cpu", settings=Settings())
    text = provider.complete(
        Prompt("chat", messages=(Message("user", "Hi! Could I get a latte?"),)),
        GenerationParams(temperature=0.0, max_tokens=200),
    )
    assert text.strip() and "<|im_start|>" not in text


def test_dpo_with_lora_from_an_exported_file(
    tiny: Path, filled: LogStore, tmp_path: Path
) -> None:
    data = tmp_path / "pairs.jsonl"
    summary = export_to_files(filled, "dpo", data, ExportFilters(agent_id="cafebot"))
    assert summary.rows == 12  # one regenerated reply per conversation
    out = tmp_path / "dpo-model"
    outcome = run_finetune(
        FinetuneRequest(out=out, base=str(tiny), data=data, source=SOURCE,
                        variant="dpo-try",
                        settings=TrainSettings(method="dpo", lora=True, max_steps=4,
                                               learning_rate=5e-3, **FAST)),
        filled,
    )
    r = outcome.result
    assert r.steps == 4 and r.eval_loss_before == pytest.approx(0.6931, abs=1e-3)
    assert r.eval_loss_after is not None and r.eval_loss_after < r.eval_loss_before
    assert outcome.variant == ("Agent", "cafebot", "dpo-try")
    # LoRA was merged: a plain checkpoint, no adapter files.
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    report = json.loads((out / "training.json").read_text())
    assert report["settings"]["lora"] is True and report["data"]["eval_from"] == "held out"
    answer = make_provider("transformers", str(out), device="cpu").complete(
        Prompt("chat", messages=(Message("user", "Do you have decaf?"),)),
        GenerationParams(temperature=0.7, max_tokens=30, seed=1),
    )
    assert answer.strip()
    # A second run without a name gets a fresh derived one instead of overwriting.
    from moments_core.finetune import derive_variant_name

    assert derive_variant_name(filled, SOURCE, "dpo") == "01-dpo"


def test_bad_data_is_reported_clearly(tmp_path: Path, filled: LogStore) -> None:
    wrong = tmp_path / "sft.jsonl"
    export_to_files(filled, "sft", wrong, ExportFilters())
    with pytest.raises(DataError, match="lacks prompt, chosen, rejected"):
        load_training_data(wrong, "dpo")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match="no rows"):
        load_training_data(empty, "sft")
    split = tmp_path / "data.jsonl"
    export_to_files(filled, "sft", split, ExportFilters(validation_fraction=0.3, seed=1))
    loaded = load_training_data(tmp_path / "data-train.jsonl", "sft")
    assert loaded.eval_from == "validation file" and loaded.eval and loaded.train
