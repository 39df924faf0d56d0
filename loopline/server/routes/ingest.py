"""`/api/v1/inferences` and `/api/v1/feedback`: programs log predictions and feedback; pages read them.

The two POST endpoints are for serving processes, not pages: `security.GuardMiddleware` lets
them through with an API key (or, with none configured, from this machine without an Origin)
instead of the session token. They are thin: `loopline.cl.ingest` checks each record, writes the
accepted ones (durably, before answering) and says what became of every other one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from loopline.cl.ingest import IngestResult, ingest_feedback, ingest_inferences
from loopline.cl.loop_records import Feedback, InferenceQuery
from loopline.server.queries import as_utc
from loopline.server.schemas import (
    ErrorOut,
    FeedbackIn,
    InferenceListOut,
    InferenceOut,
    InferencesIn,
    IngestOut,
    RecordProblemOut,
)
from loopline.server.state import ServerState, server_state

router = APIRouter(
    prefix="/api/v1", tags=["inferences"], responses={400: {"model": ErrorOut}, 403: {"model": ErrorOut}}
)
State = Annotated[ServerState, Depends(server_state)]
FeedbackFilter = Literal["any", "none", "flag", "correction", "confirmation", "heuristic"]
Moment = Annotated[
    str | None,
    Query(max_length=64, json_schema_extra={"format": "date-time"}, description="ISO 8601; UTC if no zone"),
]


def _out(result: IngestResult) -> IngestOut:
    return IngestOut(
        accepted=list(result.accepted),
        duplicates=list(result.duplicates),
        rejected=[
            RecordProblemOut(index=p.index, request_id=p.request_id, error=p.error) for p in result.rejected
        ],
    )


@router.post(
    "/inferences",
    response_model=IngestOut,
    summary="Log a batch of predictions (idempotent by request id; each bad record is rejected alone)",
    description="Needs `Authorization: Bearer KEY` when the server has API keys; without any, only "
    "programs on the server's machine may call it. The accepted records are committed before the "
    "answer; sending a batch again reports its request ids as duplicates.",
)
def post_inferences(body: InferencesIn, state: State) -> IngestOut:
    return _out(ingest_inferences(body.records, workspace=state.workspace))


@router.post(
    "/feedback",
    response_model=IngestOut,
    summary="Record feedback on logged predictions (flags, corrections, confirmations, heuristics)",
    description="Same access rule as POST /inferences. Feedback on a request id that is not logged "
    "is rejected with its own error.",
)
def post_feedback(body: FeedbackIn, state: State) -> IngestOut:
    return _out(ingest_feedback(body.records, workspace=state.workspace))


def inference_query(
    model: Annotated[str | None, Query(max_length=256, description="the registered model's name")] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31, description="the model version")] = None,
    since: Moment = None,
    until: Moment = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    feedback: Annotated[FeedbackFilter | None, Query(description="any, none, or a feedback kind")] = None,
) -> InferenceQuery:
    return InferenceQuery(
        model=model or None,
        model_version=version,
        since=as_utc(_moment("since", since)),
        until=as_utc(_moment("until", until)),
        min_confidence=min_confidence,
        max_confidence=max_confidence,
        feedback=feedback,
    )


def _moment(name: str, text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(
            422, f"query.{name}: {text!r} is not an ISO 8601 date and time (e.g. 2030-01-31T12:00:00Z)"
        ) from None


Filters = Annotated[InferenceQuery, Depends(inference_query)]


@router.get("/inferences", response_model=InferenceListOut, summary="Logged predictions, newest first")
def list_inferences(
    state: State,
    query: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> InferenceListOut:
    loop = state.workspace.loop
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
    loop = state.workspace.loop
    record = loop.get_inference(request_id)
    return InferenceOut.of(record, loop.list_feedback(request_ids=[request_id], limit=None))
