"""`create_app`: the FastAPI application for one pair of stores (no module-level app object)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp

from loopline._version import __version__
from loopline.cl.schedules.scheduler import Scheduler
from loopline.cl.store.errors import (
    AliasMovedError,
    DatasetConflictError,
    DatasetNotFoundError,
    InferenceNotFoundError,
    ModelNotFoundError,
    ScheduleNotFoundError,
    TaskNotFoundError,
    TaskStateError,
)
from loopline.cl.store.memory import MemoryCLStore
from loopline.cl.store.workspace import Workspace
from loopline.errors import (
    ArtifactCorruptedError,
    ArtifactNotFoundError,
    LooplineError,
    RunNotFoundError,
)
from loopline.server.api import actions as actions_api
from loopline.server.api import artifact_bytes as artifact_bytes_api
from loopline.server.api import artifacts as artifacts_api
from loopline.server.api import datasets as datasets_api
from loopline.server.api import events as events_api
from loopline.server.api import inferences as inferences_api
from loopline.server.api import labeling as labeling_api
from loopline.server.api import logs as logs_api
from loopline.server.api import loops as loops_api
from loopline.server.api import models as models_api
from loopline.server.api import pipelines as pipelines_api
from loopline.server.api import reports as reports_api
from loopline.server.api import rpc as rpc_api
from loopline.server.api import runs as runs_api
from loopline.server.api import schedules as schedules_api
from loopline.server.api import team as team_api
from loopline.server.auth.guard import AuthGuard
from loopline.server.auth.identity import Identities
from loopline.server.auth.policy import is_public
from loopline.server.config import ServerConfig
from loopline.server.headers import SecureResponses
from loopline.server.live import ChangeFeed
from loopline.server.pages import api_reference as api_reference_page
from loopline.server.pages import artifacts as artifacts_pages
from loopline.server.pages import compare as compare_pages
from loopline.server.pages import datasets as datasets_pages
from loopline.server.pages import inferences as inferences_pages
from loopline.server.pages import labeling as labeling_pages
from loopline.server.pages import login as login_pages
from loopline.server.pages import loops as loops_pages
from loopline.server.pages import models as models_pages
from loopline.server.pages import pipelines as pipelines_pages
from loopline.server.pages import reports as reports_pages
from loopline.server.pages import runs as runs_pages
from loopline.server.pages import schedules as schedules_pages
from loopline.server.pages.render import TEMPLATES
from loopline.server.rendering.figures import plotly_js, plotly_sheets
from loopline.server.state import ServerState
from loopline.storage.base import ArtifactStore, MetadataStore
from loopline.team.errors import KeyNotFoundError, UserExistsError, UserNotFoundError
from loopline.team.sql import SqlTeamStore
from loopline.team.store import MemoryTeamStore, TeamStore

STATIC = Path(__file__).parent / "static"
# The API's routers first, in the order the OpenAPI document lists them; then the pages'.
ROUTERS: tuple[APIRouter, ...] = (
    runs_api.router,
    logs_api.router,
    actions_api.router,
    artifact_bytes_api.router,  # before artifacts: its HEAD asks the byte store
    artifacts_api.router,
    pipelines_api.router,
    events_api.router,
    datasets_api.router,
    models_api.router,
    reports_api.router,
    schedules_api.router,
    inferences_api.router,
    labeling_api.router,
    loops_api.router,
    rpc_api.router,
    team_api.router,
    login_pages.router,
    runs_pages.router,
    compare_pages.router,
    pipelines_pages.router,
    artifacts_pages.router,
    api_reference_page.router,
    datasets_pages.router,
    models_pages.router,
    reports_pages.router,
    schedules_pages.router,
    inferences_pages.router,
    labeling_pages.router,
    loops_pages.router,
)


def create_app(
    metadata: MetadataStore, artifacts_store: ArtifactStore, config: ServerConfig | None = None
) -> FastAPI:
    """The API and dashboard over these stores. Live updates start with the app's lifespan, and so
    does the scheduler when the config names the store's settings and asks for it."""
    config = config or ServerConfig()
    workspace = _workspace(metadata, artifacts_store)
    team = _team(metadata)
    identities = Identities(
        team,
        session_hours=config.session_hours,
        trusted_user_header=config.trusted_user_header,
        trusted_proxies=frozenset(config.trusted_proxies),
    )
    feed = ChangeFeed(metadata, config.poll_s, workspace.revisions)
    state = ServerState(metadata, artifacts_store, config, feed, workspace, team, identities)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        poller = asyncio.create_task(feed.run())
        with _scheduler(config):
            try:
                yield
            finally:
                feed.stop()
                await poller

    app = _App(
        title="Loopline",
        version=__version__,
        description="Runs, artifacts, logs and metrics of Loopline pipelines; datasets, models, "
        "regression reports and schedules; inference logging, feedback and labeling.",
        lifespan=lifespan,
        docs_url=None,  # the default docs page loads Swagger UI from a CDN; /api works offline
        redoc_url=None,
    )
    app.state.loopline = state
    routes = [route for router in ROUTERS for route in router.routes]
    app.add_middleware(AuthGuard, config=config, identities=identities, routes=routes)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/vendor/plotly.min.js", _plotly_js, include_in_schema=False)
    app.add_api_route("/vendor/plotly-sheets.json", _plotly_sheet_list, include_in_schema=False)
    app.add_api_route("/vendor/plotly-sheets/{sheet}.css", _plotly_sheet, include_in_schema=False)
    _add_error_handlers(app)
    app.openapi = _openapi(app, config)  # type: ignore[method-assign]
    return app


class _App(FastAPI):
    """FastAPI with `SecureResponses` outside even its error middleware (which writes the 500s)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecureResponses(super().build_middleware_stack(), lambda: self.router.routes)


def _plotly_js() -> Response:
    path = plotly_js()
    if path is None:
        return PlainTextResponse(
            "plotly is not installed where the server runs: `pip install plotly` there to see plotly figures",
            status_code=404,
        )
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


def _plotly_sheet_list() -> JSONResponse:
    """The style sheets plotly.js looks for by id before it writes them into the page itself,
    which the policy refuses: the page links each before it loads plotly.js."""
    sheets = [{"id": sheet, "href": f"/vendor/plotly-sheets/{sheet}.css"} for sheet in plotly_sheets()]
    return JSONResponse({"sheets": sheets}, headers={"Cache-Control": "max-age=86400"})


def _plotly_sheet(sheet: str) -> Response:
    css = plotly_sheets().get(sheet)
    if css is None:
        return PlainTextResponse(
            f"plotly.js has no style sheet {sheet!r} here: /vendor/plotly-sheets.json lists those it has",
            status_code=404,
        )
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=86400"})


def _workspace(metadata: MetadataStore, artifacts_store: ArtifactStore) -> Workspace:
    """The continuous-learning records live in the metadata store's database; a store without one
    (the in-memory store of some tests) gets empty in-memory CL and loop stores."""
    if getattr(metadata, "engine", None) is not None:
        return Workspace.from_stores(metadata, artifacts_store)

    return Workspace(MemoryCLStore(), metadata, artifacts_store)


def _team(metadata: MetadataStore) -> TeamStore:
    """Users, keys and the audit log live in the metadata store's database too."""
    engine = getattr(metadata, "engine", None)
    return MemoryTeamStore() if engine is None else SqlTeamStore(engine, migrate=False)


@contextlib.contextmanager
def _scheduler(config: ServerConfig) -> Iterator[None]:
    """Run due schedules in a background thread while the app serves (`loopline server`)."""
    if config.settings is None or not config.run_schedules:
        yield
        return

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
    page = TEMPLATES.get_template("error.html").render(status=status, detail=detail, token="")
    return HTMLResponse(page, status_code=status, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's). A
    route written for exactly this path (`/api/v1/artifacts/discard-partial-writes`) speaks for
    it alone, before routes that take it as a parameter (`/api/v1/artifacts/{artifact_id}`)."""
    by_route = [
        (route, set(getattr(route, "methods", None) or ()))
        for route in _routes(request.app.routes)
        if route.matches(request.scope)[0] is not Match.NONE
    ]
    exact = [methods for route, methods in by_route if "{" not in getattr(route, "path", "{")]
    return sorted(set().union(*(exact or [methods for _, methods in by_route])))


def _routes(routes: list[BaseRoute]) -> list[BaseRoute]:
    """`routes` with the routers FastAPI includes opened up."""
    found: list[BaseRoute] = []
    for route in routes:
        router = getattr(route, "original_router", None)
        found += _routes(router.routes) if router is not None else [route]
    return found


def _openapi(app: FastAPI, config: ServerConfig) -> Callable[[], dict[str, Any]]:
    """The generated schema, with validation errors described as this API sends them, and, with
    auth on, the API key every operation but the public ones needs."""

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
            if config.auth_on:
                _require_keys(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    return schema


def _require_keys(spec: dict[str, Any]) -> None:
    spec["components"]["securitySchemes"] = {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`loopline keys create NAME`), sent as `Authorization: Bearer ll_...`",
        }
    }
    spec["security"] = [{"apiKey": []}]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    refusals = {
        "401": {
            "description": "No API key or session, or one that is not valid (any more)",
            "content": error,
        },
        "403": {"description": "The user's role may not do this", "content": error},
    }
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            if is_public(path):
                operation["security"] = []
            else:
                operation.setdefault("responses", {}).update(
                    {
                        status: answer
                        for status, answer in refusals.items()
                        if status not in operation["responses"]
                    }
                )


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
        UserNotFoundError,
        KeyNotFoundError,
    ):
        app.add_exception_handler(missing, not_found)
    for clash in (
        ArtifactCorruptedError,
        DatasetConflictError,
        AliasMovedError,
        TaskStateError,
        UserExistsError,
    ):
        app.add_exception_handler(clash, conflict)
    app.add_exception_handler(LooplineError, bad_request)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
