"""A team server killed (kill -9) in the middle of a pipeline and started again: the runner
waits, retries, and the pipeline ends complete and consistent, with nothing written twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import loopline
from loopline.cli.main import cli
from loopline.server.background import free_port
from loopline.settings import Settings
from loopline.storage.embedded import open_stores
from tests.team import pipelines


class ServerProcess:
    """`loopline server --auth` in a process of its own, which a test may kill and start again."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "LOOPLINE_HOME": str(self.home)}
        env.pop("LOOPLINE_SERVER", None)
        command = [sys.executable, "-m", "loopline.cli.main", "server", "--port", str(self.port), "--auth"]
        self.process = subprocess.Popen([*command, "--no-schedules"], env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "server-home"
    env = {"LOOPLINE_HOME": str(home)}
    assert CliRunner().invoke(cli, ["users", "add", "ci", "--role", "editor"], env=env).exit_code == 0
    process = ServerProcess(home, free_port())
    process.start()
    yield process
    if process.process is not None and process.process.poll() is None:
        process.process.terminate()
        process.process.wait(timeout=30)


def test_a_pipeline_survives_a_server_killed_and_restarted(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    env = {"LOOPLINE_HOME": str(server_process.home)}
    key = CliRunner().invoke(cli, ["keys", "create", "ci"], env=env).stdout.strip().splitlines()[-1]
    client = Settings.for_home(
        tmp_path / "client", {"LOOPLINE_SERVER": server_process.url, "LOOPLINE_API_KEY": key}
    )
    future = pipelines.slow_chain(12)
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(loopline.LocalRunner(settings=client, max_parallelism=1).run(future))
        except BaseException as error:
            outcome.append(error)

    runner = threading.Thread(target=run)
    runner.start()
    time.sleep(0.8)  # a few steps in
    server_process.kill()
    time.sleep(1.0)
    server_process.start()
    runner.join(timeout=240)
    assert outcome == [sum(range(12))]
    metadata, _ = open_stores(Settings.for_home(server_process.home))
    runs = metadata.pipeline_outline(future.id)
    assert len(runs) == 1 + 12 + 1 and all(r.state.is_success for r in runs)
    for run in runs:
        if run.name == "slow_step":
            printed = "".join(c.text for c in metadata.read_logs(run.id))
            assert printed.count("step ") == 1, printed  # no batch written twice
