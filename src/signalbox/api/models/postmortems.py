"""Postmortems and follow-up actions: the request bodies and the shapes of the answers.

The postmortem's JSON is ``core.postmortem.Postmortem`` as plain data (``to_plain``): its
dataclass is the documented shape, so the API, the CLI's ``--format json`` and the Markdown
renderer read one value."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from signalbox.core.postmortem import Postmortem
from signalbox.services.incidents.actions import FollowUp

__all__ = [
    "ActionCreate",
    "ActionListRead",
    "ActionRead",
    "ActionSet",
    "PostmortemRead",
]

PostmortemRead = Postmortem
"""The postmortem's JSON: every field of ``core.postmortem.Postmortem``, times in UTC."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionCreate(_Body):
    text: str = Field(description="What will be done so that it does not happen again.")
    owner: str = Field("", description="Who will do it (a token name or CI login).")
    due: str | None = Field(None, description="Due date, YYYY-MM-DD.")


class ActionSet(_Body):
    status: str = Field(description="proposed, accepted, in-progress, done or not-doing.")
    note: str = Field("", description="Why, or what was done; kept as its last note.")


class ActionRead(BaseModel):
    """A follow-up action of an incident; ``overdue``: past its due date (in the
    environment's zone) and neither done nor dropped."""

    id: int
    incident_id: int
    environment: str
    text: str
    owner: str
    due: date | None
    status: str
    note: str
    overdue: bool
    created_at: datetime
    created_by: str
    updated_at: datetime

    @classmethod
    def of(cls, action: FollowUp) -> ActionRead:
        view = action.view
        return cls(
            id=view.id,
            incident_id=view.incident_id,
            environment=action.environment,
            text=view.text,
            owner=view.owner,
            due=view.due,
            status=str(view.status),
            note=action.note,
            overdue=action.overdue,
            created_at=action.created_at,
            created_by=action.created_by,
            updated_at=action.updated_at,
        )


class ActionListRead(BaseModel):
    actions: list[ActionRead]
