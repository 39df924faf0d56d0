"""`/api/v1/runs/{id}/logs` and `/metrics`: output and metrics, read once or followed live (SSE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from loopline.server import sse
from loopline.server.api.paging import Offset, page
from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.logs import LogChunkOut, LogsOut, LogStepOut, MetricOut, PipelineLogsOut
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1/runs", tags=["logs and metrics"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]
FOLLOW_POLL_S = 0.25
DEFAULT_LOG_CHARS = 256 * 1024
MAX_LOG_CHARS = 4 * 1024 * 1024
DEFAULT_PIPELINE_CHUNKS = 500
MAX_PIPELINE_CHUNKS = 5000
PIPELINE_PAGE_CHARS = 1024 * 1024  # whole chunks up to this; a longer first chunk is cut to it
MAX_LOG_STEPS = 5000
MAX_METRIC_POINTS = 100_000
METRICS_EVERY = 4  # polls between metric checks while following


@router.get(
    "/{run_id}/logs",
    response_model=LogsOut,
    summary="What the run wrote (stdout, stderr, logging): its last 256 Ki characters, or a range",
)
def read_logs(
    run_id: str,
    state: State,
    offset: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**62,
            description="the first character to return, counted from the start of the output; "
            "leave it out for the end of the output (the last `limit` characters)",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LOG_CHARS, description="at most this many characters")
    ] = DEFAULT_LOG_CHARS,
) -> LogsOut:
    run = state.metadata.get_run(run_id)
    window = state.metadata.read_log_window(run_id, offset=offset, limit=limit)
    return LogsOut.of(window, limit, finished=run.state.is_terminal)


@router.get(
    "/{run_id}/logs/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`log` events, `metrics` when new points arrive, then `end`",
        }
    },
    summary="Follow the run's output live (server-sent events)",
)
async def follow_logs(
    run_id: str, request: Request, state: State, after: Annotated[int, Query(ge=0, le=2**62)] = 0
) -> StreamingResponse:
    await asyncio.to_thread(state.metadata.get_run, run_id)
    return sse.stream(_follow(run_id, after, request, state))


async def _follow(run_id: str, after: int, request: Request, state: ServerState) -> AsyncIterator[str]:
    seq, metric_count, polls = after, -1, 0
    while not state.feed.stopped and not await request.is_disconnected():
        run = await asyncio.to_thread(state.metadata.get_run, run_id)
        chunks = await asyncio.to_thread(state.metadata.read_logs, run_id, after_seq=seq, limit=2000)
        for chunk in chunks:
            seq = chunk.seq
            yield sse.event("log", LogChunkOut.model_validate(chunk).model_dump(mode="json"), str(seq))
        if polls % METRICS_EVERY == 0 or run.state.is_terminal:
            count = len(await asyncio.to_thread(state.metadata.read_metrics, run_id=run_id))
            if count != metric_count and (metric_count >= 0 or count):
                yield sse.event("metrics", {"run_id": run_id, "count": count})
            metric_count = count
        if run.state.is_terminal and not chunks:
            yield sse.event("end", {"run_id": run_id, "state": run.state.value})
            return
        polls += 1
        if not chunks:
            if polls % 60 == 0:
                yield sse.comment("still running")
            await asyncio.sleep(FOLLOW_POLL_S)


@router.get(
    "/{run_id}/pipeline-logs",
    response_model=PipelineLogsOut,
    summary="What the run and every run nested under it wrote, merged in the order it was written",
    description="Pages of whole output chunks, each with the run that wrote it, ordered by `seq`: the "
    "last ones by default, the last ones before `before_seq` or the first ones after `after_seq` "
    "(and before `before_seq`, given both) on request, at most `limit` chunks and 1 Mi characters a page. On a pipeline's root run this is "
    "the whole pipeline's output.",
    responses={422: {"model": ErrorOut}},
)
def read_pipeline_logs(
    run_id: str,
    state: State,
    after_seq: Annotated[
        int | None, Query(ge=0, le=2**62, description="the first chunks written after this `seq`")
    ] = None,
    before_seq: Annotated[
        int | None, Query(ge=0, le=2**62, description="only the last chunks written before this `seq`")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PIPELINE_CHUNKS, description="at most this many chunks")
    ] = DEFAULT_PIPELINE_CHUNKS,
    step: Annotated[str | None, Query(max_length=64, description="only this run's output")] = None,
    stream: Annotated[
        Literal["stdout", "stderr", "log"] | None, Query(description="only this stream")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=500, description="only chunks that contain this text (any case)")
    ] = None,
) -> PipelineLogsOut:
    run = state.metadata.get_run(run_id)
    page = state.metadata.read_pipeline_logs(
        run_id,
        after_seq=after_seq,
        before_seq=before_seq,
        limit=limit,
        max_chars=PIPELINE_PAGE_CHARS,
        step=step or None,
        stream=stream,
        text=q or None,
    )
    query = {"limit": limit, "step": step, "stream": stream, "q": q}
    finished = run.state.is_terminal
    return PipelineLogsOut.of(page, run_id, query, after_seq=after_seq, finished=finished)


@router.get(
    "/{run_id}/pipeline-logs/steps",
    response_model=list[LogStepOut],
    summary="The runs, this one and those nested under it, that wrote output, in the order they began to",
)
def pipeline_log_steps(
    run_id: str,
    state: State,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_STEPS, description="at most this many runs")] = 1000,
) -> list[LogStepOut]:
    state.metadata.get_run(run_id)
    return [LogStepOut.of(s) for s in state.metadata.pipeline_log_steps(run_id, limit=limit)]


@router.get("/{run_id}/metrics", response_model=list[MetricOut], summary="Metric points the run logged")
def read_metrics(
    run_id: str,
    state: State,
    limit: Annotated[int, Query(ge=1, le=MAX_METRIC_POINTS, description="at most this many points")] = 10_000,
    offset: Offset = 0,
) -> list[MetricOut]:
    state.metadata.get_run(run_id)
    return [
        MetricOut.model_validate(p) for p in page(state.metadata.read_metrics(run_id=run_id), limit, offset)
    ]
