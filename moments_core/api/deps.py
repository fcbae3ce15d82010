"""Dependencies the routes declare: the shared context and bounded path ids."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from .context import ApiContext
from .models import ID_MAX


def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.api
    return ctx


Ctx = Annotated[ApiContext, Depends(get_context)]
AgentInstanceId = Annotated[str, Path(min_length=1, max_length=ID_MAX)]
MomentId = Annotated[str, Path(min_length=1, max_length=ID_MAX)]
SnapshotId = Annotated[str, Path(min_length=1, max_length=ID_MAX)]
