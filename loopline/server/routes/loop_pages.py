"""The dashboard's continuous-improvement pages: the inference and feedback explorer, the labeling
queues (label, skip, review, commit), and the history of each loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse

from loopline.cl.datasets import Dataset, parse_ref
from loopline.cl.errors import DatasetNotFoundError
from loopline.cl.loop_records import Feedback, InferenceQuery, InferenceRecord, LabelingTask
from loopline.cl.revisions import RecordKind
from loopline.engine.launch import current_user
from loopline.server import exhibits
from loopline.server.charts import bar_chart, rounds_chart, scores_chart
from loopline.server.live import LivePage
from loopline.server.routes.cl_pages import dataset_link
from loopline.server.routes.ingest import inference_query
from loopline.server.routes.pages import render
from loopline.server.state import ServerState, live_page, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
PAGE = 50
REVIEW_PAGE = 60
MAX_OPTIONS = 20
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
    for item in state.workspace.loop.list_feedback(request_ids=request_ids, limit=None):
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
    loop = state.workspace.loop
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
    loop = state.workspace.loop
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


# -- labeling ----------------------------------------------------------------------------------


@router.get("/labeling", response_class=HTMLResponse)
def queues_page(
    request: Request, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.LABELING))]
) -> HTMLResponse:
    loop = state.workspace.loop
    rows = [(name, loop.task_counts(name)) for name in loop.queues()]
    return render(request, "queues.html", live=live, nav="labeling", rows=rows)


@dataclasses.dataclass(frozen=True)
class LabelOption:
    value: Any  # the JSON value sent as the label
    text: str
    key: str  # the key that picks it ("" when none does)


def label_options(values: Sequence[Any]) -> list[LabelOption]:
    """The labels offered as buttons: digits keep their own keys (press 7 for 7); other labels get
    the keys 1-9 in order."""
    distinct: list[Any] = []
    for value in values:
        if value is not None and not isinstance(value, (list, dict)) and value not in distinct:
            distinct.append(value)
    if distinct and all(type(v) is int and 0 <= v <= 9 for v in distinct):
        return [LabelOption(d, str(d), str(d)) for d in range(10)]
    ordered = sorted(distinct[:MAX_OPTIONS], key=lambda v: (str(type(v)), v))
    return [LabelOption(v, exhibits.text_of(v), str(i + 1) if i < 9 else "") for i, v in enumerate(ordered)]


def queue_labels(state: ServerState, name: str) -> list[Any]:
    """Labels seen in the queue: suggestions, labels given, and the labels of source datasets."""
    loop = state.workspace.loop
    tasks = loop.list_tasks(name, limit=500)
    values: list[Any] = [t.suggestion for t in tasks] + [t.label for t in tasks]
    for source in {t.source for t in tasks if "@" in t.source}:
        try:
            dataset_name, version = parse_ref(source, "dataset")
            record = state.workspace.store.get_dataset_version(dataset_name, version)
        except (DatasetNotFoundError, ValueError):
            continue
        data = state.value(record.artifact_id)
        if isinstance(data, Dataset) and data.labels is not None:
            values += [v for v, _ in exhibits.counts(data.labels, limit=MAX_OPTIONS)]
    return values


@router.get("/labeling/{queue_name:path}", response_class=HTMLResponse)
def labeling_page(
    request: Request,
    queue_name: str,
    state: State,
    mode: Annotated[str, Query(pattern="^(label|review)$")] = "label",
) -> HTMLResponse:
    loop = state.workspace.loop
    counts = loop.task_counts(queue_name)
    if not counts:
        raise HTTPException(404, f"no labeling queue named {queue_name!r}; see the queues at /labeling")
    review: list[TaskView] = []
    if mode == "review":
        review = task_views(state, loop.list_tasks(queue_name, states=["labeled"], limit=REVIEW_PAGE))
    return render(
        request,
        "labeling.html",
        nav="labeling",
        queue=queue_name,
        counts=counts,
        mode=mode,
        options=label_options(queue_labels(state, queue_name)),
        labeler=current_user(),
        review=review,
        datasets=commit_targets(state),
        target=next((r.dataset for r in state.workspace.loop.loops() if r.queue == queue_name), None),
        recent=recently_labeled(state, queue_name),
    )


def commit_targets(state: ServerState) -> list[str]:
    """Datasets labels may join: never one a regression report tested against (a golden set)."""
    from loopline.server.routes.cl_pages import golden_names

    golden = golden_names(state)
    return [d.name for d in state.workspace.store.latest_dataset_versions() if d.name not in golden]


def recently_labeled(state: ServerState, name: str, limit: int = 12) -> list[LabelingTask]:
    done = state.workspace.loop.list_tasks(name, states=["labeled", "approved", "committed"], limit=500)
    done.sort(key=lambda t: (t.labeled_at is not None, t.labeled_at), reverse=True)
    return done[:limit]


@dataclasses.dataclass(frozen=True)
class TaskView:
    task: LabelingTask
    shown: exhibits.Shown | None
    suggestion: str
    label: str


def task_views(state: ServerState, tasks: Sequence[LabelingTask]) -> list[TaskView]:
    """Tasks with their examples shown as what they are (one load per source artifact)."""
    by_artifact: dict[str, list[LabelingTask]] = {}
    for task in tasks:
        by_artifact.setdefault(task.artifact_id, []).append(task)
    shown: dict[int, exhibits.Shown] = {}
    for artifact_id, group in by_artifact.items():
        data = state.value(artifact_id)
        if not isinstance(data, Dataset):
            continue
        present = set(data.ids.tolist())
        known = [t for t in group if t.example_id in present]
        positions = data.positions([t.example_id for t in known]).tolist()
        scale = exhibits.value_range(data.features)
        for task, value in zip(known, exhibits.rows_of(data.features, positions)):
            shown[task.id] = exhibits.show(value, task.display or data.display, scale)
    return [
        TaskView(t, shown.get(t.id), exhibits.text_of(t.suggestion), exhibits.text_of(t.label)) for t in tasks
    ]


@router.get("/fragments/labeling/task/{task_id}", response_class=HTMLResponse)
def task_fragment(
    request: Request, task_id: Annotated[int, Path(ge=1, le=2**62)], state: State
) -> HTMLResponse:
    (view,) = task_views(state, [state.workspace.loop.get_task(task_id)])
    return render(request, "labeling_task.html", view=view)


# -- loops -------------------------------------------------------------------------------------


@router.get("/loops", response_class=HTMLResponse)
def loops_page(
    request: Request, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.LOOPS))]
) -> HTMLResponse:
    return render(request, "loops.html", live=live, nav="loops", rows=state.workspace.loop.loops())


@router.get("/loops/{name:path}", response_class=HTMLResponse)
def loop_page(
    request: Request, name: str, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.LOOPS))]
) -> HTMLResponse:
    rounds = state.workspace.loop.rounds(name)
    if not rounds:
        raise HTTPException(404, f"no loop named {name!r} has recorded a round; list them at /loops")
    scenarios: dict[str, list[tuple[int, float]]] = {}
    metrics: dict[str, list[tuple[int, float]]] = {}
    for r in rounds:
        for scenario, values in r.scenarios.items():
            accuracy = values.get("accuracy")
            if isinstance(accuracy, (int, float)):
                scenarios.setdefault(scenario, []).append((r.round, float(accuracy)))
        for metric, value in r.metrics.items():
            metrics.setdefault(metric, []).append((r.round, float(value)))
    numbers = [r.round for r in rounds]
    sizes = []
    for r in rounds:
        size = _dataset_size(state, r.dataset_after or r.dataset_before)
        if size is not None:
            sizes.append((f"r{r.round}", float(size), dataset_link(r.dataset_after or r.dataset_before)))
    return render(
        request,
        "loop.html",
        live=live,
        nav="loops",
        name=name,
        rounds=list(reversed(rounds)),
        latest=rounds[-1],
        metrics_chart=rounds_chart("loop metrics", metrics, rounds=numbers) if metrics else "",
        scenarios_chart=(
            rounds_chart("candidate accuracy per scenario", scenarios, rounds=numbers) if scenarios else ""
        ),
        sizes_chart=bar_chart(sizes, title="training examples after each round") if sizes else "",
    )


def _dataset_size(state: ServerState, ref: str | None) -> int | None:
    if not ref:
        return None
    try:
        name, version = parse_ref(ref, "dataset")
        return state.workspace.store.get_dataset_version(name, version).size
    except (DatasetNotFoundError, ValueError):
        return None
