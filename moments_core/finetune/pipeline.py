"""The whole job, as the CLI and the page run it: base -> data -> train -> register."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moments_core.datasets import ExportFilters
from moments_core.settings import Settings
from moments_core.store.base import LogStore

from .base_model import BaseModel, ConversionCancelled, ConversionListener, resolve_base
from .data import export_from_store, load_training_data
from .register import Key, register_variant
from .train import Progress, TrainingCancelled, TrainResult, TrainSettings, train

Stage = Callable[[str], None]  # told "converting base model", "exporting", "training", ...


@dataclass(slots=True)
class FinetuneRequest:
    """Data comes from ``data`` (an exported file) or, when it is None, from the store's
    conversations of ``source`` filtered by ``filters``. ``source`` is also the variant
    whose config the new variant copies (``register`` needs it and a store)."""

    out: Path
    settings: TrainSettings = field(default_factory=TrainSettings)
    base: str = "smollm2"
    data: Path | None = None
    eval_data: Path | None = None
    source: Key | None = None
    filters: ExportFilters | None = None
    register: bool = True
    variant: str | None = None


@dataclass(slots=True)
class FinetuneOutcome:
    result: TrainResult
    base_path: Path
    variant: Key | None
    conversion_s: float | None


def run_finetune(
    request: FinetuneRequest, store: LogStore | None = None, *,
    progress: Progress | None = None, cancel: threading.Event | None = None,
    stage: Stage | None = None, settings: Settings | None = None,
    conversion: ConversionListener | None = None,
) -> FinetuneOutcome:
    """Raises ``TrainingCancelled`` when ``cancel`` is set, within seconds whatever the
    job is doing; its message says what was kept."""
    say: Stage = stage or (lambda _msg: None)
    if request.data is None and (request.source is None or store is None):
        raise ValueError("give a data file, or a source variant and a store to export from")
    if request.register and (request.source is None or store is None):
        raise ValueError("registering the result needs the source variant and a store")
    say("preparing the base model")
    try:
        base = resolve_base(request.base, settings, conversion, cancel)
    except ConversionCancelled as err:
        raise TrainingCancelled(f"Cancelled: {err}; no model was trained or registered.") \
            from None
    try:
        return _train_and_register(request, store, base, progress, cancel, say)
    except TrainingCancelled:
        kept = (f"the base model converted this run ({base.path}) was kept for the next "
                "run" if base.converted_s is not None else f"the base model ({base.path}) "
                "is untouched")
        raise TrainingCancelled(f"Cancelled: the model in training was discarded and "
                                f"nothing was saved or registered; {kept}.") from None


def _train_and_register(
    request: FinetuneRequest, store: LogStore | None, base: BaseModel,
    progress: Progress | None, cancel: threading.Event | None, say: Stage,
) -> FinetuneOutcome:
    method = request.settings.method
    with tempfile.TemporaryDirectory(prefix="moments-ft-data-") as tmp:
        data_path = request.data
        if data_path is None:
            assert request.source is not None and store is not None
            say("exporting conversations")
            kind, agent_id, variant = request.source
            filters = request.filters or ExportFilters()
            filters = ExportFilters(**{
                **{n: getattr(filters, n) for n in filters.__dataclass_fields__},
                "agent_kind": kind, "agent_id": agent_id, "agent_variant": variant,
            })
            data_path = export_from_store(store, method, Path(tmp), filters)
        data = load_training_data(data_path, method, request.settings.seed, request.eval_data)
        extra: dict[str, Any] = {"base_name": base.name}
        if request.source is not None:
            extra["source_variant"] = "-".join(request.source)
        if request.data is None:
            extra["data_exported_from_store"] = True
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("cancelled before training started")
        say("training")
        result = train(base.path, data, request.settings, request.out, progress, cancel,
                       extra)
    key: Key | None = None
    if request.register and result.main_process:
        assert request.source is not None and store is not None
        say("registering the variant")
        key = register_variant(
            store, request.source, request.out, method, request.variant,
            note=f"{'LoRA, ' if request.settings.lora else ''}{result.steps} steps on "
                 f"{len(data.train)} rows; see training.json in the model folder.",
        )
        # training.json names the variant, so a model folder leads back to its config.
        report_path = request.out / "training.json"
        result.report["variant"] = "-".join(key)
        report_path.write_text(json.dumps(result.report, indent=2) + "\n", encoding="utf-8")
    say("done")
    return FinetuneOutcome(result, base.path, key, base.converted_s)
