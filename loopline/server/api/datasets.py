"""`/api/v1/datasets`: every dataset's versions, and what changed between two (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from loopline.server.api.paging import Limit, Offset, page
from loopline.server.lookups import MAX_VERSION, load_dataset
from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.datasets import DatasetDiffOut, DatasetOut, DatasetVersionOut
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1", tags=["registry"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]


@router.get(
    "/datasets", response_model=list[DatasetVersionOut], summary="The latest version of every dataset"
)
def list_datasets(state: State, limit: Limit = 100, offset: Offset = 0) -> list[DatasetVersionOut]:
    versions = state.workspace.store.latest_dataset_versions()
    return [DatasetVersionOut.model_validate(v) for v in page(versions, limit, offset)]


@router.get(
    "/datasets/{name:path}/diff",
    response_model=DatasetDiffOut,
    summary="Example ids added, removed and changed between two versions",
)
def diff_datasets(
    name: str,
    state: State,
    old: Annotated[int, Query(ge=1, le=MAX_VERSION)],
    new: Annotated[int, Query(ge=1, le=MAX_VERSION)],
) -> DatasetDiffOut:
    store = state.workspace.store
    before = load_dataset(state, store.get_dataset_version(name, old))
    after = load_dataset(state, store.get_dataset_version(name, new))
    return DatasetDiffOut.model_validate(after.diff(before))


@router.get("/datasets/{name:path}", response_model=DatasetOut, summary="Every version of a dataset")
def get_dataset(name: str, state: State) -> DatasetOut:
    store = state.workspace.store
    versions = store.dataset_versions(name)
    if not versions:
        store.get_dataset_version(name)  # DatasetNotFoundError: 404 with the registry's message
    return DatasetOut(name=name, versions=[DatasetVersionOut.model_validate(v) for v in versions])
