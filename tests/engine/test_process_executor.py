"""`LocalRunner(executor="process")` and `loopline run --processes`: every step in warm worker
processes, funcs from scripts included (they travel by value)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import loopline
from loopline.core.records import RunState
from loopline.engine.run_options import take_run_options
from loopline.errors import UsageError
from tests.engine.test_processes import ROOT, script, start


@loopline.func
def pid(x: int) -> int:
    return os.getpid()


@loopline.func
def pids(n: int) -> list[int]:
    return [pid(i) for i in range(n)]


def test_every_step_runs_in_a_worker_process(home: Path) -> None:
    processes = loopline.LocalRunner(home=home, echo=False, executor="process")
    found = processes.run(pids(4))
    assert os.getpid() not in found
    records = loopline.Client(home).runs(function="tests.engine.test_process_executor.pid")
    assert {r.executor for r in records} == {"process"} and {r.state for r in records} == {RunState.SUCCEEDED}


def test_threads_stay_the_default(runner: loopline.LocalRunner) -> None:
    assert set(runner.run(pids(3))) == {os.getpid()}


def test_an_unknown_executor_is_refused_with_the_choices() -> None:
    with pytest.raises(UsageError, match="'thread', 'process'"):
        loopline.LocalRunner(executor="fork")


SCRIPT = """
    import dataclasses, os, sys
    import loopline

    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    @loopline.func
    def move(p: Point) -> Point:
        return Point(p.x + 1, os.getpid())

    @loopline.func
    def pipeline() -> list[Point]:
        return [move(Point(i, 0)) for i in range(3)]

    if __name__ == "__main__":
        points = loopline.LocalRunner(echo=False, executor="process").run(pipeline())
        assert [p.x for p in points] == [1, 2, 3] and os.getpid() not in {p.y for p in points}, points
        print("ok")
"""


def test_funcs_and_types_defined_in_a_script_run_in_worker_processes(tmp_path: Path, home: Path) -> None:
    out, _ = start(script(tmp_path, "script_funcs.py", SCRIPT), home).communicate(timeout=120)
    assert out.strip().endswith("ok"), out


def test_loopline_run_processes_runs_every_step_in_workers(tmp_path: Path, home: Path) -> None:
    path = script(tmp_path, "cli_pipeline.py", SCRIPT.split("if __name__")[0])
    env = {**os.environ, "LOOPLINE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "loopline.cli.main", "run", str(path), "--processes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    moves = loopline.Client(home).runs(name="move")
    assert len(moves) == 3 and {r.executor for r in moves} == {"process"}


def test_processes_and_ray_do_not_go_together() -> None:
    options, _ = take_run_options(["--processes", "--ray"], set())
    with pytest.raises(UsageError, match="--processes and --ray"):
        options.runner()


def test_processes_is_a_flag_among_the_parameters() -> None:
    options, rest = take_run_options(["--processes", "--n", "3"], {"n"})
    assert options.processes and rest == ["--n", "3"]
