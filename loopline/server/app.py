"""`create_app`: the FastAPI application for one pair of stores (no module-level app object)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from loopline._version import __version__
from loopline.cl.errors import (
    AliasMovedError,
    DatasetConflictError,
    DatasetNotFoundError,
    ModelNotFoundError,
    ScheduleNotFoundError,
)
from loopline.cl.loop_errors import InferenceNotFoundError, TaskNotFoundError, TaskStateError
from loopline.cl.workspace import Workspace
from loopline.errors import (
    ArtifactCorruptedError,
    ArtifactNotFoundError,
    LooplineError,
    RunNotFoundError,
)
from loopline.server.config import ServerConfig
from loopline.server.figures import plotly_js
from loopline.server.live import ChangeFeed
from loopline.server.routes import (
    actions,
    artifacts,
    cl_pages,
    events,
    ingest,
    labeling,
    logs,
    loop_pages,
    loops,
    pages,
    pipelines,
    registry,
    runs,
    schedules,
)
from loopline.server.security import GuardMiddleware
from loopline.server.state import ServerState
from loopline.storage.base import ArtifactStore, MetadataStore

STATIC = Path(__file__).parent / "static"


def create_app(
    metadata: MetadataStore, artifacts_store: ArtifactStore, config: ServerConfig | None = None
) -> FastAPI:
    """The API and dashboard over these stores. Live updates start with the app's lifespan, and so
    does the scheduler when the config names the store's settings and asks for it."""
    config = config or ServerConfig()
    workspace = _workspace(metadata, artifacts_store)
    feed = ChangeFeed(metadata, config.poll_s, workspace.revisions)
    state = ServerState(metadata, artifacts_store, config, feed, workspace)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        poller = asyncio.create_task(feed.run())
        with _scheduler(config):
            try:
                yield
            finally:
                feed.stop()
                await poller

    app = FastAPI(
        title="Loopline",
        version=__version__,
        description="Runs, artifacts, logs and metrics of Loopline pipelines; datasets, models, "
        "regression reports and schedules; inference logging, feedback and labeling.",
        lifespan=lifespan,
        docs_url=None,  # the default docs page loads Swagger UI from a CDN; /api works offline
        redoc_url=None,
    )
    app.state.loopline = state
    app.add_middleware(GuardMiddleware, config=config)
    for router in (
        runs.router,
        logs.router,
        actions.router,
        artifacts.router,
        pipelines.router,
        events.router,
        registry.router,
        schedules.router,
        ingest.router,
        labeling.router,
        loops.router,
        pages.router,
        cl_pages.router,
        loop_pages.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/vendor/plotly.min.js", _plotly_js, include_in_schema=False)
    _add_error_handlers(app)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app


def _plotly_js() -> Response:
    path = plotly_js()
    if path is None:
        return PlainTextResponse(
            "plotly is not installed where the server runs: `pip install plotly` there to see plotly figures",
            status_code=404,
        )
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


def _workspace(metadata: MetadataStore, artifacts_store: ArtifactStore) -> Workspace:
    """The continuous-learning records live in the metadata store's database; a store without one
    (the in-memory store of some tests) gets empty in-memory CL and loop stores."""
    if getattr(metadata, "engine", None) is not None:
        return Workspace.from_stores(metadata, artifacts_store)
    from loopline.cl.loop_store import MemoryLoopStore
    from loopline.cl.store import MemoryCLStore

    return Workspace(MemoryCLStore(), metadata, artifacts_store, MemoryLoopStore())


@contextlib.contextmanager
def _scheduler(config: ServerConfig) -> Iterator[None]:
    """Run due schedules in a background thread while the app serves (`loopline server`)."""
    if config.settings is None or not config.run_schedules:
        yield
        return
    from loopline.cl.schedules import Scheduler

    scheduler = Scheduler.for_settings(config.settings)
    thread = threading.Thread(
        target=scheduler.serve, args=(config.schedule_interval_s,), name="loopline-scheduler", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        scheduler.stop()
        thread.join(timeout=10)


def _error(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    page = pages.TEMPLATES.get_template("error.html").render(status=status, detail=detail, token="")
    return HTMLResponse(page, status_code=status, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The generated schema, with validation errors described as this API sends them."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            spec.setdefault("components", {}).setdefault("schemas", {})["HTTPValidationError"] = {
                "title": "HTTPValidationError",
                "type": "object",
                "properties": {"detail": {"type": "string", "title": "Detail"}},
                "required": ["detail"],
            }
            app.openapi_schema = spec
        return app.openapi_schema

    return schema


def _add_error_handlers(app: FastAPI) -> None:
    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(request, 404, str(exc))

    async def bad_request(request: Request, exc: Exception) -> Response:
        return _error(request, 400, str(exc))

    async def conflict(request: Request, exc: Exception) -> Response:
        return _error(request, 409, str(exc))

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return _error(request, 422, problems or "invalid request")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return _error(request, exc.status_code, str(exc.detail), headers)

    for missing in (
        RunNotFoundError,
        ArtifactNotFoundError,
        DatasetNotFoundError,
        ModelNotFoundError,
        ScheduleNotFoundError,
        InferenceNotFoundError,
        TaskNotFoundError,
    ):
        app.add_exception_handler(missing, not_found)
    for clash in (ArtifactCorruptedError, DatasetConflictError, AliasMovedError, TaskStateError):
        app.add_exception_handler(clash, conflict)
    app.add_exception_handler(LooplineError, bad_request)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
