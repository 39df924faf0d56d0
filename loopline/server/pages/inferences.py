"""The inference and feedback explorer: logged predictions (filtered as the API filters them), each
with its input shown as what it is, its scores and the feedback on it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.store.records import Feedback, InferenceQuery, InferenceRecord
from loopline.cl.store.revisions import RecordKind
from loopline.server.live import LivePage
from loopline.server.pages.render import render
from loopline.server.queries import inference_query
from loopline.server.rendering import exhibits
from loopline.server.rendering.charts import scores_chart
from loopline.server.state import ServerState, live_page, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
PAGE = 50
FILTER_CHARS = 256  # a filter value as long as a model name may be


# -- inputs as they were logged ----------------------------------------------------------------


def logged_inputs(state: ServerState, records: Sequence[InferenceRecord]) -> dict[str, exhibits.Shown]:
    """The inputs of these records, shown by their display hints (one load per batch artifact)."""
    shown: dict[str, exhibits.Shown] = {}
    by_batch: dict[str, list[InferenceRecord]] = {}
    for record in records:
        by_batch.setdefault(record.batch_id, []).append(record)
    for batch_id, group in by_batch.items():
        batch = state.value(batch_id)
        if not isinstance(batch, Dataset):
            continue
        known = [r for r in group if r.request_id in set(batch.ids.tolist())]
        if not known:
            continue
        positions = batch.positions([r.request_id for r in known]).tolist()
        values = exhibits.rows_of(batch.features, positions)
        scale = exhibits.value_range(batch.features)
        for record, value in zip(known, values):
            shown[record.request_id] = exhibits.show(value, record.display or batch.display, scale)
    return shown


def feedback_of(state: ServerState, request_ids: list[str]) -> dict[str, list[Feedback]]:
    found: dict[str, list[Feedback]] = {}
    for item in state.workspace.store.list_feedback(request_ids=request_ids, limit=None):
        found.setdefault(item.request_id, []).append(item)
    return found


# -- the inference and feedback explorer -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExplorerParams:
    """The explorer's filters as its form sends them (fields left empty are not filters)."""

    values: dict[str, str]
    offset: int

    def url(self, offset: int) -> str:
        params = [(k, v) for k, v in self.values.items() if v] + ([("offset", str(offset))] if offset else [])
        return "/inferences" + ("?" + urlencode(params) if params else "")

    def query(self) -> InferenceQuery:
        """The filters, checked as the API checks them (422 naming a bad one)."""
        given = {k: v for k, v in self.values.items() if v}
        return inference_query(
            model=given.get("model"),
            version=_number(given, "version", int, 1, 2**31),
            since=given.get("since"),
            until=given.get("until"),
            min_confidence=_number(given, "min_confidence", float, 0, 1),
            max_confidence=_number(given, "max_confidence", float, 0, 1),
            feedback=_feedback(given.get("feedback")),
        )


FEEDBACK_FILTERS = ("any", "none", "flag", "correction", "confirmation", "heuristic")


def _feedback(value: str | None) -> Any:
    if value is not None and value not in FEEDBACK_FILTERS:
        raise HTTPException(422, f"query.feedback: use one of {', '.join(FEEDBACK_FILTERS)}, not {value!r}")
    return value


def _number(given: dict[str, str], name: str, kind: type, low: float, high: float | None) -> Any:
    if name not in given:
        return None
    try:
        value = kind(given[name])
    except ValueError:
        raise HTTPException(422, f"query.{name}: {given[name]!r} is not a number") from None
    if value < low or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise HTTPException(422, f"query.{name}: must be {bounds}, got {given[name]}")
    return value


def explorer_params(
    request: Request, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0
) -> ExplorerParams:
    names = ("model", "version", "since", "until", "min_confidence", "max_confidence", "feedback")
    return ExplorerParams({k: request.query_params.get(k, "")[:FILTER_CHARS] for k in names}, offset)


@router.get("/inferences", response_class=HTMLResponse)
def inferences_page(
    request: Request,
    state: State,
    params: Annotated[ExplorerParams, Depends(explorer_params)],
    live: Annotated[LivePage, Depends(live_page(RecordKind.INFERENCES))],
) -> HTMLResponse:
    query = params.query()
    loop = state.workspace.store
    records = loop.list_inferences(query, limit=PAGE, offset=params.offset)
    total = loop.count_inferences(query)
    return render(
        request,
        "inferences.html",
        live=live,
        nav="inferences",
        records=records,
        total=total,
        inputs=logged_inputs(state, records),
        feedback=feedback_of(state, [r.request_id for r in records]),
        aliases_now={model: loop.aliases(model) for model in {r.model for r in records if r.alias}},
        p=params.values,
        offset=params.offset,
        prev_url=params.url(max(0, params.offset - PAGE)) if params.offset else None,
        next_url=params.url(params.offset + PAGE) if params.offset + PAGE < total else None,
        models=[m.name for m in state.workspace.store.latest_model_versions()],
        any_filter=any(params.values.values()),
    )


@router.get("/inferences/{request_id:path}", response_class=HTMLResponse)
def inference_page(
    request: Request,
    request_id: str,
    state: State,
    live: Annotated[LivePage, Depends(live_page(RecordKind.INFERENCES, RecordKind.LABELING))],
) -> HTMLResponse:
    loop = state.workspace.store
    record = loop.get_inference(request_id)
    shown = logged_inputs(state, [record]).get(request_id)
    chosen = None
    if record.scores is not None:
        chosen = max(range(len(record.scores)), key=lambda i: record.scores[i])  # type: ignore[index]
    queues = [name for name in loop.queues() if loop.queued_keys(name, [request_id])]
    return render(
        request,
        "inference.html",
        live=live,
        nav="inferences",
        record=record,
        shown=shown,
        feedback=feedback_of(state, [request_id]).get(request_id, []),
        scores=scores_chart(list(record.scores), chosen) if record.scores else "",
        queues=queues,
    )
