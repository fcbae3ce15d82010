"""SFT/DPO training of an open model on exported conversations, served back as a variant.

    from moments_core.finetune import FinetuneRequest, TrainSettings, run_finetune

    outcome = run_finetune(FinetuneRequest(out=Path("data/models/cafebot-sft"),
                                           source=("Agent", "cafebot", "01"),
                                           settings=TrainSettings(method="sft", lora=True)),
                           store)
    outcome.variant  # ("Agent", "cafebot", "01-sft"): chat with it on the transformers provider

Heavy libraries (torch, transformers, trl, peft, datasets) load only when training starts.
"""

from .base_model import BaseModel, BaseModelError, resolve_base, smollm2_checkpoint
from .data import METHODS, DataError, Method, TrainingData, load_training_data
from .jobs import FinetuneJob, JobStatus, get_job, start_job
from .pipeline import FinetuneOutcome, FinetuneRequest, run_finetune
from .register import derive_variant_name, register_variant
from .train import StepReport, TrainingCancelled, TrainResult, TrainSettings, train

__all__ = [
    "METHODS",
    "BaseModel",
    "BaseModelError",
    "DataError",
    "FinetuneJob",
    "FinetuneOutcome",
    "FinetuneRequest",
    "JobStatus",
    "Method",
    "StepReport",
    "TrainResult",
    "TrainSettings",
    "TrainingCancelled",
    "TrainingData",
    "derive_variant_name",
    "get_job",
    "load_training_data",
    "register_variant",
    "resolve_base",
    "run_finetune",
    "smollm2_checkpoint",
    "start_job",
    "train",
]
