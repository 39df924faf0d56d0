"""`/api/v1/pipelines`: one entry per pipeline with run counts, success rate and recent durations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from loopline.server import queries
from loopline.server.api.paging import Limit, Offset, page
from loopline.server.schemas.pipelines import DurationPoint, PipelineOut, PipelinesOut
from loopline.server.schemas.runs import RunOut
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1/pipelines", tags=["pipelines"])
State = Annotated[ServerState, Depends(server_state)]


@router.get("", response_model=PipelinesOut, summary="Every pipeline with its statistics, latest first")
def list_pipelines(
    state: State, recent: Annotated[int, Query(ge=1, le=500)] = 30, limit: Limit = 100, offset: Offset = 0
) -> PipelinesOut:
    return PipelinesOut(
        pipelines=[
            PipelineOut(
                function=row.stats.function,
                name=row.last.name,
                runs=row.runs,
                succeeded=row.succeeded,
                failed=row.failed,
                running=row.running,
                success_rate=row.success_rate,
                last_run=RunOut.model_validate(row.last),
                recent=[
                    DurationPoint(
                        run_id=r.id, state=r.state, created_at=r.created_at, duration_s=r.duration_s
                    )
                    for r in row.stats.recent
                ],
            )
            for row in page(queries.pipelines(state.metadata, recent), limit, offset)
        ]
    )
