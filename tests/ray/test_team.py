"""RayRunner in team mode: the driver tracks through a server, and the Ray workers read and write
artifacts through it too, with the runner's key (no store credentials on the nodes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import loopline
from loopline.settings import Settings
from loopline.team.records import Role
from tests.ray.test_runner import fan_out
from tests.team_server import TeamServer, team_server

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    with team_server(tmp_path_factory.mktemp("team") / "server-home") as running:
        yield running


def test_ray_workers_use_the_servers_artifact_store(
    ray_instance: None, server: TeamServer, tmp_path: Path
) -> None:
    settings = Settings.for_home(tmp_path / "driver", server.client_env(server.key("ray-ci", Role.EDITOR)))
    future = fan_out(6)
    pids = loopline.RayRunner(settings=settings, echo=False).run(future)
    outline = server.state.metadata.pipeline_outline(future.id)
    runs = server.state.metadata.get_runs([r.id for r in outline])
    assert len(pids) == 6 and len(runs) == 1 + 6
    assert all(r.state.is_success for r in runs) and "ray" in {r.executor for r in runs}
    assert all(server.state.artifacts.exists(r.output_id) for r in runs if r.output_id)
