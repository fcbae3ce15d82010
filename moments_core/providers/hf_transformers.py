"""A Hugging Face checkpoint folder on disk, run with transformers (CPU or GPU).

This is how fine-tuned models are served. A checkpoint with a chat template gets chat
mode through it; one without (a base model) gets the conversation as plain MDL-like text.
Models are loaded once per (folder, device) and shared; generation holds a lock because
one model object serves one ``generate`` at a time here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moments_core.extras import MissingExtra, needs_extra

from .base import GenerationParams, Prompt, Provider, StopCutter, Usage, all_stops
from .errors import ProviderError, ProviderUnavailable

_load_lock = threading.Lock()
_loaded: dict[str, tuple[Any, Any, threading.Lock]] = {}


def pick_device(device: str = "auto") -> str:
    """``cuda`` when asked for or when ``auto`` finds a GPU, else ``cpu``."""
    with needs_extra("finetune"):
        import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def load_checkpoint(path: str | Path, device: str) -> tuple[Any, Any, threading.Lock]:
    """(tokenizer, model, lock) for a checkpoint folder, loaded on first use."""
    folder = Path(path)
    key = f"{folder.resolve()}#{device}"
    with _load_lock:
        if key in _loaded:
            return _loaded[key]
        if not (folder / "config.json").is_file():
            raise ProviderUnavailable(f"not a Hugging Face checkpoint folder: {folder}")
        try:
            with needs_extra("finetune"):
                from transformers import AutoModelForCausalLM, AutoTokenizer
        except MissingExtra as err:
            raise ProviderUnavailable(str(err)) from None
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model: Any = AutoModelForCausalLM.from_pretrained(folder)
        model = model.to(device)
        model.eval()
        _loaded[key] = (tokenizer, model, threading.Lock())
        return _loaded[key]


def _stop_criteria(tokenizer: Any, stops: list[str]) -> Any:
    """Stopping criteria for ``stops``, or ``None`` when there are none or the tokenizer's
    vocabulary cannot be mapped to strings (the stream is still cut client-side)."""
    if not stops:
        return None
    from transformers import StoppingCriteriaList, StopStringCriteria

    try:
        return StoppingCriteriaList([StopStringCriteria(tokenizer, stops)])
    except (ValueError, KeyError, TypeError):
        return None


class TransformersProvider(Provider):
    """Generates with ``model.generate`` and streams through ``TextIteratorStreamer``."""

    name = "transformers"

    def __init__(self, checkpoint: str | Path, device: str = "auto") -> None:
        self.checkpoint = Path(checkpoint)
        self.device = device

    def _loaded(self) -> tuple[Any, Any, threading.Lock]:
        return load_checkpoint(self.checkpoint, pick_device(self.device))

    def prompt_budget(self, params: GenerationParams) -> int | None:
        """The checkpoint's context (``max_position_embeddings``) less the answer; ``None``
        when the config does not say."""
        _, model, _ = self._loaded()
        window = getattr(model.config, "max_position_embeddings", None)
        return max(64, int(window) - params.max_tokens - 16) if window else None

    def count_tokens(self, text: str) -> int:
        tokenizer, _, _ = self._loaded()
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def _prompt_text(self, tokenizer: Any, prompt: Prompt) -> str:
        if prompt.mode == "chat" and getattr(tokenizer, "chat_template", None):
            messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
            text = tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
            return str(text)
        return prompt.as_text()

    def stream_into(self, prompt: Prompt, params: GenerationParams, usage: Usage) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        device = pick_device(self.device)
        tokenizer, model, lock = load_checkpoint(self.checkpoint, device)
        text = self._prompt_text(tokenizer, prompt)
        inputs = tokenizer(text, return_tensors="pt").to(device)
        usage.prompt_tokens = int(inputs["input_ids"].shape[-1])
        streamer: Any = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = params.temperature > 0
        kwargs: dict[str, Any] = {
            **inputs,
            "max_new_tokens": params.max_tokens,
            "do_sample": sampling,
            "streamer": streamer,
            "pad_token_id": tokenizer.pad_token_id or tokenizer.eos_token_id,
        }
        if sampling:
            kwargs.update(temperature=params.temperature, top_p=params.top_p)
        stops = all_stops(prompt, params)
        criteria = _stop_criteria(tokenizer, stops)
        if criteria is not None:  # generate() ends at a stop instead of at max_new_tokens
            kwargs["stopping_criteria"] = criteria
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    if params.seed is not None:
                        torch.manual_seed(params.seed)
                    out = model.generate(**kwargs)
                made = int(out.shape[-1]) - (usage.prompt_tokens or 0)
                usage.completion_tokens = made
                usage.finish_reason = "length" if made >= params.max_tokens else "stop"
            except Exception as err:  # noqa: BLE001 - re-raised in the consuming thread
                failure.append(err)
                streamer.end()

        cutter = StopCutter(stops)
        with lock:
            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    out = cutter.feed(piece)
                    if out:
                        yield out
                rest = cutter.flush()
                if rest:
                    yield rest
            finally:
                worker.join()
        if failure:
            raise ProviderError(f"transformers: generation failed: {failure[0]}") from failure[0]
