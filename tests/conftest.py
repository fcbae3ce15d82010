"""Shared pytest setup. Each area keeps its fixtures in its own plugin module."""

from __future__ import annotations

import os

# Nothing in the suite may reach a model hub or the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

pytest_plugins = [
    "tests.fixtures_store",
    "tests.fixtures_agents",
    "tests.fixtures_app",
    "tests.api_fixtures",
]
