"""`/api/v1/models`: registered models, their versions, aliases and promotion history (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from loopline.server.api.paging import Limit, Offset, page
from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.models import AliasMoveOut, ModelOut, ModelSummaryOut, ModelVersionOut
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1", tags=["registry"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]


@router.get(
    "/models",
    response_model=list[ModelSummaryOut],
    summary="Every registered model, its latest version and aliases",
)
def list_models(state: State, limit: Limit = 100, offset: Offset = 0) -> list[ModelSummaryOut]:
    store = state.workspace.store
    return [
        ModelSummaryOut(latest=ModelVersionOut.model_validate(m), aliases=store.aliases(m.name))
        for m in page(store.latest_model_versions(), limit, offset)
    ]


@router.get(
    "/models/{name:path}",
    response_model=ModelOut,
    summary="A model's versions, aliases and promotion history",
)
def get_model(name: str, state: State) -> ModelOut:
    store = state.workspace.store
    versions = store.model_versions(name)
    if not versions:
        store.get_model_version(name)  # ModelNotFoundError: 404
    return ModelOut(
        name=name,
        versions=[ModelVersionOut.model_validate(v) for v in versions],
        aliases=store.aliases(name),
        history=[AliasMoveOut.model_validate(m) for m in store.alias_history(name)],
    )
