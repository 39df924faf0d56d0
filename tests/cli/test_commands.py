"""The `loopline` command: run, runs ls/show, logs, cancel, clean, gc, version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import loopline
from loopline.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello" / "pipeline.py"


def loopline_cmd(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOOPLINE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "loopline.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def hello_run(home: Path) -> loopline.RunRecord:
    done = loopline_cmd(home, "run", str(HELLO), "--name", "Ada", "--tag", "cli-test")
    assert done.returncode == 0, done.stderr
    assert "'HELLO, ADA!'" in done.stdout
    return loopline.Client(home).runs(root_only=True)[0]


def test_run_passes_typed_parameters_and_tags_the_run(hello_run: loopline.RunRecord) -> None:
    assert hello_run.tags == ("cli-test",) and hello_run.state is loopline.RunState.SUCCEEDED


def test_run_options_go_before_or_after_the_target(home: Path) -> None:
    done = loopline_cmd(home, "run", "--no-cache", str(HELLO), "--run-name", "greeting")
    assert done.returncode == 0, done.stderr
    assert loopline.Client(home).runs(root_only=True)[0].name == "greeting"


def test_a_failing_pipeline_prints_the_user_traceback_and_exits_1(home: Path, tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text("import loopline\n\n@loopline.func\ndef pipeline(x: int) -> int:\n    return 1 // x\n")
    done = loopline_cmd(home, "run", str(flow), "--x", "0")
    assert done.returncode == 1
    assert "ZeroDivisionError" in done.stderr and "return 1 // x" in done.stderr
    assert "Traceback" in done.stderr and "loopline/engine" not in done.stderr


def test_a_file_without_pipeline_runs_as_a_script(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text("if __name__ == '__main__':\n    print('ran as a script')\n")
    assert loopline_cmd(home, "run", str(script)).stdout.strip() == "ran as a script"


def test_usage_errors_are_one_line_and_exit_non_zero(home: Path) -> None:
    done = loopline_cmd(home, "run", str(HELLO), "--nmae", "x")
    assert done.returncode != 0
    assert done.stderr.strip() == "Error: pipeline() has no parameter --nmae; its parameters: --name"


def test_runs_ls_lists_pipelines(hello_run: loopline.RunRecord) -> None:
    code, out = invoke("runs", "ls")
    assert code == 0 and hello_run.id[:12] in out and "succeeded" in out


def test_runs_ls_filters(hello_run: loopline.RunRecord) -> None:
    assert "no runs match" in invoke("runs", "ls", "--state", "failed")[1]
    assert hello_run.id[:12] in invoke("runs", "ls", "--tag", "cli-test")[1]
    assert "greet" in invoke("runs", "ls", "--all")[1]


def test_runs_show_draws_the_tree_by_id_prefix(hello_run: loopline.RunRecord) -> None:
    code, out = invoke("runs", "show", hello_run.id[:8])
    assert code == 0 and "greet" in out and "shout" in out and "succeeded" in out


def test_logs_prints_what_a_step_printed(hello_run: loopline.RunRecord, home: Path) -> None:
    greet = loopline.Client(home).runs(name="greet")[0]
    assert invoke("logs", greet.id) == (0, "greeting Ada\n")


def test_unknown_ids_are_explained() -> None:
    code, out = invoke("runs", "show", "deadbeefdead")
    assert code == 1 and "no run with id 'deadbeefdead'" in out


def test_cancel_of_a_finished_pipeline_says_so(hello_run: loopline.RunRecord) -> None:
    code, out = invoke("cancel", hello_run.id)
    assert code == 1 and "already ended: it is succeeded" in out


def test_clean_with_nothing_to_do(home: Path, hello_run: loopline.RunRecord) -> None:
    assert invoke("clean") == (0, "no orphaned runs\n")


def test_gc_deletes_old_pipelines_and_unreferenced_artifacts(
    hello_run: loopline.RunRecord, home: Path
) -> None:
    client = loopline.Client(home)
    assert "would delete 1 pipeline(s) (3 runs)" in invoke("gc", "--older-than", "0", "--dry-run")[1]
    assert client.runs(limit=10)
    code, out = invoke("gc", "--older-than", "0")
    assert code == 0 and "deleted 1 pipeline(s) (3 runs)" in out
    assert client.runs(limit=10) == [] and list(client.artifacts.ids()) == []


def test_gc_keeps_recent_pipelines(hello_run: loopline.RunRecord, home: Path) -> None:
    assert "deleted 0 pipeline(s)" in invoke("gc", "--older-than", "30")[1]
    assert loopline.Client(home).runs()


def test_version() -> None:
    assert invoke("version")[1].startswith(f"loopline {loopline.__version__}")
