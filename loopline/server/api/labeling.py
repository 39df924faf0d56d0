"""`/api/v1/labeling`: the labeling queues, for the labeling page and for scripts.

Built on `loopline.cl.labeling.queue.LabelingQueue`: a claim leases tasks to one labeler, and every
change of state is a compare-and-set in the store, so several labelers (pages, scripts) never
clobber each other; a task someone else moved meanwhile answers 409 with what happened.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from loopline.cl.labeling.queue import LabelingQueue
from loopline.cl.store.records import LabelingTask, TaskState
from loopline.server.api.paging import Limit, Offset, page
from loopline.server.auth.guard import acting_as
from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.labeling import (
    ClaimIn,
    CommitIn,
    CommitOut,
    LabelerIn,
    LabelIn,
    LabelingTaskOut,
    QueueOut,
    ReviewIn,
)
from loopline.server.state import ServerState, server_state

router = APIRouter(
    prefix="/api/v1/labeling",
    tags=["labeling"],
    responses={
        400: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
    },
)
State = Annotated[ServerState, Depends(server_state)]
# What LabelingQueue takes as a name: no blank, no space (as str.isspace() has it) at either end.
QueueName = Annotated[
    str,
    Path(
        pattern=r"^[^\s\x1c-\x1f\x85](.*[^\s\x1c-\x1f\x85])?$",
        max_length=256,
        description="a plain name, e.g. digits",
    ),
]
TaskId = Annotated[int, Path(ge=1, le=2**62)]
LEASE_S = 600.0


def queue(state: ServerState, name: str) -> LabelingQueue:
    return LabelingQueue(name, lease_s=LEASE_S, workspace=state.workspace)


def task_queue(state: ServerState, task_id: int) -> tuple[LabelingQueue, LabelingTask]:
    task = state.workspace.store.get_task(task_id)
    return queue(state, task.queue), task


@router.get("", response_model=list[QueueOut], summary="The labeling queues and their tasks per state")
def list_queues(state: State, limit: Limit = 100, offset: Offset = 0) -> list[QueueOut]:
    loop = state.workspace.store
    return [QueueOut(name=name, counts=loop.task_counts(name)) for name in page(loop.queues(), limit, offset)]


@router.get(
    "/{queue_name:path}/tasks",
    response_model=list[LabelingTaskOut],
    summary="A queue's tasks, in queue order",
)
def list_tasks(
    queue_name: QueueName,
    state: State,
    states: Annotated[list[TaskState], Query(alias="state", description="only tasks in these states")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[LabelingTaskOut]:
    found = state.workspace.store.list_tasks(queue_name, states=states or None, limit=limit, offset=offset)
    return [LabelingTaskOut.model_validate(t) for t in found]


@router.post(
    "/{queue_name:path}/claim",
    response_model=list[LabelingTaskOut],
    summary="Lease up to `limit` open tasks to a labeler (ten minutes; two labelers never share one)",
)
def claim(queue_name: QueueName, body: ClaimIn, request: Request, state: State) -> list[LabelingTaskOut]:
    return [
        LabelingTaskOut.model_validate(t)
        for t in queue(state, queue_name).claim(body.limit, labeler=acting_as(request, body.labeler))
    ]


@router.post("/tasks/{task_id}/label", response_model=LabelingTaskOut, summary="Label a task you claimed")
def label(task_id: TaskId, body: LabelIn, request: Request, state: State) -> LabelingTaskOut:
    chosen, task = task_queue(state, task_id)
    return LabelingTaskOut.model_validate(
        chosen.submit(task, body.label, labeler=acting_as(request, body.labeler))
    )


@router.post(
    "/tasks/{task_id}/skip", response_model=LabelingTaskOut, summary="Skip a task (it goes behind the others)"
)
def skip(task_id: TaskId, body: LabelerIn, request: Request, state: State) -> LabelingTaskOut:
    chosen, task = task_queue(state, task_id)
    return LabelingTaskOut.model_validate(chosen.skip(task, labeler=acting_as(request, body.labeler)))


@router.post("/tasks/{task_id}/release", response_model=LabelingTaskOut, summary="Give a claimed task back")
def release(task_id: TaskId, body: LabelerIn, request: Request, state: State) -> LabelingTaskOut:
    chosen, task = task_queue(state, task_id)
    return LabelingTaskOut.model_validate(chosen.release(task, labeler=acting_as(request, body.labeler)))


@router.post(
    "/tasks/{task_id}/review",
    response_model=LabelingTaskOut,
    summary="Approve a labeled task (optionally correcting its label) or send it back to be labeled again",
)
def review(task_id: TaskId, body: ReviewIn, request: Request, state: State) -> LabelingTaskOut:
    chosen, task = task_queue(state, task_id)
    return LabelingTaskOut.model_validate(
        chosen.review(
            task, approve=body.approve, label=body.label, reviewer=acting_as(request, body.reviewer)
        )
    )


@router.post(
    "/{queue_name:path}/commit",
    response_model=CommitOut,
    summary="Append the labeled (or only the approved) examples to a dataset as a new version",
)
def commit(queue_name: QueueName, body: CommitIn, state: State) -> CommitOut:
    review = True if body.reviewed_only else None  # unchecked: as the queue is configured, never less
    chosen = LabelingQueue(queue_name, review=review, workspace=state.workspace)
    done = chosen.commit(body.dataset)
    return CommitOut(dataset=done.ref, added=done.added, relabeled=done.relabeled, tasks=list(done.tasks))
