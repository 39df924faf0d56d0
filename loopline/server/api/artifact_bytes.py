"""This server's artifact store over HTTP, for team workers without object-store credentials
(`loopline.storage.remote.artifacts.HttpArtifactStore`).

`PUT /api/v1/artifacts/{id}` streams the body to a temporary file while hashing it and stores
it only if the hash is the id (so nobody can put bytes under another value's id); reads stream
the stored bytes, which the client hashes as they arrive. Nothing is held in memory whole.
"""

from __future__ import annotations

import asyncio
import mmap
import tempfile
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse

from loopline.core.hashing import new_hasher
from loopline.core.serialization import Blob, Encoded
from loopline.server.schemas.common import ErrorOut
from loopline.server.state import ServerState, server_state
from loopline.storage.artifacts import check_artifact_id, verified_chunks
from loopline.storage.remote.artifacts import WRITTEN_AT_HEADER
from loopline.storage.remote.client import unframe_values

router = APIRouter(prefix="/api/v1/artifacts", tags=["team"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]
SPOOL = 8 << 20  # bodies up to this size stay in memory while they are checked
IDS_PAGE = 1000


@router.head("/{artifact_id}", summary="Whether the store holds this artifact (and when it was put)")
def has_artifact(artifact_id: str, state: State) -> Response:
    check_artifact_id(artifact_id)
    if not state.artifacts.exists(artifact_id):
        return Response(status_code=404)
    stamp = state.artifacts.written_at(artifact_id)
    return Response(headers={} if stamp is None else {WRITTEN_AT_HEADER: repr(stamp)})


@router.put(
    "/{artifact_id}",
    summary="Store the body as this artifact; refused unless its SHA-256 is the id",
    responses={400: {"model": ErrorOut}},
)
async def put_artifact(artifact_id: str, request: Request, state: State) -> dict[str, str]:
    check_artifact_id(artifact_id)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) <= SPOOL:  # small: read whole, one trip to the store
        body = await request.body()
        hasher = new_hasher()
        hasher.update(body)
        if hasher.hexdigest() != artifact_id:
            raise HTTPException(
                400, f"the body's SHA-256 is {hasher.hexdigest()}, not {artifact_id}: refused"
            )
        return {"id": await asyncio.to_thread(state.artifacts.put, Encoded(body, [], "bytes"))}
    hasher = new_hasher()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - closed below
    try:
        size = 0
        async for chunk in request.stream():
            hasher.update(chunk)
            size += len(chunk)
            await asyncio.to_thread(spool.write, chunk)
        if hasher.hexdigest() != artifact_id:
            raise HTTPException(
                400, f"the body's SHA-256 is {hasher.hexdigest()}, not {artifact_id}: refused"
            )
        stored = await asyncio.to_thread(_store, spool, size, state)
    finally:
        spool.close()
    if stored != artifact_id:  # pragma: no cover - the store hashed other bytes than we did
        raise HTTPException(500, "the artifact store computed another id for these bytes")
    return {"id": stored}


def _store(spool: IO[bytes], size: int, state: ServerState) -> str:
    spool.flush()
    spool.seek(0)
    if size <= SPOOL:  # small: the body, read back from memory
        return state.artifacts.put(Encoded(spool.read(), [], "bytes"))
    with mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ) as mapped:  # large: paged in by the OS
        view = memoryview(mapped)
        try:
            return state.artifacts.put(Encoded(b"", [Blob("bytes", {}, [view])], "bytes"))
        finally:
            view.release()


@router.get(
    "/{artifact_id}/bytes",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
    summary="The artifact's stored bytes, streamed (the client checks them against the id)",
)
def artifact_bytes(artifact_id: str, state: State) -> StreamingResponse:
    reader = state.artifacts.open(check_artifact_id(artifact_id))
    return StreamingResponse(verified_chunks(reader), media_type="application/octet-stream")


@router.delete("/{artifact_id}", summary="Delete an artifact's bytes (garbage collection; admins)")
def delete_artifact(artifact_id: str, state: State) -> dict[str, str]:
    state.artifacts.delete(check_artifact_id(artifact_id))
    return {"deleted": artifact_id}


@router.get("", summary="Every artifact id the store holds, a page at a time (garbage collection; admins)")
def artifact_ids(state: State, after: Annotated[str, Query(max_length=64)] = "") -> dict[str, Any]:
    ids = sorted(i for i in state.artifacts.ids() if i > after)
    page = ids[:IDS_PAGE]
    return {"ids": page, "next": page[-1] if len(ids) > IDS_PAGE else None}


@router.post("/discard-partial-writes", summary="Delete what writes that never finished left behind (admins)")
def discard_partial_writes(
    state: State, older_than_s: Annotated[float, Query(ge=0)] = 3600.0
) -> dict[str, int]:
    return {"discarded": state.artifacts.discard_partial_writes(older_than_s)}


@router.post(
    "/batch",
    summary="Store several small artifacts at once (each framed as its id, length and bytes; each "
    "refused unless its SHA-256 is its id)",
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}},
    openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}, "required": True}},
)
async def put_artifacts(request: Request, state: State) -> dict[str, int]:
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > SPOOL:
        raise HTTPException(
            413,
            f"a batch of artifacts is at most {SPOOL} bytes with a Content-Length; put larger ones one at a time",
        )
    body = await request.body()
    if not body:
        raise HTTPException(400, "a batch of artifacts needs at least one framed value in its body")
    try:
        values = list(unframe_values(body))
    except ValueError as error:
        raise HTTPException(400, f"malformed batch of artifacts: {error}") from None
    for artifact_id, data in values:  # every hash checked before anything is stored
        hasher = new_hasher()
        hasher.update(data)
        if hasher.hexdigest() != artifact_id:
            raise HTTPException(
                400, f"the SHA-256 of value {artifact_id[:80]!r} is {hasher.hexdigest()}: refused"
            )
    await asyncio.to_thread(_store_all, values, state)
    return {"stored": len(values)}


def _store_all(values: list[tuple[str, memoryview]], state: ServerState) -> None:
    for _, data in values:
        state.artifacts.put(Encoded(bytes(data), [], "bytes"))
