"""Which moments a read covers: one frozen ``MomentFilter`` that every back end, the
dataset exporters and the Insights page pass around (never positional arguments)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from .base import MomentInfo

_ANY = ("", "all", "*")  # what a form's "any" choice sends


class FilterFields(TypedDict, total=False):
    """Keyword form of a ``MomentFilter`` (``store.list_moments(agent_id="cafebot")``);
    mypy checks the names against this."""

    agent_kind: str | None
    agent_id: str | None
    agent_variant: str | None
    since: datetime | None
    until: datetime | None
    source: str | None
    include_deleted: bool


@dataclass(frozen=True, slots=True)
class MomentFilter:
    """``None`` for a field means any; ``since`` is inclusive, ``until`` exclusive, on the
    moment's creation time. Deleted moments are left out unless ``include_deleted``."""

    agent_kind: str | None = None
    agent_id: str | None = None
    agent_variant: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None
    include_deleted: bool = False

    def __post_init__(self) -> None:
        for name in ("agent_kind", "agent_id", "agent_variant", "source"):
            if getattr(self, name) in _ANY:
                object.__setattr__(self, name, None)

    @staticmethod
    def of(where: MomentFilter | None, by: FilterFields) -> MomentFilter:
        """``where`` with the keyword fields ``by`` laid over it."""
        base = where if where is not None else MomentFilter()
        if not by:
            return base
        unknown = set(by) - {f.name for f in fields(MomentFilter)}
        if unknown:
            raise TypeError(f"unknown moment filter field(s): {', '.join(sorted(unknown))}")
        return replace(base, **by)

    def moments_only(self) -> MomentFilter:
        """Only the fields of this class (a subclass such as ``ExportFilters`` adds its own)."""
        if type(self) is MomentFilter:
            return self
        return MomentFilter(**{f.name: getattr(self, f.name) for f in fields(MomentFilter)})

    def matches(self, info: MomentInfo) -> bool:
        """The same test the SQL back end makes in its query, for back ends without one."""
        return not (
            (self.agent_kind is not None and info.agent_kind != self.agent_kind)
            or (self.agent_id is not None and info.agent_id != self.agent_id)
            or (self.agent_variant is not None and info.agent_variant != self.agent_variant)
            or (self.source is not None and info.source != self.source)
            or (self.since is not None and info.created_at < self.since)
            or (self.until is not None and info.created_at >= self.until)
            or (info.deleted and not self.include_deleted)
        )
