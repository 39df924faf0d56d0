"""A run's output and metrics as the API shows them."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping

from pydantic import BaseModel, Field

from loopline.core.records import LogStep, LogWindow, PipelineLogPage
from loopline.server.schemas.common import RecordOut


class LogChunkOut(RecordOut):
    seq: int
    run_id: str
    stream: str
    text: str
    created_at: dt.datetime


class LogsOut(BaseModel):
    """A window of the run's output; `earlier` and `later` say how to read the rest."""

    run_id: str
    chunks: list[LogChunkOut] = Field(description="the window's output, in order (cut to it at both ends)")
    offset: int = Field(description="the character the window starts at")
    end: int = Field(description="the character after the window: pass as `offset` for newer output")
    total: int = Field(description="characters the run has written so far")
    truncated: bool = Field(description="output before or after the window was left out")
    earlier: str | None = Field(description="the URL of the window just before this one (null: none)")
    later: str | None = Field(description="the URL of the output after this window (null: none yet)")
    last_seq: int = Field(description="pass as `after` to /logs/stream to follow only newer output")
    finished: bool = Field(description="the run has ended, so no more output will come")

    @classmethod
    def of(cls, window: LogWindow, limit: int, *, finished: bool) -> LogsOut:
        url = f"/api/v1/runs/{window.run_id}/logs"
        before = max(0, window.start - limit)
        end = window.end
        return cls(
            run_id=window.run_id,
            chunks=[LogChunkOut.model_validate(c) for c in window.chunks],
            offset=window.start,
            end=end,
            total=window.total,
            truncated=window.start > 0 or end < window.total,
            earlier=f"{url}?offset={before}&limit={window.start - before}" if window.start > 0 else None,
            later=f"{url}?offset={end}&limit={limit}" if end < window.total else None,
            last_seq=window.chunks[-1].seq if window.chunks else 0,
            finished=finished,
        )


class PipelineLogChunkOut(LogChunkOut):
    run_name: str = Field(description="the name of the run that wrote it")


class PipelineLogsOut(BaseModel):
    """A page of the output of a run and every run nested under it, in the order it was written."""

    run_id: str
    chunks: list[PipelineLogChunkOut] = Field(description="whole chunks, ordered by `seq`")
    earlier: str | None = Field(description="the URL of the page just before this one (null: none)")
    later: str | None = Field(
        description="the URL of the output after this page (null: none yet; follow with `last_seq`)"
    )
    last_seq: int = Field(description="pass as `after_seq` to read only newer output")
    finished: bool = Field(description="the run and its nested runs have ended: no more output will come")

    @classmethod
    def of(
        cls,
        page: PipelineLogPage,
        run_id: str,
        query: Mapping[str, str | int | None],
        *,
        after_seq: int | None,
        finished: bool,
    ) -> PipelineLogsOut:
        def url(**cursor: int) -> str:
            kept = {k: v for k, v in query.items() if v is not None and v != ""}
            return f"/api/v1/runs/{run_id}/pipeline-logs?{urllib.parse.urlencode({**kept, **cursor})}"

        first = page.chunks[0].seq if page.chunks else None
        last = page.chunks[-1].seq if page.chunks else (after_seq or 0)
        return cls(
            run_id=run_id,
            chunks=[
                PipelineLogChunkOut(
                    seq=c.seq,
                    run_id=c.run_id,
                    run_name=page.names.get(c.run_id, c.run_id),
                    stream=c.stream,
                    text=c.text,
                    created_at=c.created_at,
                )
                for c in page.chunks
            ],
            earlier=url(before_seq=first if first is not None else last + 1) if page.earlier else None,
            later=url(after_seq=last) if page.later else None,
            last_seq=last,
            finished=finished,
        )


class LogStepOut(RecordOut):
    run_id: str
    name: str
    chunks: int = Field(description="how many chunks of output it wrote")
    first_seq: int = Field(description="the `seq` of its first chunk")

    @classmethod
    def of(cls, step: LogStep) -> LogStepOut:
        return cls.model_validate(step)


class MetricOut(RecordOut):
    run_id: str
    name: str
    value: float
    step: int | None
    created_at: dt.datetime
