"""Team mode: `loopline serve` reads the registry and logs every prediction through a real team
server (auth on) with an editor's key, and `--require-key` checks callers' keys with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loopline import Dataset
from loopline.cl.store.workspace import Workspace
from loopline.errors import UsageError
from loopline.serving.background import RunningService, serve_in_thread
from loopline.serving.service import ServeConfig, Service
from loopline.settings import Settings
from loopline.team.records import Role
from tests.serving.conftest import digits, image, register, trained
from tests.team_server import TeamServer, team_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    with team_server(tmp_path_factory.mktemp("team") / "server-home") as running:
        admin = Workspace.open(
            client(running, running.key("serving-admin", Role.ADMIN), tmp_path_factory.mktemp("admin"))
        )
        features, labels = digits()
        Dataset("digits-train", features[:600], labels[:600], display="image 8x8").save("x", workspace=admin)
        register(trained(1.0), workspace=admin, promote=True)
        yield running


def client(server: TeamServer, key: str, home: Path) -> Settings:
    """A serving machine's settings: the team server and a key, no database."""
    return Settings.for_home(home, server.client_env(key))


@pytest.fixture(scope="module")
def serving(server: TeamServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    settings = client(server, server.key("serving", Role.EDITOR), tmp_path_factory.mktemp("serving"))
    with serve_in_thread(ServeConfig("digits@production", settings=settings, require_key=True)) as running:
        yield running


def test_predictions_are_logged_on_the_team_server(server: TeamServer, tmp_path: Path) -> None:
    settings = client(server, server.key("serving", Role.EDITOR), tmp_path)
    with serve_in_thread(ServeConfig("digits@production", settings=settings)) as running:
        answer = httpx.post(f"{running.url}/predict", json={"input": image(6), "request_id": "team-6"}).json()
        httpx.post(
            f"{running.url}/feedback", json={"request_id": "team-6", "kind": "flag"}
        ).raise_for_status()
    record = server.state.workspace.store.get_inference("team-6")
    assert (answer["model"], record.model_version, record.alias, record.display) == (
        "digits@1",
        1,
        "production",
        "image 8x8",
    )
    assert [f.kind for f in server.state.workspace.store.list_feedback(request_ids=["team-6"])] == ["flag"]


def test_with_require_key_a_request_without_a_valid_key_is_refused(serving: RunningService) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-key-of-the-team"}):
        response = httpx.post(f"{serving.url}/predict", json={"input": image(0)}, headers=headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert "API key" in response.json()["detail"]


def test_with_require_key_any_user_of_the_team_may_predict_and_give_feedback(
    serving: RunningService, server: TeamServer
) -> None:
    headers = {"Authorization": f"Bearer {server.key('ana', Role.VIEWER)}"}
    answer = httpx.post(f"{serving.url}/predict", json={"input": image(1)}, headers=headers)
    assert answer.status_code == 200 and answer.json()["prediction"] == digits()[1][1]
    feedback = httpx.post(
        f"{serving.url}/feedback",
        json={"request_id": answer.json()["request_id"], "kind": "confirmation"},
        headers=headers,
    )
    assert feedback.json()["source"] == "ana"  # who gave it: the key's user


def test_a_key_is_checked_with_the_team_server_once_per_interval(
    serving: RunningService, server: TeamServer
) -> None:
    keys = serving.service.keys
    assert keys is not None
    key = server.key("bo", Role.LABELER)
    assert keys.check(key).name == "bo" and keys.cached(key) is not None
    assert keys.cached("another-key") is None


def test_the_serving_key_must_be_allowed_to_log(server: TeamServer, tmp_path: Path) -> None:
    settings = client(server, server.key("watcher", Role.VIEWER), tmp_path)
    with pytest.raises(UsageError, match="a key of watcher, a viewer: serving logs every prediction"):
        Service.open(ServeConfig("digits@production", settings=settings))


def test_require_key_needs_a_team_server(home: Path) -> None:
    with pytest.raises(UsageError, match="--require-key checks callers' keys with the team server"):
        Service.open(ServeConfig("digits@production", require_key=True))
