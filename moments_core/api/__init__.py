"""The HTTP API (FastAPI): agents and the log store for any client.

    from moments_core.api import create_app
    app = create_app()          # or: moments serve-api --port 8000
"""

from .app import create_app

__all__ = ["create_app"]
