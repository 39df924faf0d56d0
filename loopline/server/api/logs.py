"""`/api/v1/runs/{id}/logs` and `/metrics`: output and metrics, read once or followed live (SSE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from loopline.server import sse
from loopline.server.api.paging import Offset, page
from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.logs import LogChunkOut, LogsOut, MetricOut
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1/runs", tags=["logs and metrics"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]
FOLLOW_POLL_S = 0.25
DEFAULT_LOG_CHARS = 256 * 1024
MAX_LOG_CHARS = 4 * 1024 * 1024
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
