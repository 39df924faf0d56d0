"""`loopline datasets`, `loopline models`, `loopline schedule`, and `gc` keeping what they refer to."""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loopline import Dataset, Scenario, models, regression_test
from loopline.cl.store.workspace import Workspace
from loopline.cli.main import cli


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


class Constant:
    def __init__(self, value: int) -> None:
        self.value = value

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.full(len(features), self.value)


@pytest.fixture
def saved(home: Path) -> Dataset:
    """digits@1 (4 examples) and digits@2 (one removed, one relabelled, two added)."""
    first = Dataset(
        "digits", np.eye(4), [0, 1, 1, 1], ids=["a", "b", "c", "d"], tags={"hard": ["a"]}, display="image 2x2"
    )
    first = first.save("import")
    relabelled = Dataset(
        "digits", first.features, [1, 1, 1, 1], ids=first.ids, tags={"hard": ["a"]}, display="image 2x2"
    )
    relabelled.remove(["d"]).append(
        np.ones((2, 4)), [0, 1], ids=["e", "f"], lineage={"source": "labeling"}
    ).save("labels")
    return first


@pytest.fixture
def production(home: Path) -> None:
    models.register("m", Constant(0), metrics={"accuracy": 0.5})
    models.promote("m@1", "production", reason="first")
    models.register("m", Constant(1), metrics={"accuracy": 0.9})


def test_datasets_ls_versions_show_and_diff(saved: Dataset) -> None:
    code, output = invoke("datasets", "ls")
    assert code == 0 and "digits" in output and "@2" in output
    code, output = invoke("datasets", "versions", "digits")
    assert "+4" in output and "+2" in output and "-1" in output and "~1" in output
    code, output = invoke("datasets", "show", "digits@2")
    assert code == 0 and "5 examples" in output and "hard: 1" in output
    assert "import: 3" in output and "labeling: 2" in output and "image 2x2" in output
    code, output = invoke("datasets", "diff", "digits@1", "digits@2")
    assert "+2 added, -1 removed, ~1 changed" in output and "e, f" in output


def test_datasets_errors_say_what_to_do(home: Path) -> None:
    code, output = invoke("datasets", "show", "nope")
    assert code == 1 and "no dataset named 'nope'" in output and "loopline datasets ls" in output


def test_models_ls_versions_show_and_history(production: None) -> None:
    assert "production@1" in invoke("models", "ls")[1]
    code, output = invoke("models", "versions", "m")
    assert code == 0 and "production" in output and "accuracy=0.9" in output
    assert "m@1 (production)" in invoke("models", "show", "m@production")[1]
    code, output = invoke("models", "history", "m")
    assert "first holder" in output and "first" in output


def test_models_promote_is_gated_and_forcing_is_recorded(production: None, home: Path) -> None:
    code, output = invoke("models", "promote", "m@2", "production")
    assert code == 1 and "a passing regression report against it is required" in output
    golden = Dataset("golden", np.zeros((10, 1)), [1] * 10, ids=[f"g{i}" for i in range(10)])
    report_id = regression_test("m@2", golden, [Scenario("all")], "m@production", classes=[0, 1]).save()
    code, output = invoke("models", "promote", "m@2", "production", "--report", report_id[:10])
    assert code == 0 and "m@production: @1 -> @2" in output
    code, output = invoke("models", "promote", "m@1", "production", "--force", "--reason", "roll back")
    assert code == 0 and "(FORCED)" in output
    assert "FORCED" in invoke("models", "history", "m", "--alias", "production")[1]


def test_models_load_writes_the_model(production: None, tmp_path: Path) -> None:
    out = tmp_path / "model.pkl"
    code, output = invoke("models", "load", "m@production", "--output", str(out))
    assert code == 0 and "wrote m@1" in output
    assert pickle.loads(out.read_bytes()).value == 0


def test_gc_never_collects_datasets_models_or_reports(saved: Dataset, production: None) -> None:
    golden = Dataset.load("digits@2")
    report_id = regression_test("m@2", golden, [Scenario("all", at_least={"accuracy": 0.0})]).save()
    code, output = invoke("gc", "--older-than", "0", "--delete", "--yes")
    assert code == 0, output
    ws = Workspace.open()
    assert len(Dataset.load("digits@1")) == 4 and models.load("m@production").value == 0
    assert ws.get(report_id).name == "regression test"


def test_schedule_add_ls_pause_resume_history_remove(home: Path, tmp_path: Path) -> None:
    target = tmp_path / f"nightly_{uuid.uuid4().hex[:8]}.py"
    target.write_text("import loopline\n\n@loopline.func\ndef pipeline(n: int = 1) -> int:\n    return n\n")
    code, output = invoke("schedule", "add", "nightly", "--cron", "0 2 * * *", str(target), "--n", "3")
    assert code == 0, output
    assert "added schedule nightly: cron 0 2 * * *" in output and "02:00 UTC" in output
    code, output = invoke("schedule", "ls")
    assert "nightly" in output and "--n 3" in output
    assert invoke("schedule", "pause", "nightly")[0] == 0 and "paused" in invoke("schedule", "ls")[1]
    assert "next:" in invoke("schedule", "resume", "nightly")[1]
    assert invoke("schedule", "history", "nightly")[0] == 0
    assert invoke("schedule", "tick")[1].strip() == "nothing due"
    assert invoke("schedule", "remove", "nightly")[0] == 0
    assert "no schedules" in invoke("schedule", "ls")[1]


def test_schedule_edit_changes_only_what_is_given_and_keeps_the_history(home: Path, tmp_path: Path) -> None:
    target = tmp_path / f"nightly_{uuid.uuid4().hex[:8]}.py"
    target.write_text("import loopline\n\n@loopline.func\ndef pipeline(n: int = 1) -> int:\n    return n\n")
    assert invoke("schedule", "add", "nightly", "--cron", "0 2 * * *", str(target), "--n", "3")[0] == 0
    code, output = invoke("schedule", "edit", "nightly", "--cron", "30 3 * * *")
    assert code == 0, output
    assert "edited schedule nightly: cron 30 3 * * *" in output and "03:30 UTC" in output
    code, output = invoke("schedule", "edit", "nightly", "--timezone", "Europe/Paris")
    assert code == 0 and "cron 30 3 * * * (Europe/Paris)" in output, output
    assert invoke("schedule", "edit", "nightly", str(target), "--n", "5")[0] == 0
    schedule = Workspace.open().store.get_schedule("nightly")
    assert (schedule.trigger.expression, schedule.params) == ("30 3 * * *", ("--n", "5"))  # type: ignore[union-attr]
    assert "nothing to change" in invoke("schedule", "edit", "nightly")[1]
    assert "has no parameter --m" in invoke("schedule", "edit", "nightly", str(target), "--m", "1")[1]
    assert "not both" in invoke("schedule", "edit", "nightly", "--cron", "@daily", "--min-new", "3")[1]
    assert "unknown option --cronn" in invoke("schedule", "edit", "nightly", "--cronn", "@daily")[1]
    assert "no schedule named 'weekly'" in invoke("schedule", "edit", "weekly", "--cron", "@daily")[1]


def test_schedule_add_explains_mistakes(home: Path, tmp_path: Path) -> None:
    target = tmp_path / f"nightly_{uuid.uuid4().hex[:8]}.py"
    target.write_text("import loopline\n\n@loopline.func\ndef pipeline(n: int = 1) -> int:\n    return n\n")
    assert "hour field '25'" in invoke("schedule", "add", "x", "--cron", "0 25 * * *", str(target))[1]
    assert (
        "has no parameter --m"
        in invoke("schedule", "add", "x", "--cron", "@daily", str(target), "--m", "1")[1]
    )
    assert "either --cron" in invoke("schedule", "add", "x", str(target))[1]
    assert (
        "unknown time zone"
        in invoke("schedule", "add", "x", "--cron", "@daily", "--timezone", "Nowhere", str(target))[1]
    )
    assert (
        "--timezone goes with --cron"
        in invoke(
            "schedule", "add", "x", "--dataset", "d", "--min-new", "1", "--timezone", "UTC", str(target)
        )[1]
    )
    assert "needs --min-new" in invoke("schedule", "add", "x", "--dataset", "d", str(target))[1]
    code, output = invoke("schedule", "add", "grow", "--dataset", "d", "--min-new", "100", str(target))
    assert code == 0 and "dataset d +100 examples" in output
    assert "no schedule named 'x'" in invoke("schedule", "pause", "x")[1]
