"""The app's route table as tests walk it: every route it serves, with a value for each path
parameter (a new route's parameter without one fails collection, asking for one)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastapi import FastAPI
from starlette.routing import BaseRoute

# A value for each path parameter the app's routes take (what it names need not exist: the
# guard decides before the route looks anything up, and a 404 is a response like any other).
PLAUSIBLE = {
    "run_id": "0" * 32,
    "artifact_id": "0" * 64,
    "report_id": "0" * 32,
    "key_id": "0" * 16,
    "task_id": "1",
    "name": "nothing-here",
    "queue_name": "queue",
    "request_id": "request-0",
    "old": "1",
    "new": "2",
    "version": "1",
    "sheet": "plotly.js-style-global",
}
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def concrete(template: str, values: Mapping[str, str]) -> str:
    def value(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in values:
            raise LookupError(f"{template}: give path parameter {name!r} a value in PLAUSIBLE ({__file__})")
        return values[name]

    return PARAMETER.sub(value, template)


def served(app: FastAPI) -> list[BaseRoute]:
    """What `app` serves, its included routers opened up."""
    found: list[BaseRoute] = []
    for route in app.routes:
        router = getattr(route, "original_router", None)
        found += router.routes if router is not None else [route]
    return found
