"""Core response and request bodies: operators, audit entries, dead jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.auth.deps import OperatorRole
from app.core.inputs import Patch
from app.core.models import DeadJob


class OperatorIn(BaseModel):
    """A new operator."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"username": "li.na", "password": "a-long-passphrase", "roles": ["campaign_manager"]}
        }
    )

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field("", max_length=64)
    roles: list[OperatorRole] = Field(min_length=1)


class OperatorPatch(Patch):
    """Role or status change of an operator."""

    roles: list[OperatorRole] | None = None
    is_active: bool | None = None


class OperatorOut(BaseModel):
    """An operator as ops see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    roles: list[str]
    is_active: bool
    created_at: datetime


class PasswordChangeIn(BaseModel):
    """Change one's own password."""

    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class AuditEntryOut(BaseModel):
    """One audit log entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    actor_type: str
    actor_id: int | None
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    created_at: datetime


class DeadJobOut(BaseModel):
    """A job that failed on every try."""

    id: int
    job_id: str
    job_name: str
    arguments: list[Any]
    keyword_arguments: dict[str, Any]
    tries: int
    error: str
    created_at: datetime

    @classmethod
    def of(cls, row: DeadJob) -> DeadJobOut:
        """Build from the table row."""
        return cls(
            id=row.id,
            job_id=row.job_id,
            job_name=row.job_name,
            arguments=row.args,
            keyword_arguments=row.kwargs,
            tries=row.tries,
            error=row.error,
            created_at=row.created_at,
        )


class RequeuedOut(BaseModel):
    """A dead job sent again: its name and the outbox message carrying it."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"job_name": "loyalty.build_settlement", "outbox_id": 912}}
    )

    job_name: str
    outbox_id: int
