"""One training run with TRL: SFT (loss on the agent's turns only) or DPO, full or LoRA.

Writes the checkpoint (LoRA merged into the weights, so the transformers provider can
serve it like any other), the tokenizer with its chat template, and ``training.json``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .chat_template import ensure_generation_template
from .data import Method, TrainingData
from .hardware import Hardware, detect, peak_memory_mb


@dataclass(frozen=True, slots=True)
class TrainSettings:
    method: Method = "sft"
    lora: bool = False
    epochs: float = 1.0
    max_steps: int | None = None  # wins over epochs when set
    learning_rate: float | None = None  # None: 2e-4 with LoRA, 5e-5 without (SFT)
    batch_size: int = 4
    max_length: int = 512
    seed: int = 0
    lora_r: int = 16
    lora_alpha: int = 32
    dpo_beta: float = 0.1
    device: str = "auto"
    threads: int | None = None
    # Recompute activations instead of keeping them: less memory, ~30% slower. Worth it
    # for bigger models or long sequences on a GPU; a 135M model does not need it.
    activation_checkpointing: bool = False

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        if self.method == "dpo":
            return 5e-5 if self.lora else 5e-6
        return 2e-4 if self.lora else 5e-5


@dataclass(frozen=True, slots=True)
class StepReport:
    """What a progress listener sees after every optimizer step."""

    step: int
    max_steps: int
    loss: float | None
    epoch: float


Progress = Callable[[StepReport], None]


class TrainingCancelled(RuntimeError):
    """The run was cancelled; nothing was saved. The message says what was kept."""


@dataclass(slots=True)
class TrainResult:
    out: Path
    steps: int
    losses: list[dict[str, float]]
    eval_loss_before: float | None
    eval_loss_after: float | None
    timings: dict[str, float]
    hardware: Hardware
    report: dict[str, Any] = field(default_factory=dict)  # what training.json holds
    main_process: bool = True  # False on the other ranks of a multi-GPU launch


def _callback(progress: Progress | None, cancel: threading.Event | None,
              losses: list[dict[str, float]]) -> Any:
    from transformers import TrainerCallback

    def check() -> None:
        if cancel is not None and cancel.is_set():
            # Raised, not ``should_training_stop``: that waits for the step to end and
            # then still runs what follows; this leaves at once, from the next hook.
            raise TrainingCancelled("cancelled")

    class Listen(TrainerCallback):
        """Records losses, reports progress, and stops the run as soon as it is
        cancelled: checked before and after every step, every gradient-accumulation
        substep, and every batch of an evaluation."""

        def __init__(self) -> None:
            self.last_loss: float | None = None

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:
            if logs and "loss" in logs:
                self.last_loss = float(logs["loss"])
                losses.append({"step": int(state.global_step), "loss": self.last_loss})
            if progress is not None and logs and "loss" in logs:
                progress(StepReport(int(state.global_step), int(state.max_steps),
                                    self.last_loss, float(state.epoch or 0.0)))

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            check()

        def on_substep_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            check()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            check()

        def on_prediction_step(self, args: Any, state: Any, control: Any,
                               **kwargs: Any) -> None:
            check()

    return Listen()


def _lora_config(settings: TrainSettings) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=0.05,
        target_modules="all-linear", task_type="CAUSAL_LM",
    )


def _common_args(settings: TrainSettings, hw: Hardware, work: str, n_train: int
                 ) -> dict[str, Any]:
    return {
        "output_dir": work,
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps if settings.max_steps else -1,
        "learning_rate": settings.lr,
        "per_device_train_batch_size": min(settings.batch_size, max(1, n_train)),
        "per_device_eval_batch_size": settings.batch_size,
        "lr_scheduler_type": "linear",
        "logging_steps": 1,
        "logging_first_step": True,
        "save_strategy": "no",  # the final checkpoint is written by save_checkpoint
        "eval_strategy": "no",  # eval runs once before and once after, not mid-run
        "report_to": "none",
        "seed": settings.seed,
        "data_seed": settings.seed,
        "bf16": hw.bf16,
        "use_cpu": hw.device == "cpu",
        "disable_tqdm": True,  # progress goes through the listener (tqdm in the CLI)
        "dataloader_num_workers": 0,
        "max_length": settings.max_length,
        "activation_checkpointing": settings.activation_checkpointing,
    }


def _trainer(model: Any, tokenizer: Any, data: TrainingData, settings: TrainSettings,
             hw: Hardware, work: str, base: Path, callback: Any) -> Any:
    from datasets import Dataset

    args = _common_args(settings, hw, work, len(data.train))
    peft_config = _lora_config(settings) if settings.lora else None
    train, held = Dataset.from_list(data.train), Dataset.from_list(data.eval)
    if settings.method == "sft":
        from trl.trainer.sft_config import SFTConfig
        from trl.trainer.sft_trainer import SFTTrainer

        return SFTTrainer(
            model=model, args=SFTConfig(**args, assistant_only_loss=True),
            train_dataset=train, eval_dataset=held, processing_class=tokenizer,
            peft_config=peft_config, callbacks=[callback],
        )
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.dpo_trainer import DPOTrainer

    # With LoRA the reference is the base under disabled adapters; a full fine-tune
    # needs its own frozen copy, loaded from the saved base (never the live policy).
    ref = None if settings.lora else _load_model(base, hw)
    return DPOTrainer(
        model=model, ref_model=ref, args=DPOConfig(**args, beta=settings.dpo_beta),
        train_dataset=train, eval_dataset=held, processing_class=tokenizer,
        peft_config=peft_config, callbacks=[callback],
    )


def _load_model(path: Path, hw: Hardware) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if hw.bf16 else torch.float32
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype)


def _eval_loss(trainer: Any) -> float | None:
    loss = trainer.evaluate().get("eval_loss")
    return None if loss is None else float(loss)


def save_checkpoint(trainer: Any, tokenizer: Any, out: Path, lora: bool) -> None:
    """Merged weights + tokenizer (with the training chat template) into ``out``."""
    model = trainer.model
    if lora:
        model = model.merge_and_unload()
    end_id = tokenizer.convert_tokens_to_ids(tokenizer.eos_token)
    # generate() stops on the generation config's EOS, not the tokenizer's: make the
    # turn end (what the model learned to emit) the stop token.
    model.config.eos_token_id = end_id
    if model.generation_config is not None:
        model.generation_config.eos_token_id = end_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def train(
    base: Path, data: TrainingData, settings: TrainSettings, out: Path,
    progress: Progress | None = None, cancel: threading.Event | None = None,
    extra_report: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``base`` on ``data`` and write the result to ``out``."""
    from datasets.utils.logging import disable_progress_bar
    from transformers import AutoTokenizer, PrinterCallback, set_seed

    disable_progress_bar()  # per-dataset map bars would drown the training progress

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    hw = detect(settings.device, settings.threads)
    set_seed(settings.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    template_added = ensure_generation_template(tokenizer)
    model = _load_model(base, hw)
    timings["load_s"] = time.perf_counter() - t0
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("cancelled")
    losses: list[dict[str, float]] = []
    work = tempfile.mkdtemp(prefix="moments-ft-")
    try:
        trainer = _trainer(model, tokenizer, data, settings, hw, work, base,
                           _callback(progress, cancel, losses))
        # Without tqdm the Trainer prints every log dict; the listener reports instead.
        trainer.remove_callback(PrinterCallback)
        t = time.perf_counter()
        before = _eval_loss(trainer)
        timings["eval_before_s"] = time.perf_counter() - t
        t = time.perf_counter()
        output = trainer.train()
        timings["train_s"] = time.perf_counter() - t
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("cancelled")
        t = time.perf_counter()
        after = _eval_loss(trainer)
        timings["eval_after_s"] = time.perf_counter() - t
        # Under `accelerate launch` every process trains; one writes the result.
        main = bool(trainer.is_world_process_zero())
        t = time.perf_counter()
        if main:
            save_checkpoint(trainer, tokenizer, out, settings.lora)
        timings["save_s"] = time.perf_counter() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timings["total_s"] = time.perf_counter() - t0
    steps = int(trainer.state.global_step)
    report: dict[str, Any] = {
        "method": settings.method,
        "base": str(base),
        "settings": {**asdict(settings), "learning_rate": settings.lr},
        "data": {"source": data.source, "train_rows": len(data.train),
                 "eval_rows": len(data.eval), "eval_from": data.eval_from},
        "chat_template_added": template_added,
        "steps": steps,
        "train_loss": float(output.training_loss),
        "losses": losses,
        "eval_loss_before": before,
        "eval_loss_after": after,
        "train_metrics": {k: float(v) for k, v in output.metrics.items()
                          if isinstance(v, int | float)},
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "hardware": {**hw.as_dict(), "world_size": int(trainer.args.world_size)},
        "peak_memory": peak_memory_mb(hw.device),
        **(extra_report or {}),
    }
    if main:
        (out / "training.json").write_text(json.dumps(report, indent=2) + "\n",
                                           encoding="utf-8")
    return TrainResult(out, steps, losses, before, after, timings, hw, report, main)
