"""The examples run as documented (the demo's fast variant included)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import loopline
from examples.digits.pipeline import Evaluation, TrainConfig, pipeline
from loopline.cl.store.workspace import Workspace
from loopline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_digits_trains_an_accurate_model_and_caches_on_the_second_run(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    first = runner.run(pipeline(TrainConfig(C=10.0)))
    assert isinstance(first, Evaluation) and first.accuracy > 0.95
    assert first.confusion.shape == (10, 10) and all(isinstance(i, loopline.Image) for i in first.hardest)
    runner.run(pipeline(TrainConfig(C=10.0)))
    assert {r.name for r in client.runs(state="cached")} == {"load_data", "split", "train"}
    assert client.metrics(client.runs(name="evaluate")[0].id)[0].name == "accuracy"


def demo(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOOPLINE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_demo_runs_end_to_end(home: Path) -> None:
    """`make demo`: three rounds of the loop; the production slice gains at least 10 points."""
    done = demo(home)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line[:5].strip() in {"0", "1", "2", "3"}]
    assert [row[0] for row in rows] == ["0", "1", "2", "3"]
    assert all("11/11" in row and "promoted" in row for row in rows[1:])
    gain = re.search(r"Production-slice accuracy .* \(([+-][\d.]+) points\)", done.stdout)
    assert gain is not None and float(gain.group(1)) >= 10
    assert "loopline server" in done.stdout and "http://127.0.0.1:8707" in done.stdout
    workspace = Workspace.open(Settings.for_home(home))
    training = workspace.store.get_dataset_version("digits-train", 1).source
    assert training is not None and training.kind == "table" and training.table == "digits_training"
    assert training.url == f"duckdb:///{home / 'warehouse.duckdb'}"


def test_the_demo_refuses_a_store_that_holds_an_earlier_demo(home: Path) -> None:
    assert demo(home).returncode == 0
    again = demo(home)
    assert again.returncode == 1 and "already holds a run of this demo" in again.stderr
