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
# No control characters (a NUL would reach the database as a driver error): 422, not 5xx.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
AgentInstanceId = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=PRINTABLE)]
MomentId = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=PRINTABLE)]
SnapshotId = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=PRINTABLE)]
