"""The bodies of the state-changing run endpoints: cancel, rerun, notes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from loopline.core.records import Note
from loopline.server.schemas.common import RecordOut


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=20_000, description="Markdown; raw HTML is shown as text")
    author: str | None = Field(default=None, max_length=128)


class NoteOut(RecordOut):
    id: int
    run_id: str
    author: str
    body: str
    html: str = Field(description="the body rendered from Markdown, with any HTML escaped")
    created_at: dt.datetime

    @classmethod
    def of(cls, note: Note, html: str) -> NoteOut:
        """The note's fields, and its body as rendered (rendering is the route's, not the schema's)."""
        return cls.model_validate({**vars(note), "html": html})


class CancelOut(BaseModel):
    root_id: str
    detail: str


class RerunIn(BaseModel):
    from_run_id: str | None = Field(
        default=None,
        max_length=64,
        description="re-execute this run and everything downstream, reuse the rest; null: execute everything",
    )


class RerunOut(BaseModel):
    run_id: str = Field(description="the new pipeline run")
    rerun_of: str
    from_run_id: str | None
    log_file: str
