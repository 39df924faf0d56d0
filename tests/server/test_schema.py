"""Schemathesis fuzzes every non-streaming endpoint with every check on: no 5xx, answers match the
schema, and what the schema allows is accepted (but for the operations in `REFUSED_BY_STATE`).
The server's store is filled (runs, regression records, loop traffic).

The schema comes from the app itself (so tests are generated at collection time); the calls go
to the real server. The streaming endpoints (server-sent events) never end on their own, so
they are excluded here and tested in test_api.py.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, assume, settings

from loopline.server import create_app
from loopline.server.background import RunningServer
from loopline.storage.artifacts import MemoryArtifactStore
from loopline.storage.memory import MemoryMetadataStore
from tests.server.conftest import Loop
from tests.server.fuzzing import MAX_EXAMPLES, excluded_checks, sendable

schema = schemathesis.openapi.from_dict(create_app(MemoryMetadataStore(), MemoryArtifactStore()).openapi())


@schema.exclude(path_regex=r"(/stream|/events)$").parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case: Any, server: RunningServer, loop: Loop) -> None:
    assume(sendable(case))
    case.call_and_validate(
        base_url=server.url, headers={"X-Loopline-Token": server.token}, excluded_checks=excluded_checks(case)
    )
