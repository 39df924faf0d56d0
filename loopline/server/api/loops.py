"""`/api/v1/loops`: the history of each continuous-improvement loop, round by round."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from loopline.server.api.paging import Limit, Offset, page
from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.loops import LoopRoundOut
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1/loops", tags=["loops"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]


@router.get("", response_model=list[LoopRoundOut], summary="The latest round of every loop")
def list_loops(state: State, limit: Limit = 100, offset: Offset = 0) -> list[LoopRoundOut]:
    return [LoopRoundOut.model_validate(r) for r in page(state.workspace.store.loops(), limit, offset)]


@router.get("/{name:path}", response_model=list[LoopRoundOut], summary="Every round of a loop, oldest first")
def get_loop(name: str, state: State, limit: Limit = 100, offset: Offset = 0) -> list[LoopRoundOut]:
    rounds = state.workspace.store.rounds(name)
    if not rounds:
        raise HTTPException(404, f"no loop named {name!r} has recorded a round; list them at /api/v1/loops")
    return [LoopRoundOut.model_validate(r) for r in page(rounds, limit, offset)]
