"""`/api/v1/inferences` and `/api/v1/feedback`: programs log predictions and feedback; pages read them.

The two POST endpoints are for serving processes, not pages: `security.GuardMiddleware` lets
them through with an API key (or, with none configured, from this machine without an Origin)
instead of the session token. They are thin: `loopline.cl.production.ingest` checks each record, writes the
accepted ones (durably, before answering) and says what became of every other one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from loopline.cl.production.ingest import ingest_feedback, ingest_inferences
from loopline.cl.store.records import Feedback, InferenceQuery
from loopline.server.queries import inference_query
from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.inferences import (
    FeedbackIn,
    InferenceListOut,
    InferenceOut,
    InferencesIn,
    IngestOut,
)
from loopline.server.state import ServerState, server_state

router = APIRouter(
    prefix="/api/v1", tags=["inferences"], responses={400: {"model": ErrorOut}, 403: {"model": ErrorOut}}
)
State = Annotated[ServerState, Depends(server_state)]


@router.post(
    "/inferences",
    response_model=IngestOut,
    summary="Log a batch of predictions (idempotent by request id; each bad record is rejected alone)",
    description="Needs `Authorization: Bearer KEY` when the server has API keys; without any, only "
    "programs on the server's machine may call it. The accepted records are committed before the "
    "answer; sending a batch again reports its request ids as duplicates.",
)
def post_inferences(body: InferencesIn, state: State) -> IngestOut:
    return IngestOut.model_validate(ingest_inferences(body.records, workspace=state.workspace))


@router.post(
    "/feedback",
    response_model=IngestOut,
    summary="Record feedback on logged predictions (flags, corrections, confirmations, heuristics)",
    description="Same access rule as POST /inferences. Feedback on a request id that is not logged "
    "is rejected with its own error.",
)
def post_feedback(body: FeedbackIn, state: State) -> IngestOut:
    return IngestOut.model_validate(ingest_feedback(body.records, workspace=state.workspace))


Filters = Annotated[InferenceQuery, Depends(inference_query)]


@router.get("/inferences", response_model=InferenceListOut, summary="Logged predictions, newest first")
def list_inferences(
    state: State,
    query: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> InferenceListOut:
    loop = state.workspace.store
    records = loop.list_inferences(query, limit=limit, offset=offset)
    feedback = loop.list_feedback(request_ids=[r.request_id for r in records], limit=None)
    by_request: dict[str, list[Feedback]] = {}
    for item in feedback:
        by_request.setdefault(item.request_id, []).append(item)
    return InferenceListOut(
        inferences=[InferenceOut.of(r, by_request.get(r.request_id, [])) for r in records],
        total=loop.count_inferences(query),
    )


@router.get(
    "/inferences/{request_id:path}",
    response_model=InferenceOut,
    responses={404: {"model": ErrorOut}},
    summary="One logged prediction with its feedback",
)
def get_inference(request_id: str, state: State) -> InferenceOut:
    loop = state.workspace.store
    record = loop.get_inference(request_id)
    return InferenceOut.of(record, loop.list_feedback(request_ids=[request_id], limit=None))
