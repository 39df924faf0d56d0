"""`/api/v1/artifacts/{id}`: an artifact's display summary, its stored value for download, and
pages of a stored table's rows.

Ids must be 64 hex digits before anything touches the store, so no path can be smuggled in.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response, StreamingResponse

from loopline.core.serialization import JSON
from loopline.core.summaries import MAX_TABLE_COLUMNS, column_names, json_safe
from loopline.server.api.paging import Offset
from loopline.server.rendering.figures import (
    FIGURE_TYPES,
    PLOTLY_FIGURE,
    FigureUnavailable,
    figure_svg,
    plotly_json,
)
from loopline.server.schemas.artifacts import ArtifactOut, RowsOut
from loopline.server.schemas.common import ErrorOut
from loopline.server.state import ServerState, server_state
from loopline.storage.artifacts import check_artifact_id, load_value, verified_chunks

router = APIRouter(prefix="/api/v1/artifacts", tags=["artifacts"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]
NOT_DRAWN = "the artifact is not a figure of this kind, or this server cannot draw it"
TABLE_KINDS = ("dataframe", "series")
ROWS_PAGE = 50
MAX_ROWS_PAGE = 500
T = TypeVar("T")


@router.get(
    "/{artifact_id}", response_model=ArtifactOut, summary="An artifact's type, size and display summary"
)
def get_artifact(artifact_id: str, state: State) -> ArtifactOut:
    return ArtifactOut.model_validate(state.metadata.get_artifact(check_artifact_id(artifact_id)))


@router.get(
    "/{artifact_id}/download",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}, "text/csv": {}}},
        409: {
            "model": ErrorOut,
            "description": "the stored value's type has no such format (or it is corrupt)",
        },
    },
    summary="The stored value: Loopline's encoded bytes (raw), or CSV / .npy / JSON for tables, arrays and plain data",
)
async def download(
    artifact_id: str, state: State, format: Annotated[str, Query(pattern="^(raw|csv|npy|json)$")] = "raw"
) -> Response:
    record = await asyncio.to_thread(state.metadata.get_artifact, check_artifact_id(artifact_id))
    short = artifact_id[:12]
    if format == "raw":
        # Checked whole before the status goes out, so a corrupt file answers 409, not 200.
        await asyncio.to_thread(_verify, state, artifact_id)
        reader = await asyncio.to_thread(state.artifacts.open, artifact_id)
        return StreamingResponse(
            verified_chunks(reader),
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{short}.loopline"',
                "Content-Length": str(record.size),
            },
        )
    value = await asyncio.to_thread(load_value, artifact_id, state.artifacts)
    body, media, suffix = _convert(value, format)
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{short}.{suffix}"'}
    )


def _verify(state: ServerState, artifact_id: str) -> None:
    reader = state.artifacts.open(artifact_id)
    try:
        reader.verify()
    finally:
        reader.close()


def _convert(value: Any, format: str) -> tuple[bytes, str, str]:
    if format == "csv" and hasattr(value, "to_csv"):
        return value.to_csv().encode(), "text/csv", "csv"
    if format == "npy" and type(value).__module__ == "numpy" and hasattr(value, "shape"):
        import numpy as np

        out = io.BytesIO()
        np.save(out, value, allow_pickle=False)
        return out.getvalue(), "application/octet-stream", "npy"
    if format == "json":
        try:
            return json.dumps(value, allow_nan=False).encode(), "application/json", "json"
        except (TypeError, ValueError):
            pass
    raise HTTPException(
        409, f"this artifact ({type(value).__name__}) cannot be downloaded as {format}; use format=raw"
    )


@router.get(
    "/{artifact_id}/figure",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, 409: {"model": ErrorOut, "description": NOT_DRAWN}},
    summary="A stored matplotlib or plotly figure, drawn as SVG",
)
async def figure(artifact_id: str, state: State) -> Response:
    svg = await _drawn(artifact_id, state, FIGURE_TYPES, "a figure", figure_svg)
    return Response(svg, media_type="image/svg+xml", headers={"Content-Security-Policy": "script-src 'none'"})


@router.get(
    "/{artifact_id}/plotly",
    response_class=Response,
    responses={
        200: {"content": {"application/json": {}}},
        409: {"model": ErrorOut, "description": NOT_DRAWN},
    },
    summary="A stored plotly figure as plotly.js draws it (data and layout)",
)
async def plotly_figure(artifact_id: str, state: State) -> Response:
    body = await _drawn(artifact_id, state, (PLOTLY_FIGURE,), "a plotly figure", plotly_json)
    return Response(body, media_type="application/json")


async def _drawn(
    artifact_id: str, state: ServerState, types: tuple[str, ...], what: str, draw: Callable[[Any], T]
) -> T:
    """A stored figure of one of `types`, drawn by `draw` (off the event loop); 409 otherwise."""
    record = await asyncio.to_thread(state.metadata.get_artifact, check_artifact_id(artifact_id))
    if not (isinstance(record.summary, dict) and record.summary.get("type") in types):
        raise HTTPException(409, f"artifact {artifact_id[:12]} is a {record.type_name}, not {what}")
    value = await asyncio.to_thread(load_value, artifact_id, state.artifacts)
    try:
        return await asyncio.to_thread(draw, value)
    except FigureUnavailable as exc:
        raise HTTPException(409, str(exc)) from exc


@router.get(
    "/{artifact_id}/rows",
    response_model=RowsOut,
    responses={
        400: {"model": ErrorOut, "description": "`sort` names no column of the table"},
        409: {
            "model": ErrorOut,
            "description": "the artifact is not a table (DataFrame or Series), or its `sort` column mixes values that have no order",
        },
    },
    summary="One page of a stored table's rows, in stored order or sorted by a column over the whole table",
)
async def rows(
    artifact_id: str,
    state: State,
    offset: Offset = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_ROWS_PAGE, description=f"at most this many rows (1 to {MAX_ROWS_PAGE})")
    ] = ROWS_PAGE,
    sort: Annotated[
        str | None, Query(max_length=200, description="a column (as `columns` names it) to sort by")
    ] = None,
    descending: Annotated[
        bool, Query(description="largest first; without `sort`, the stored order reversed")
    ] = False,
) -> RowsOut:
    record = await asyncio.to_thread(state.metadata.get_artifact, check_artifact_id(artifact_id))
    if not (isinstance(record.summary, dict) and record.summary.get("kind") in TABLE_KINDS):
        raise HTTPException(
            409, f"artifact {artifact_id[:12]} is a {record.type_name}, not a table (a DataFrame or Series)"
        )
    frame = await asyncio.to_thread(
        state.frames.get,
        artifact_id,
        lambda: _as_frame(load_value(artifact_id, state.artifacts), artifact_id),
    )
    return await asyncio.to_thread(_rows_page, state, artifact_id, frame, offset, limit, sort, descending)


def _as_frame(value: Any, artifact_id: str) -> Any:
    """The stored table as a pandas DataFrame, its shown columns only (as the summary has them)."""
    import pandas as pd

    if isinstance(value, pd.Series):
        value = value.to_frame()
    elif not isinstance(value, pd.DataFrame) and callable(getattr(value, "to_pandas", None)):
        value = value.to_pandas()  # an Arrow table (a warehouse snapshot)
    if not isinstance(value, pd.DataFrame):
        raise HTTPException(409, f"artifact {artifact_id[:12]} holds a {type(value).__name__}, not a table")
    return value.iloc[:, :MAX_TABLE_COLUMNS]


def _rows_page(
    state: ServerState,
    artifact_id: str,
    frame: Any,
    offset: int,
    limit: int,
    sort: str | None,
    descending: bool,
) -> RowsOut:
    columns = column_names(frame)
    if sort is None:
        positions = range(len(frame) - 1, -1, -1) if descending else range(len(frame))
        chunk = frame.iloc[list(positions[offset : offset + limit])]
    else:
        if sort not in columns:
            raise HTTPException(
                400,
                f"sort={sort!r} names no column of artifact {artifact_id[:12]}; "
                f"its columns are {', '.join(columns[:20])}{', …' if len(columns) > 20 else ''}",
            )
        position = columns.index(sort)
        key = f"{artifact_id}:{position}:{int(descending)}"
        order = state.row_orders.get(key, lambda: _sorted_positions(frame, position, sort, descending))
        chunk = frame.iloc[order[offset : offset + limit]]
    return RowsOut(
        artifact_id=artifact_id,
        total=len(frame),
        offset=offset,
        limit=limit,
        sort=sort,
        descending=descending,
        columns=columns,
        index=[json_safe(i) for i in chunk.index.tolist()],
        rows=[_cells(row) for row in chunk.itertuples(index=False, name=None)],
    )


def _sorted_positions(frame: Any, position: int, name: str, descending: bool) -> Any:
    """Row positions of `frame` ordered by its column at `position`; ties keep the stored order
    and missing values come last either way."""
    column = frame.iloc[:, position].reset_index(drop=True)
    try:
        ordered = column.sort_values(ascending=not descending, kind="stable", na_position="last")
    except TypeError:
        raise HTTPException(
            409,
            f"column {name!r} mixes values that have no order between them (numbers and text, say), "
            "so the whole table cannot be sorted by it; download the table as CSV to sort it elsewhere",
        ) from None
    return ordered.index.to_numpy()


def _cells(row: tuple[Any, ...]) -> list[JSON]:
    return [json_safe(cell) for cell in row]
