"""The job: its record, its states, and the rule that states only move forward."""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from vmp3.media.options import ConversionOptions


class Status(StrEnum):
    CREATED = "created"  # record exists, waiting for the upload and /start
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        return self in (Status.DONE, Status.FAILED)


_RANK = {Status.CREATED: 0, Status.QUEUED: 1, Status.RUNNING: 2, Status.DONE: 3, Status.FAILED: 3}


def new_job_id() -> str:
    return str(uuid.uuid4())


def is_job_id(text: str) -> bool:
    """True for the canonical form of a UUID, the only form job ids take."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def upload_key(owner: str, job_id: str) -> str:
    return f"uploads/{owner}/{job_id}"


def output_key(owner: str, job_id: str) -> str:
    return f"outputs/{owner}/{job_id}.mp3"


class JobError(BaseModel):
    code: str
    message: str


class Job(BaseModel):
    """One conversion, as the metadata store keeps it and the API shows it."""

    id: str
    owner: str
    status: Status = Status.CREATED
    progress: int | None = 0
    attempts: int = 0  # conversions started, counting ones a crash cut short
    filename: str = ""
    options: ConversionOptions = Field(default_factory=ConversionOptions)
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    result: dict[str, Any] | None = None
    error: JobError | None = None

    @property
    def source_key(self) -> str:
        return upload_key(self.owner, self.id)

    @property
    def output_key(self) -> str:
        return output_key(self.owner, self.id)

    def public_view(self) -> dict[str, Any]:
        """What an owner sees: everything but internal storage keys."""
        return self.model_dump(mode="json")


class ConvertMessage(BaseModel):
    """The queue message: everything a converter needs, so it never depends on Redis to start."""

    job_id: str
    owner: str
    filename: str = ""
    options: ConversionOptions = Field(default_factory=ConversionOptions)

    @property
    def source_key(self) -> str:
        return upload_key(self.owner, self.job_id)

    @property
    def output_key(self) -> str:
        return output_key(self.owner, self.job_id)
