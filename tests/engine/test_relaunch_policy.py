"""A server reruns only what its operator allowed: a launch record is data in a database, and
the interpreter or file it names must not run because someone could write that database."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from loopline.core.records import LaunchSpec
from loopline.engine.relaunch import RelaunchPolicy
from loopline.errors import UsageError
from loopline.server.config import ServerConfig
from loopline.settings import Settings


def launch(tmp_path: Path, python: str = sys.executable, where: str = "project") -> LaunchSpec:
    folder = tmp_path / where
    return LaunchSpec("flow:pipeline", file=str(folder / "flow.py"), python=python, cwd=str(folder))


def test_an_allowed_interpreter_and_folder_rerun(tmp_path: Path) -> None:
    policy = RelaunchPolicy(frozenset({sys.executable}), (tmp_path / "project",))
    assert policy.check(launch(tmp_path)) == (sys.executable, str(tmp_path / "project"))


def test_an_interpreter_the_server_was_not_told_of_is_refused(tmp_path: Path) -> None:
    policy = RelaunchPolicy(frozenset({sys.executable}), None)
    with pytest.raises(UsageError, match="--rerun-python /bin/sh"):
        policy.check(launch(tmp_path, python="/bin/sh"))


def test_a_file_outside_the_project_folders_is_refused(tmp_path: Path) -> None:
    policy = RelaunchPolicy(frozenset({sys.executable}), (tmp_path / "project",))
    with pytest.raises(UsageError, match="--project-root"):
        policy.check(launch(tmp_path, where="elsewhere"))
    sneaky = LaunchSpec(
        "flow:pipeline", file=str(tmp_path / "project/../elsewhere/flow.py"), cwd=str(tmp_path / "project")
    )
    with pytest.raises(UsageError, match="outside"):
        policy.check(sneaky)


def test_a_single_users_embedded_store_reruns_from_any_folder_but_a_team_store_needs_roots(
    tmp_path: Path,
) -> None:
    embedded = Settings.for_home(tmp_path)
    assert ServerConfig(settings=embedded).relaunch_policy().roots is None
    assert ServerConfig(settings=embedded, auth=True).relaunch_policy().roots == ()
    team = Settings.for_home(tmp_path, {"LOOPLINE_DATABASE_URL": "postgresql://db/loopline"})
    assert ServerConfig(settings=team).relaunch_policy().roots == ()
    rooted = ServerConfig(settings=team, project_roots=(str(tmp_path),)).relaunch_policy()
    assert rooted.roots == (tmp_path,) and sys.executable in rooted.pythons
