"""``moments serve-api``: the HTTP API under uvicorn."""

from __future__ import annotations

import typer


def serve_api(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0: all)."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Worker processes (the store is shared)."),
) -> None:
    """Serve the HTTP API (FastAPI + uvicorn); settings come from the environment."""
    from moments_core.extras import needs_extra
    from moments_core.settings import get_settings

    with needs_extra("api"):
        import fastapi  # noqa: F401 - checked here: uvicorn imports the app in its workers
        import uvicorn

    if host not in ("127.0.0.1", "localhost", "::1") and not get_settings().api_token:
        typer.echo("warning: MOMENTS_API_TOKEN is not set; anyone who reaches this port"
                   " can use the API", err=True)
    uvicorn.run("moments_core.api.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info")
