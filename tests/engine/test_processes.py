"""Whole processes: crash safety, several pipelines on one store, funcs defined in scripts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import loopline
from loopline import RunState
from loopline.engine.liveness import pid_alive

ROOT = Path(__file__).resolve().parents[2]


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def start(path: Path, home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LOOPLINE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(path), *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def eventually(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


CRASHY = """
    import pathlib, sys, time
    import loopline

    @loopline.func(cache=True)
    def step(i: int) -> int:
        return i * i

    @loopline.func(cache=True)
    def slow(xs: list[int], hang: bool) -> int:
        if hang:
            time.sleep(3600)
        return sum(xs)

    @loopline.func
    def pipeline(hang: bool) -> int:
        return slow([step(i) for i in range(3)], hang)

    if __name__ == "__main__":
        print(loopline.LocalRunner(echo=False).run(pipeline(sys.argv[1] == "hang")))
"""


def test_a_killed_runner_loses_nothing_finished_and_its_runs_are_orphaned(tmp_path: Path, home: Path) -> None:
    path = script(tmp_path, "crashy.py", CRASHY)
    process = start(path, home, "hang")
    client = loopline.Client(home)
    eventually(
        lambda: (
            len(client.runs(name="step", state="succeeded")) == 3
            and client.runs(name="slow", state="running")
        )
    )
    process.send_signal(signal.SIGKILL)
    process.wait()

    assert client.runs(name="slow")[0].state is RunState.RUNNING  # nobody has noticed yet
    rerun = start(path, home, "finish")
    assert rerun.communicate(timeout=120)[0].strip().endswith("5")
    assert client.runs(name="slow")[-1].state is RunState.ORPHANED
    assert [r.state for r in client.runs(name="pipeline")][-1] is RunState.ORPHANED
    assert {r.state for r in client.runs(name="step")} == {RunState.SUCCEEDED, RunState.CACHED}
    assert len(client.runs(name="step", state="cached")) == 3


def test_clean_marks_orphans_of_dead_runners_only(tmp_path: Path, home: Path) -> None:
    path = script(tmp_path, "crashy.py", CRASHY)
    dead = start(path, home, "hang")
    live = start(path, home, "hang")
    client = loopline.Client(home)
    eventually(lambda: len(client.runs(name="slow", state="running")) == 2)
    dead.send_signal(signal.SIGKILL)
    dead.wait()
    try:
        cleaned = subprocess.run(
            [sys.executable, "-m", "loopline.cli.main", "clean"],
            env={**os.environ, "LOOPLINE_HOME": str(home)},
            capture_output=True,
            text=True,
            check=True,
        )
        assert "marked 2 orphaned run(s)" in cleaned.stdout  # the dead pipeline and its slow step
        assert len(client.runs(name="slow", state="running")) == 1
    finally:
        live.kill()
        live.wait()


MANY = """
    import sys
    import loopline

    @loopline.func
    def inc(x: int) -> int:
        return x + 1

    @loopline.func
    def pipeline(n: int) -> int:
        x = inc(0)
        for _ in range(n - 1):
            x = inc(x)
        return x

    if __name__ == "__main__":
        print(loopline.LocalRunner(echo=False).run(pipeline(int(sys.argv[1]))))
"""


def test_four_pipelines_on_one_store_all_finish(tmp_path: Path, home: Path) -> None:
    path = script(tmp_path, "many.py", MANY)
    processes = [start(path, home, "60") for _ in range(4)]
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    assert all(out.strip().endswith("60") for out in outputs)
    assert len(loopline.Client(home).runs(name="inc", limit=1000)) == 240


MAIN_FUNCS = """
    import os
    import loopline

    @loopline.func(standalone=True)
    def in_worker(x: int) -> int:
        return os.getpid()

    @loopline.func
    def pipeline() -> list[int]:
        return [in_worker(1), in_worker(2)]

    if __name__ == "__main__":
        pids = loopline.LocalRunner(echo=False).run(pipeline())
        assert os.getpid() not in pids, pids
        print("ok", loopline.SilentRunner().run(pipeline()) == [os.getpid()] * 2)
"""


def test_funcs_defined_in_a_script_run_in_worker_processes(tmp_path: Path, home: Path) -> None:
    path = script(tmp_path, "main_funcs.py", MAIN_FUNCS)
    out, _ = start(path, home).communicate(timeout=120)
    assert out.strip().endswith("ok True"), out


INTERRUPTIBLE = """
    import pathlib, sys, time
    import loopline

    @loopline.func(standalone=True)
    def sleeper(marker: str) -> int:
        pathlib.Path(marker).write_text(str(__import__("os").getpid()))
        time.sleep(3600)
        return 0

    if __name__ == "__main__":
        loopline.LocalRunner(echo=False).run(sleeper(sys.argv[1]))
"""


def test_ctrl_c_stops_the_pipeline_and_kills_its_workers(tmp_path: Path, home: Path) -> None:
    path = script(tmp_path, "interruptible.py", INTERRUPTIBLE)
    marker = tmp_path / "worker.pid"
    process = start(path, home, str(marker))
    eventually(marker.exists)
    worker_pid = int(marker.read_text())
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode != 0 and "KeyboardInterrupt" in out
    eventually(lambda: not pid_alive(worker_pid))
    assert loopline.Client(home).runs(name="sleeper")[0].state is RunState.CANCELLED


def test_a_busy_worker_exits_when_its_runner_is_killed(tmp_path: Path, home: Path) -> None:
    path = script(tmp_path, "interruptible.py", INTERRUPTIBLE)
    marker = tmp_path / "worker.pid"
    runner = start(path, home, str(marker))
    eventually(marker.exists)
    worker = int(marker.read_text())
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    eventually(lambda: not pid_alive(worker), timeout=30)  # it would sleep for an hour, unrecorded
