"""The examples run as documented (the demo's fast variant included)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import loopline
from examples.digits.pipeline import Evaluation, TrainConfig, pipeline

ROOT = Path(__file__).resolve().parents[2]


def test_digits_trains_an_accurate_model_and_caches_on_the_second_run(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    first = runner.run(pipeline(TrainConfig(C=10.0)))
    assert isinstance(first, Evaluation) and first.accuracy > 0.95
    assert first.confusion.shape == (10, 10) and all(isinstance(i, loopline.Image) for i in first.hardest)
    runner.run(pipeline(TrainConfig(C=10.0)))
    assert {r.name for r in client.runs(state="cached")} == {"load_data", "split", "train"}
    assert client.metrics(client.runs(name="evaluate")[0].id)[0].name == "accuracy"


def test_the_demo_runs_end_to_end(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        env={**os.environ, "LOOPLINE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "accuracy 0.9" in done.stdout and "loopline server" in done.stdout
