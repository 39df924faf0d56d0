"""Schemathesis over the API of a server with auth on, as an admin: no 5xx, and every answer
matches the schema, which says what needs a key, and what it allows is accepted (every check, as
in `test_schema.py`, whose server has auth off, plus schemathesis's own check that a request
without the key is refused). Fixed seed (derandomized), at most MAX_EXAMPLES an operation."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings

import loopline
from loopline.server import ServerConfig, create_app
from loopline.storage.artifacts import MemoryArtifactStore
from loopline.storage.memory import MemoryMetadataStore
from loopline.team import admin
from loopline.team.records import Role
from tests.server.fuzzing import MAX_EXAMPLES, excluded_checks, sendable
from tests.server.team import LOCAL, user_with_password
from tests.team import pipelines
from tests.team_server import TeamServer
from tools import showcase

ADMIN_KEY = f"ll_{'a1' * 8}_{'fuzzing-admin-secret-' * 3}"

schema = schemathesis.openapi.from_dict(
    create_app(MemoryMetadataStore(), MemoryArtifactStore(), ServerConfig(auth=True)).openapi()
)


@schema.auth()
class AdminKey:
    def get(self, case: Any, ctx: Any) -> str:
        return ADMIN_KEY

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def filled(team: TeamServer) -> TeamServer:
    """A server with runs, CL records, users and keys to answer with, and the fuzzer's admin."""
    loopline.LocalRunner(metadata=team.state.metadata, artifacts=team.state.artifacts, echo=False).run(
        pipelines.fan(3)
    )
    registry = showcase.regression_records(team.state.workspace)
    showcase.loop_records(team.state.workspace, registry, traffic=60)
    user_with_password(team.state, "pat", Role.LABELER)
    team.key("ci", Role.EDITOR)
    user_with_password(team.state, "fuzz-admin", Role.ADMIN)
    admin.import_key(team.state.team, "fuzz-admin", ADMIN_KEY, by=LOCAL)
    return team


@schema.exclude(path_regex=r"(/stream|/events)$").parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_authenticated_api_conforms_to_its_schema(case: Any, filled: TeamServer) -> None:
    assume(sendable(case))
    case.call_and_validate(base_url=filled.url, excluded_checks=excluded_checks(case))
