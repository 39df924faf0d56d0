"""The labeling pages: the queues, and one queue's page where labelers label, skip and review its
tasks (each example shown as what it is) and commit the labels to a dataset."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse

from loopline.cl.datasets.dataset import Dataset, parse_ref
from loopline.cl.store.errors import DatasetNotFoundError
from loopline.cl.store.records import LabelingTask
from loopline.cl.store.revisions import RecordKind
from loopline.server.auth.guard import acting_as
from loopline.server.live import LivePage
from loopline.server.lookups import golden_names
from loopline.server.pages.render import render
from loopline.server.rendering import exhibits
from loopline.server.state import ServerState, live_page, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
REVIEW_PAGE = 60
MAX_OPTIONS = 20


@router.get("/labeling", response_class=HTMLResponse)
def queues_page(
    request: Request, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.LABELING))]
) -> HTMLResponse:
    loop = state.workspace.store
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
    loop = state.workspace.store
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
    loop = state.workspace.store
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
        labeler=acting_as(request),
        review=review,
        datasets=commit_targets(state),
        target=next((r.dataset for r in state.workspace.store.loops() if r.queue == queue_name), None),
        recent=recently_labeled(state, queue_name),
    )


def commit_targets(state: ServerState) -> list[str]:
    """Datasets labels may join: never one a regression report tested against (a golden set)."""

    golden = golden_names(state)
    return [d.name for d in state.workspace.store.latest_dataset_versions() if d.name not in golden]


def recently_labeled(state: ServerState, name: str, limit: int = 12) -> list[LabelingTask]:
    done = state.workspace.store.list_tasks(name, states=["labeled", "approved", "committed"], limit=500)
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
    (view,) = task_views(state, [state.workspace.store.get_task(task_id)])
    return render(request, "labeling_task.html", view=view)
