"""The `loopline` command: run, runs ls/show, logs, cancel, clean, gc, version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import loopline
from loopline.cli.main import cli
from loopline.core.records import RunRecord, RunState, WriteBatch, utcnow
from loopline.storage.base import ArtifactStore, MetadataStore

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello" / "pipeline.py"


def loopline_cmd(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`loopline ARGS` in a process group of its own, so a timeout stops its step workers too."""
    env = {**os.environ, "LOOPLINE_HOME": str(home)}
    command = [sys.executable, "-m", "loopline.cli.main", *args]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


SELF_RUNNING = """\
import dataclasses
import loopline

@dataclasses.dataclass
class Out:
    n: int

@loopline.func(standalone=True)
def make(n: int) -> Out:
    return Out(n)

@loopline.func
def pipeline(n: int) -> Out:
    return make(n)

print(loopline.LocalRunner().run(pipeline(2)))
"""


def write_runs(
    stores: tuple[MetadataStore, ArtifactStore], root: tuple[str, RunState], *steps: tuple[str, RunState]
) -> None:
    """A pipeline run and its steps, given as (id, state), written straight into the store."""
    metadata, _ = stores
    root_id, root_state = root
    pipeline = RunRecord(root_id, root_id, None, "flow.pipeline", "pipeline", root_state, utcnow())
    nested = [pipeline.replace(id=i, parent_id=root_id, name=f"step-{s.value}", state=s) for i, s in steps]
    metadata.write(WriteBatch(runs=[pipeline, *nested]))


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


def test_run_help_describes_the_func_and_runs_nothing(home: Path) -> None:
    code, out = invoke("run", str(HELLO), "--help")
    assert code == 0 and "Runs pipeline():\n  Greet someone, loudly." in out
    assert "--name str  default: 'world'" in out and "--rerun-from RUN_ID" in out
    assert loopline.Client(home).runs() == []


def test_run_h_describes_the_named_func(home: Path) -> None:
    code, out = invoke("run", f"{HELLO}:greet", "-h")
    assert code == 0 and "Say hello." in out and "--name str  required" in out


def test_rerun_from_takes_an_id_prefix_like_runs_show(hello_run: loopline.RunRecord, home: Path) -> None:
    greet = loopline.Client(home).runs(name="greet")[0]
    done = loopline_cmd(home, "run", str(HELLO), "--name", "Ada", "--rerun-from", greet.id[:8])
    assert done.returncode == 0, done.stderr


def test_rerun_from_an_unknown_or_ambiguous_prefix_is_explained(
    stores: tuple[MetadataStore, ArtifactStore],
) -> None:
    write_runs(stores, ("abcdef01" * 4, RunState.SUCCEEDED), ("abcdef02" * 4, RunState.SUCCEEDED))
    code, out = invoke("run", str(HELLO), "--rerun-from", "deadbeef")
    assert code == 1 and "Error: --rerun-from: no run with id 'deadbeef'" in out
    code, out = invoke("run", str(HELLO), "--rerun-from", "abcdef")
    assert code == 1 and "Error: --rerun-from: 'abcdef' matches 2 runs" in out


def test_a_file_that_runs_a_pipeline_when_imported_is_refused(home: Path, tmp_path: Path) -> None:
    flow = tmp_path / "self_running.py"
    flow.write_text(SELF_RUNNING)
    done = loopline_cmd(home, "run", str(flow), "--n", "1", timeout=60)  # it used to hang
    assert done.returncode == 1 and done.stderr.strip() == (
        "Error: self_running.py runs a pipeline when it is imported; put that under "
        '`if __name__ == "__main__":` so that `loopline run` can import the file (self_running.py, line 16)'
    )
    assert loopline.Client(home).runs() == []


def test_a_script_may_run_pipelines_at_top_level(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SELF_RUNNING.replace("def pipeline", "def steps").replace("pipeline(2)", "steps(2)"))
    done = loopline_cmd(home, "run", str(script), timeout=60)
    assert done.returncode == 0 and "Out(n=2)" in done.stdout, done.stderr


def test_runs_ls_lists_pipelines(hello_run: loopline.RunRecord) -> None:
    code, out = invoke("runs", "ls")
    assert code == 0 and hello_run.id[:12] in out and "succeeded" in out


def test_runs_ls_filters(hello_run: loopline.RunRecord) -> None:
    assert "no runs match" in invoke("runs", "ls", "--state", "failed")[1]
    assert hello_run.id[:12] in invoke("runs", "ls", "--tag", "cli-test")[1]
    assert "greet" in invoke("runs", "ls", "--all")[1]


@pytest.mark.usefixtures("home")
def test_runs_ls_needs_a_positive_limit() -> None:
    code, out = invoke("runs", "ls", "--limit", "0")
    assert code == 2 and "Invalid value for '--limit': 0 is not in the range x>=1" in out


def test_runs_in_every_state_list_and_show(stores: tuple[MetadataStore, ArtifactStore]) -> None:
    root = "0" * 32
    write_runs(
        stores, (root, RunState.ORPHANED), *((f"{i:032}", state) for i, state in enumerate(RunState, 1))
    )
    code, listed = invoke("runs", "ls", "--all")
    assert code == 0 and all(state.value in listed for state in RunState)
    code, shown = invoke("runs", "show", root)
    assert code == 0 and all(f"step-{state.value} {state.value}" in shown for state in RunState)


def test_runs_show_draws_the_tree_by_id_prefix(hello_run: loopline.RunRecord) -> None:
    code, out = invoke("runs", "show", hello_run.id[:8])
    assert code == 0 and "greet" in out and "shout" in out and "succeeded" in out


def test_logs_prints_what_a_step_printed(hello_run: loopline.RunRecord, home: Path) -> None:
    greet = loopline.Client(home).runs(name="greet")[0]
    assert invoke("logs", greet.id) == (0, "greeting Ada\n")


@pytest.mark.usefixtures("home")
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
    code, out = invoke("gc", "--older-than", "0")
    assert code == 0 and "would delete 1 pipeline(s) (3 runs)" in out and "add --delete" in out
    assert client.runs(limit=10)
    code, out = invoke("gc", "--older-than", "0", "--delete", "--yes")
    assert code == 0 and "deleted 1 pipeline(s) (3 runs)" in out
    assert client.runs(limit=10) == [] and list(client.artifacts.ids()) == []


def test_gc_deletes_only_when_confirmed(hello_run: loopline.RunRecord, home: Path) -> None:
    code, out = invoke("gc", "--older-than", "0", "--delete")  # no terminal to ask on
    assert code == 1 and "--yes" in out
    assert loopline.Client(home).runs()


def test_gc_is_scoped_to_a_pipeline_or_a_user(hello_run: loopline.RunRecord, home: Path) -> None:
    assert "would delete 0 pipeline(s)" in invoke("gc", "--older-than", "0", "--user", "somebody-else")[1]
    assert "would delete 0 pipeline(s)" in invoke("gc", "--older-than", "0", "--pipeline", "other.flow")[1]
    assert (
        "would delete 1 pipeline(s)" in invoke("gc", "--older-than", "0", "--pipeline", hello_run.function)[1]
    )


def test_gc_keeps_recent_pipelines(hello_run: loopline.RunRecord, home: Path) -> None:
    assert "would delete 0 pipeline(s)" in invoke("gc", "--older-than", "30", "--delete", "--yes")[1]
    assert loopline.Client(home).runs()


def test_version() -> None:
    assert invoke("version")[1].startswith(f"loopline {loopline.__version__}")


SLOW = """\
import pathlib, time
import loopline

@loopline.func(standalone=True)
def slow(marker: str) -> int:
    pathlib.Path(marker).touch()
    time.sleep(120)
    return 0

@loopline.func
def pipeline(marker: str) -> int:
    return slow(marker)
"""


def test_ctrl_c_on_run_says_which_pipeline_was_cancelled(home: Path, tmp_path: Path) -> None:
    flow = tmp_path / "slow_flow.py"
    flow.write_text(SLOW)
    marker = tmp_path / "started"
    env = {**os.environ, "LOOPLINE_HOME": str(home)}
    command = [sys.executable, "-m", "loopline.cli.main", "run", str(flow), "--marker", str(marker)]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    ) as process:
        try:
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert time.monotonic() < deadline and process.poll() is None, "the step never started"
                time.sleep(0.05)
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole group
            out, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    root = loopline.Client(home).runs(name="pipeline")[0]
    assert process.returncode == 130 and f"interrupted: pipeline {root.id} was cancelled" in out
    assert root.state is loopline.RunState.CANCELLED
