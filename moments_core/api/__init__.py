"""The HTTP API (FastAPI): agents and the log store for any client.

    from moments_core.api import create_app
    app = create_app()          # or: moments serve-api --port 8000
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # FastAPI is imported only when the app is wanted, so the `moments` command (which
    # registers `serve-api`) starts without it.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
