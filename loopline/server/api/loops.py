"""`/api/v1/loops`: the history of each continuous-improvement loop, round by round."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.loops import LoopRoundOut
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1/loops", tags=["loops"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]


@router.get("", response_model=list[LoopRoundOut], summary="The latest round of every loop")
def list_loops(state: State) -> list[LoopRoundOut]:
    return [LoopRoundOut.model_validate(r) for r in state.workspace.store.loops()]


@router.get("/{name:path}", response_model=list[LoopRoundOut], summary="Every round of a loop, oldest first")
def get_loop(name: str, state: State) -> list[LoopRoundOut]:
    rounds = state.workspace.store.rounds(name)
    if not rounds:
        raise HTTPException(404, f"no loop named {name!r} has recorded a round; list them at /api/v1/loops")
    return [LoopRoundOut.model_validate(r) for r in rounds]
