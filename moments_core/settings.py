"""Every setting Moments reads, from environment variables, in one place.

Nothing else in the code reads ``os.environ`` for configuration: call ``get_settings()``.
The dashboard also lets ``.streamlit/secrets.toml`` supply the same names (see app.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """What the environment says. Secrets are held here but never printed (see ``describe``)."""

    data_dir: Path = PROJECT_ROOT / "data"
    configs_dir: Path = PROJECT_ROOT / "configs"
    db_url: str = ""
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_prefix: str = "moments"
    s3_mirror: bool = False
    dashboard_password: str = field(default="", repr=False)
    api_token: str = field(default="", repr=False)
    openai_api_key: str = field(default="", repr=False)
    openai_base_url: str = ""
    cohere_api_key: str = field(default="", repr=False)
    cohere_base_url: str = ""
    local_model_path: str = ""
    default_agent: str = "cafebot-01"

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'moments.db'}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        data_dir = Path(e.get("MOMENTS_DATA_DIR") or PROJECT_ROOT / "data")
        return cls(
            data_dir=data_dir,
            configs_dir=Path(e.get("MOMENTS_CONFIGS_DIR") or PROJECT_ROOT / "configs"),
            db_url=e.get("MOMENTS_DB_URL", ""),
            s3_bucket=e.get("MOMENTS_S3_BUCKET", ""),
            s3_endpoint_url=e.get("MOMENTS_S3_ENDPOINT_URL", ""),
            s3_region=e.get("MOMENTS_S3_REGION") or e.get("AWS_DEFAULT_REGION", ""),
            s3_prefix=e.get("MOMENTS_S3_PREFIX", "moments"),
            s3_mirror=_flag(e.get("MOMENTS_S3_MIRROR")),
            dashboard_password=e.get("MOMENTS_DASHBOARD_PASSWORD", ""),
            api_token=e.get("MOMENTS_API_TOKEN", ""),
            openai_api_key=e.get("OPENAI_API_KEY", ""),
            openai_base_url=e.get("OPENAI_BASE_URL", ""),
            cohere_api_key=e.get("CO_API_KEY") or e.get("COHERE_API_KEY", ""),
            cohere_base_url=e.get("CO_API_URL") or e.get("COHERE_BASE_URL", ""),
            local_model_path=e.get("MOMENTS_LOCAL_MODEL_PATH", ""),
            default_agent=e.get("MOMENTS_DEFAULT_AGENT", "cafebot-01"),
        )

    def describe(self) -> dict[str, str]:
        """Settings safe to show or log: secrets appear only as set / not set."""
        secret = {"dashboard_password", "api_token", "openai_api_key", "cohere_api_key"}
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = ("set" if value else "not set") if f.name in secret else str(value)
        return out


# Names of every environment variable read above; the deploy test checks compose against it.
ENV_VARS: tuple[str, ...] = (
    "MOMENTS_DATA_DIR", "MOMENTS_CONFIGS_DIR", "MOMENTS_DB_URL", "MOMENTS_S3_BUCKET",
    "MOMENTS_S3_ENDPOINT_URL", "MOMENTS_S3_REGION", "AWS_DEFAULT_REGION", "MOMENTS_S3_PREFIX",
    "MOMENTS_S3_MIRROR", "MOMENTS_DASHBOARD_PASSWORD", "MOMENTS_API_TOKEN", "OPENAI_API_KEY",
    "OPENAI_BASE_URL", "CO_API_KEY", "COHERE_API_KEY", "CO_API_URL", "COHERE_BASE_URL",
    "MOMENTS_LOCAL_MODEL_PATH", "MOMENTS_DEFAULT_AGENT",
)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
