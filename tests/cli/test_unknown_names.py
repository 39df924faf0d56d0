"""`loopline label` and `loopline models` on a queue or a model that does not exist: refused, saying
how to list what does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loopline import Dataset
from loopline.cli.main import cli


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "command",
    [["status"], ["export", "-o", "{out}"], ["commit", "--dataset", "train"]],
    ids=["status", "export", "commit"],
)
def test_a_queue_that_never_had_a_task_is_refused(home: Path, tmp_path: Path, command: list[str]) -> None:
    Dataset("train", np.zeros((1, 4)), [0], ids=["t0"]).save()
    out = tmp_path / "tasks.json"
    code, output = invoke("label", command[0], "nope", *(arg.format(out=out) for arg in command[1:]))
    assert code == 1 and "no labeling queue named 'nope'; list them with: loopline label ls" in output
    assert not out.exists() and len(Dataset.versions("train")) == 1


@pytest.mark.parametrize("command", ["versions", "history"])
def test_a_model_that_was_never_registered_is_refused(home: Path, command: str) -> None:
    code, output = invoke("models", command, "nope")
    assert code == 1 and "no model named 'nope' is registered; list them with: loopline models ls" in output
