"""`loopline serve`: clear errors for what cannot be served; a real server process that logs every
prediction and writes what it logged when it is stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from loopline import inferences
from loopline.cl.store.records import ModelVersion
from loopline.cli.main import cli
from loopline.serving.background import free_port
from tests.serving.conftest import first_production, image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def production(home: Path) -> ModelVersion:
    return first_production()


def serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["serve", *args])
    return result.exit_code, result.output


def test_an_unknown_model_is_named(home: Path) -> None:
    code, output = serve("digits@production")
    assert code == 1 and "digits" in output and "Traceback" not in output


def test_an_alias_that_points_nowhere_is_named(production: ModelVersion) -> None:
    code, output = serve("digits@staging")
    assert code == 1 and "digits@staging points at no version" in output and "promote one first" in output


def test_a_predictor_that_is_not_there_is_named(production: ModelVersion) -> None:
    code, output = serve("digits@production", "--predictor", "nowhere.py:predict")
    assert code == 1 and "no such file 'nowhere.py'" in output


def test_require_key_without_a_team_server_is_refused(production: ModelVersion) -> None:
    code, output = serve("digits@production", "--require-key")
    assert code == 1 and "set LOOPLINE_SERVER" in output


def test_the_command_serves_until_stopped_and_writes_what_it_logged(
    production: ModelVersion, home: Path
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "loopline.cli.main", "serve", "digits@production", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOOPLINE_HOME": str(home)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, (
                process.stdout and process.stdout.read()
            )
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        answer = httpx.post(f"{url}/predict", json={"input": image(2), "request_id": "cli-2"}).json()
        assert answer["model"] == "digits@1"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode in (0, -signal.SIGTERM), output  # uvicorn ends by the signal it handled
    assert "serving digits@1 as digits@production on http://127.0.0.1:" in output
    assert inferences.get("cli-2").model_version == 1
