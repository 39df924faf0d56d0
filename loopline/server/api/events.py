"""`/api/v1/events`: run changes, and changes of records (datasets, models, ...), as server-sent
events, for live pages."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from loopline.cl.store.revisions import RecordKind, parse_kinds
from loopline.core.records import RunRecord
from loopline.server import sse
from loopline.server.live import RecordsChanged, records_revision
from loopline.server.queries import as_utc
from loopline.server.schemas.runs import RunOut
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1", tags=["live"])
State = Annotated[ServerState, Depends(server_state)]


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": '`runs` events (a list of RunOut); `records` events (`{"kinds": [...]}`, '
            "the kinds of record that changed); `resync` when too many to send",
        }
    },
    summary="Run changes as they happen (server-sent events)",
)
async def events(
    request: Request,
    state: State,
    root_id: Annotated[str | None, Query(max_length=64, description="only runs of this pipeline run")] = None,
    roots: Annotated[bool, Query(description="only pipeline (root) runs")] = False,
    since: Annotated[
        str | None,
        Query(
            max_length=64,
            json_schema_extra={"format": "date-time"},
            description="first send the changes since then",
        ),
    ] = None,
    records: Annotated[
        str | None,
        Query(
            max_length=200,
            description="also announce changes of these kinds of record (comma-separated: "
            + ", ".join(k.value for k in RecordKind)
            + ")",
        ),
    ] = None,
    seen: Annotated[
        int | None,
        Query(
            ge=0,
            description="the revision of those records the page shows: announced at once if they changed since",
        ),
    ] = None,
) -> StreamingResponse:
    try:
        start = as_utc(dt.datetime.fromisoformat(since)) if since else None
    except ValueError:
        raise HTTPException(422, f"query.since: {since!r} is not an ISO 8601 date and time") from None
    try:
        kinds = frozenset(k.value for k in parse_kinds(records or ""))
    except ValueError as exc:
        raise HTTPException(422, f"query.records: {exc}") from None

    def wants(run: RunRecord) -> bool:
        return (root_id is None or run.root_id == root_id) and (not roots or run.parent_id is None)

    return sse.stream(_changes(request, state, wants, start, kinds, seen))


async def _changes(
    request: Request,
    state: ServerState,
    wants: Callable[[RunRecord], bool],
    since: dt.datetime | None,
    kinds: frozenset[str],
    seen: int | None,
) -> AsyncIterator[str]:
    async with state.feed.listen(wants, kinds) as listener:
        yield sse.comment("listening")
        if since is not None:  # what changed between the page's rendering and this subscription
            missed = [
                r for r in await asyncio.to_thread(state.metadata.changed_runs, since, limit=5000) if wants(r)
            ]
            if missed:
                yield sse.event("runs", [RunOut.model_validate(r).model_dump(mode="json") for r in missed])
        if kinds and seen is not None:
            now = records_revision(await asyncio.to_thread(state.workspace.revisions), kinds)
            if now != seen:
                yield sse.event("records", {"kinds": sorted(kinds)})
        while not state.feed.stopped:
            if listener.overflowed:
                listener.overflowed = False
                while not listener.queue.empty():
                    listener.queue.get_nowait()
                yield sse.event("resync", {})
            first = None
            with contextlib.suppress(asyncio.TimeoutError):
                first = await asyncio.wait_for(listener.queue.get(), sse.HEARTBEAT_S)
            if await request.is_disconnected():
                return
            if first is None:
                if not listener.overflowed:
                    yield sse.comment("heartbeat")
                continue
            runs: list[RunRecord] = []
            changed: set[str] = set()
            item: RunRecord | RecordsChanged | None = first
            while True:
                if isinstance(item, RunRecord):
                    runs.append(item)
                elif isinstance(item, RecordsChanged):
                    changed |= item.kinds
                if listener.queue.empty() or len(runs) >= 500:
                    break
                item = listener.queue.get_nowait()
            if runs:
                yield sse.event("runs", [RunOut.model_validate(r).model_dump(mode="json") for r in runs])
            if changed:
                yield sse.event("records", {"kinds": sorted(changed)})
