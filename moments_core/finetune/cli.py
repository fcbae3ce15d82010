"""`moments finetune --base smollm2 --data PATH --method sft|dpo [--lora] --out DIR`."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm

from moments_core.agents.registry import default_key, split_name

from .base_model import BaseModelError
from .data import METHODS, DataError
from .pipeline import FinetuneRequest, run_finetune
from .train import StepReport, TrainSettings


def finetune(
    out: Path = typer.Option(..., "--out", "-o", help="folder for the new checkpoint"),
    base: str = typer.Option("smollm2", help="'smollm2' or a local checkpoint folder"),
    data: Path | None = typer.Option(None, help="an sft/dpo export (.jsonl or .parquet)"),
    from_store: tuple[str, str, str] | None = typer.Option(
        None, "--from-store", metavar="KIND ID VARIANT",
        help="export this variant's conversations from the log store instead of --data",
    ),
    method: str = typer.Option("sft", help="sft or dpo"),
    lora: bool = typer.Option(False, "--lora", help="train LoRA adapters, then merge them"),
    max_steps: int | None = typer.Option(None, help="stop after this many steps"),
    epochs: float = typer.Option(1.0, help="passes over the data (unless --max-steps)"),
    lr: float | None = typer.Option(None, help="learning rate (default by method/LoRA)"),
    batch_size: int = typer.Option(4, help="rows per step"),
    max_length: int = typer.Option(512, help="tokens per row at most"),
    seed: int = typer.Option(0, help="seed of the data order, split and init"),
    agent: str = typer.Option(
        "", help="variant the new one copies, e.g. Agent-cafebot-01 (default: the "
                 "--from-store variant, else MOMENTS_DEFAULT_AGENT)",
    ),
    variant: str | None = typer.Option(None, help="name of the new variant (default: "
                                                  "derived, e.g. 01-sft)"),
    register: bool = typer.Option(True, help="store the result as a new agent variant"),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
    threads: int | None = typer.Option(None, help="CPU threads for torch"),
) -> None:
    """Fine-tune an open model on logged conversations and register it as a variant."""
    if method not in METHODS:
        _fail(f"--method must be one of {', '.join(METHODS)}")
    if (data is None) == (from_store is None):
        _fail("give exactly one of --data PATH or --from-store KIND ID VARIANT")
    try:
        source = split_name(agent) if agent else (from_store or default_key())
    except ValueError as err:
        _fail(str(err))
    settings = TrainSettings(
        method=method, lora=lora, epochs=epochs, max_steps=max_steps,  # type: ignore[arg-type]
        learning_rate=lr, batch_size=batch_size, max_length=max_length, seed=seed,
        device=device, threads=threads,
    )
    request = FinetuneRequest(
        out=out, settings=settings, base=base, data=data,
        source=tuple(source) if source else None,  # type: ignore[arg-type]
        register=register, variant=variant,
    )
    store = None
    if from_store is not None or register:
        from moments_core.store import open_store

        store = open_store()
    bar = tqdm(desc="training", unit=" step", total=max_steps or None)

    def progress(report: StepReport) -> None:
        bar.total = report.max_steps
        bar.update(report.step - bar.n)
        if report.loss is not None:
            bar.set_postfix(loss=f"{report.loss:.4f}")

    try:
        outcome = run_finetune(request, store, progress=progress,
                               stage=lambda s: bar.set_description(s))
    except (BaseModelError, DataError, ValueError) as err:
        bar.close()
        _fail(str(err))
    bar.close()
    r = outcome.result
    if outcome.conversion_s is not None:
        typer.echo(f"converted the base model in {outcome.conversion_s:.1f} s "
                   f"-> {outcome.base_path}")
    typer.echo(f"{r.steps} steps in {r.timings['train_s']:.1f} s on {r.hardware.device}; "
               f"eval loss {_num(r.eval_loss_before)} -> {_num(r.eval_loss_after)}")
    typer.echo(f"checkpoint: {r.out} (training.json inside)")
    if outcome.variant is not None:
        typer.echo(f"registered variant: {'-'.join(outcome.variant)}")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
