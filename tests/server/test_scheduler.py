"""The server runs due schedules while it serves (as `loopline server` does), and stops them with it."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import loopline
from loopline.cl.schedules import scheduler as schedules
from loopline.cl.store.workspace import Workspace
from loopline.cli.main import cli
from loopline.core.records import RunFilter, utcnow
from loopline.server.background import serve
from loopline.settings import Settings
from loopline.storage.embedded import open_stores
from tests.server.conftest import eventually

PIPELINES = Path(__file__).with_name("pipelines.py")


def scheduler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "loopline-scheduler"]


def test_a_due_schedule_runs_in_the_server_and_stops_with_it(tmp_path: Path) -> None:
    settings = Settings.for_home(tmp_path / "home")
    metadata, artifacts = open_stores(settings)
    ws = Workspace.from_stores(metadata, artifacts)
    data = loopline.Dataset("arrivals", np.zeros((2, 1)), [0, 1], ids=["a", "b"]).save(workspace=ws)
    trigger = schedules.dataset_trigger(ws.store, "arrivals", 1)
    schedules.add_schedule(
        ws.store, "on-arrivals", f"{PIPELINES}:fan", ("--n", "2"), trigger, now=utcnow(), created_by="test"
    )
    data.append(np.ones((1, 1)), [1], ids=["c"]).save(workspace=ws)  # due now
    with serve(metadata, artifacts, settings, run_schedules=True):
        assert len(scheduler_threads()) == 1
        slot = eventually(
            lambda: [s for s in ws.store.slots("on-arrivals") if s.state in ("succeeded", "failed", "lost")],
            timeout=120,
            what="the scheduled pipeline to finish",
        )[0]
    assert (slot.key, slot.state) == ("arrivals@2", "succeeded"), slot.detail
    assert scheduler_threads() == []
    run = metadata.get_run(slot.run_id or "")
    assert "schedule:on-arrivals" in run.tags
    assert metadata.count_runs(RunFilter(root_id=run.id)) == 4  # fan(2): the pipeline, 2 incs, total


def test_test_servers_run_no_schedules_unless_asked(tmp_path: Path) -> None:
    settings = Settings.for_home(tmp_path / "home")
    with serve(*open_stores(settings), settings):
        assert scheduler_threads() == []


def test_the_cli_server_takes_auth_options_and_can_leave_schedules_alone(tmp_path: Path) -> None:
    help_text = CliRunner().invoke(cli, ["server", "--help"]).output
    assert "--auth" in help_text and "--no-schedules" in help_text and "--api-key" not in help_text
    result = CliRunner().invoke(
        cli, ["server", "--api-key", "old-key-old-key-old"], env={"LOOPLINE_HOME": str(tmp_path / "home")}
    )
    assert result.exit_code != 0 and "loopline keys import" in result.output
