"""Fine-tuning speed for SmolLM2-135M-Instruct on this machine (and on its GPU, if any).

Prints: the GGUF -> checkpoint conversion time, then SFT steps/s and tokens/s with and
without LoRA at sequence length 512, and the peak memory of each run. Every case runs
in its own process so peak memory is that case's alone. Figures go to
docs/figures/bench_finetune.md.

    python benchmarks/bench_finetune.py [--steps 4] [--batch-size 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from figures import record

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEQ_LEN = 512
# A cafe exchange long enough that every row is cut to exactly SEQ_LEN tokens.
_TURNS = [
    ("user", "Hi! Could I get a medium oat milk latte, please? Not too hot, I'm drinking it "
             "now, and could you tell me what pastries you have today?"),
    ("assistant", "Good morning! One medium oat latte at drinking temperature. Today we have "
                  "almond croissants, blueberry muffins and a vegan banana loaf."),
]


def rows(n: int) -> list[dict[str, Any]]:
    messages = [{"role": "system", "content": "You are a barista at the cafe ISO Ikigai."}]
    for _ in range(12):
        messages += [{"role": r, "content": t} for r, t in _TURNS]
    return [{"messages": messages} for _ in range(n)]


def run_case(lora: bool, steps: int, batch: int) -> dict[str, Any]:
    from moments_core.finetune import TrainingData, TrainSettings, smollm2_checkpoint, train

    base = smollm2_checkpoint().path
    data = TrainingData(rows(steps * batch + 1), rows(1), "synthetic", "train rows")
    warm = TrainSettings(method="sft", lora=lora, max_steps=1, batch_size=batch,
                         max_length=SEQ_LEN)
    with tempfile.TemporaryDirectory() as tmp:
        train(base, data, warm, Path(tmp) / "warm")  # first-step costs out of the figure
        settings = TrainSettings(method="sft", lora=lora, max_steps=steps, batch_size=batch,
                                 max_length=SEQ_LEN)
        result = train(base, data, settings, Path(tmp) / "out")
    runtime = result.report["train_metrics"]["train_runtime"]
    return {
        "lora": lora,
        "device": result.hardware.device,
        "steps": result.steps,
        "steps_per_s": result.steps / runtime,
        "tokens_per_s": result.steps * batch * SEQ_LEN / runtime,
        "peak_memory": result.report["peak_memory"],
    }


def conversion_seconds() -> float:
    from moments_core.finetune.base_model import convert_gguf, smollm2_checkpoint, smollm2_gguf

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        convert_gguf(smollm2_gguf(), Path(tmp) / "smollm2")
        seconds = time.perf_counter() - start
    smollm2_checkpoint()  # the cached copy the cases train from (made once)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--case", choices=["full", "lora"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # child process: one case, JSON on the last line
        print(json.dumps(run_case(args.case == "lora", args.steps, args.batch_size)))
        return
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else \
        f"CPU ({os.cpu_count()} cores, torch {torch.get_num_threads()} threads)"
    figures: list[tuple[str, str]] = [
        ("setup", f"{device}; sequence length {SEQ_LEN}, batch {args.batch_size},"
                  f" {args.steps} timed steps"),
        ("conversion (GGUF Q4_1 -> fp32 checkpoint)", f"{conversion_seconds():.1f} s"),
    ]
    record("bench_finetune", figures, title="Fine-tuning SmolLM2-135M-Instruct")
    for case in ("full", "lora"):
        out = subprocess.run(
            [sys.executable, __file__, "--case", case, "--steps", str(args.steps),
             "--batch-size", str(args.batch_size)],
            check=True, capture_output=True, text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        mem = ", ".join(f"{k} {v:.0f} MB" for k, v in r["peak_memory"].items())
        figures.append((f"SFT {'LoRA' if r['lora'] else 'full'} on {r['device']}",
                        f"{r['steps_per_s']:.3f} steps/s, {r['tokens_per_s']:.0f} tokens/s,"
                        f" peak memory {mem}"))
        # After each case: what was measured stays written if a later case is cut short.
        record("bench_finetune", figures, title="Fine-tuning SmolLM2-135M-Instruct")

if __name__ == "__main__":
    main()
