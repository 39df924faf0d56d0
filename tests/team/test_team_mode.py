"""Team mode end to end: runners, workers and the CL layer read and write through one server,
with nothing but its URL and a key (`LOOPLINE_SERVER`, `LOOPLINE_API_KEY`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import loopline
from loopline import Dataset, models
from loopline.cl.store.workspace import Workspace
from loopline.cli.main import cli
from loopline.errors import PermissionDeniedError, ServerUnavailableError
from loopline.server.background import free_port
from loopline.settings import Settings
from loopline.team.records import AuditQuery, Role
from tests.team import pipelines
from tests.team_server import TeamServer


def client_settings(server: TeamServer, home: Path, role: Role = Role.EDITOR, name: str = "ci") -> Settings:
    return Settings.for_home(home, server.client_env(server.key(name, role)))


def test_a_pipeline_tracks_through_the_server_with_nothing_stored_here(
    server: TeamServer, tmp_path: Path
) -> None:
    home = tmp_path / "client"
    future = pipelines.fan(4)
    assert loopline.LocalRunner(settings=client_settings(server, home)).run(future) == 2 * 6 + 5
    on_server = server.state.metadata
    runs = on_server.pipeline_outline(future.id)
    assert len(runs) == 1 + 4 + 3 + 1 and all(r.state.is_success for r in runs)
    assert on_server.get_run(future.id).user == "ci"  # who the key is, not what the client said
    logs = on_server.read_logs(next(r.id for r in runs if r.name == "double"))
    assert "doubling" in "".join(c.text for c in logs)
    assert not home.exists() or not any(home.iterdir())
    (started,) = server.state.team.events(AuditQuery(action="run.started", target=future.id))
    assert started.actor == "ci" and started.role == "editor"


def test_outputs_and_the_cl_layer_read_and_write_through_the_server(
    server: TeamServer, tmp_path: Path
) -> None:
    editor = Workspace.open(client_settings(server, tmp_path / "editor"))
    train = Dataset("team-train", np.arange(12).reshape(6, 2), np.array([0, 1] * 3)).save(workspace=editor)
    assert len(Dataset.load("team-train@1", workspace=editor)) == 6 == len(train)
    version = models.register("team-model", {"weights": [1, 2]}, dataset=train, workspace=editor)
    assert models.load("team-model@1", workspace=editor) == {"weights": [1, 2]}
    models.promote(version, "candidate", workspace=editor)
    with pytest.raises(PermissionDeniedError, match="only an admin"):
        models.promote(version, "production", workspace=editor)
    admin = Workspace.open(client_settings(server, tmp_path / "admin", Role.ADMIN, name="lead"))
    move = models.promote(version, "production", workspace=admin)
    assert (move.moved_by, models.aliases("team-model", workspace=editor)) == (
        "lead",
        {"candidate": 1, "production": 1},
    )
    (moved,) = server.state.team.events(AuditQuery(action="alias.moved", target="team-model@production"))
    assert moved.actor == "lead"


def test_a_viewer_can_read_but_not_run(server: TeamServer, tmp_path: Path) -> None:
    viewer = client_settings(server, tmp_path / "viewer", Role.VIEWER, name="visitor")
    with pytest.raises(PermissionDeniedError, match="visitor is a viewer; this needs the editor role"):
        loopline.LocalRunner(settings=viewer).run(pipelines.double(1))


def test_a_runner_that_cannot_reach_the_server_fails_at_once_naming_it(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings.for_home(tmp_path, {"LOOPLINE_SERVER": url, "LOOPLINE_API_KEY": "ll_x"})
    with pytest.raises(ServerUnavailableError, match=f"cannot reach the Loopline server at {url}"):
        loopline.LocalRunner(settings=settings).run(pipelines.double(1))


def test_gc_through_the_server_is_an_admins_and_says_so(server: TeamServer, tmp_path: Path) -> None:
    settings = client_settings(server, tmp_path / "runner")
    loopline.LocalRunner(settings=settings).run(pipelines.double(21))
    editor = {**server.client_env(server.key("ci", Role.EDITOR)), "LOOPLINE_HOME": str(tmp_path / "e")}
    refused = CliRunner().invoke(cli, ["gc", "--older-than", "0"], env=editor)
    assert refused.exit_code == 1 and "this needs the admin role" in refused.output
    lead = {**server.client_env(server.key("lead", Role.ADMIN)), "LOOPLINE_HOME": str(tmp_path / "a")}
    done = CliRunner().invoke(cli, ["gc", "--older-than", "0", "--delete", "--yes"], env=lead)
    assert done.exit_code == 0 and "deleted" in done.output
    assert server.state.team.events(AuditQuery(action="runs.deleted"))[0].actor == "lead"


def test_a_store_method_called_without_its_arguments_is_refused_with_422(server: TeamServer) -> None:
    connection = server.connection(Role.ADMIN)
    for method in ("delete_runs", "write"):
        response = connection.request(
            "POST", f"/api/v1/rpc/metadata/{method}", json={"arguments": {}}, ok=(422,)
        )
        assert response.status_code == 422 and "needs the argument(s)" in response.json()["detail"]
