"""`/api/v1/runs`: list (filters, search, cursor pages), one run, its pipeline's tree and graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from loopline.core.records import RunState
from loopline.server import queries
from loopline.server.queries import Moment, parse_moment
from loopline.server.rendering.graph_layout import layout
from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.runs import (
    GraphEdgeOut,
    GraphNodeOut,
    GraphOut,
    RunDetailOut,
    RunListOut,
    RunOut,
    TreeOut,
)
from loopline.server.state import ServerState, server_state
from loopline.storage.paging import CURSOR_PATTERN

router = APIRouter(
    prefix="/api/v1/runs", tags=["runs"], responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}}
)
State = Annotated[ServerState, Depends(server_state)]
Ids = Annotated[list[str], Query(max_length=500)]


@router.get("", response_model=RunListOut, summary="List runs, newest first")
def list_runs(
    state: State,
    states: Annotated[list[RunState], Query(alias="state", description="only runs in these states")] = [],  # noqa: B006
    name: Annotated[str | None, Query(max_length=512, description="part of the display name")] = None,
    tags: Annotated[list[str], Query(alias="tag", description="every tag must be present")] = [],  # noqa: B006
    pipeline: Annotated[
        str | None, Query(max_length=512, description="exact pipeline function (module.qualname)")
    ] = None,
    search: Annotated[
        str | None, Query(alias="q", max_length=512, description="free text over ids, names, functions, tags")
    ] = None,
    root_only: Annotated[bool, Query(description="only pipeline runs (no nested runs)")] = False,
    root_id: Annotated[str | None, Query(max_length=64, description="only runs of this pipeline run")] = None,
    parent_id: Annotated[
        str | None, Query(max_length=64, description="only runs started by this run")
    ] = None,
    created_after: Moment = None,
    created_before: Moment = None,
    artifact: Annotated[
        str | None,
        Query(
            pattern="^[0-9a-f]{64}$",
            description="only runs that produced this artifact or took it as an input",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, max_length=100, description="the next_cursor of the previous page"),
    ] = None,
    count: Annotated[bool, Query(description="also count every matching run (slower)")] = False,
) -> RunListOut:
    query = queries.run_filter(
        states=states,
        name=name,
        tags=tags,
        pipeline=pipeline,
        search=search,
        root_only=root_only,
        root_id=root_id,
        parent_id=parent_id,
        created_after=parse_moment("created_after", created_after),
        created_before=parse_moment("created_before", created_before),
        artifact=artifact,
    )
    page = state.metadata.list_runs(query, limit=limit, cursor=cursor)
    total = state.metadata.count_runs(query) if count else None
    return RunListOut(
        runs=[RunOut.model_validate(r) for r in page.runs], next_cursor=page.next_cursor, total=total
    )


@router.get("/{run_id}", response_model=RunDetailOut, summary="One run, with everything recorded about it")
def get_run(run_id: str, state: State) -> RunDetailOut:
    return RunDetailOut.model_validate(state.metadata.get_run(run_id))


@router.get("/{run_id}/tree", response_model=TreeOut, summary="Every run of this run's pipeline, depth-first")
def get_tree(run_id: str, state: State) -> TreeOut:
    root_id = state.metadata.get_run(run_id).root_id
    ordered = queries.tree_order(state.pipeline_runs(root_id), root_id)
    return TreeOut(root_id=root_id, runs=[RunOut.model_validate(r) for r in ordered])


@router.get("/{run_id}/graph", response_model=GraphOut, summary="The laid-out graph of this run's pipeline")
def get_graph(run_id: str, state: State, open: Ids = [], closed: Ids = []) -> GraphOut:  # noqa: B006
    root_id = state.metadata.get_run(run_id).root_id
    drawn = layout(state.pipeline_runs(root_id), root_id, opened=set(open), closed=set(closed))
    keys = {id(box): box.key for box in drawn.boxes}
    return GraphOut(
        root_id=root_id,
        total_runs=drawn.total_runs,
        width=drawn.width,
        height=drawn.height,
        nodes=[
            GraphNodeOut(
                id=box.key,
                kind=box.kind,
                label=box.label,
                run_id=box.run.id if box.kind != "fanout" else None,
                state=box.state,
                count=len(box.runs),
                states=box.states(),
                x=box.x,
                y=box.y,
                width=box.width,
                height=box.height,
                depth=box.depth,
                collapsed_children=box.hidden,
            )
            for box in drawn.boxes
        ],
        edges=[GraphEdgeOut(source=keys[id(s)], target=keys[id(t)], count=n) for s, t, n in drawn.edges],
    )
