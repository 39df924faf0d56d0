"""A runner that stops for any reason leaves no run live behind it, and `loopline clean` finds a
live run whose runner is gone, stopped or dead.

The full disk is a file size limit (RLIMIT_FSIZE, with SIGXFSZ ignored, so a write past it fails
with EFBIG as a write to a full disk fails with ENOSPC) in a subprocess: no mount needed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from loopline.cli.main import cli
from loopline.core.records import TERMINAL_STATES, RunnerRecord, RunRecord, RunState, WriteBatch, utcnow
from loopline.engine.liveness import mark_orphans
from loopline.storage.base import ArtifactStore, MetadataStore

# The store is opened before the limit is set; then the step's logs cannot fit in what is left.
FULL_DISK_PIPELINE = textwrap.dedent(
    """
    import os, resource, signal, sys
    import loopline

    @loopline.func
    def noisy() -> int:
        for _ in range(8_000):
            print("x" * 1_000)
        return 1

    @loopline.func
    def pipeline() -> int:
        return noisy()

    runner = loopline.LocalRunner(home=sys.argv[1], echo=False)
    runner.stores()
    size = sum(f.stat().st_size for f in __import__("pathlib").Path(sys.argv[1]).glob("loopline.db*"))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1_000_000, resource.RLIM_INFINITY))
    try:
        runner.run(pipeline())
    except loopline.errors.LooplineError as error:
        print(type(error).__name__, error)
        sys.exit(1)
    """
)


# A step that prints 80 MB while the store refuses every write: what waits stays bounded.
FLOOD_PIPELINE = (
    FULL_DISK_PIPELINE.replace("range(8_000)", "range(80_000)")
    .replace(
        "try:\n    runner.run(pipeline())",
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\ntry:\n    runner.run(pipeline())",
    )
    .replace(
        "    sys.exit(1)",
        "    print('grew', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024, 'MiB')\n    sys.exit(1)",
    )
)


def test_output_waiting_for_a_full_disk_stays_bounded(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "flood.py"
    script.write_text(FLOOD_PIPELINE)
    done = subprocess.run(
        [sys.executable, str(script), str(home)], capture_output=True, text=True, timeout=300, env=os.environ
    )
    assert done.returncode == 1, done.stderr
    grew = int(done.stdout.split("grew ")[1].split()[0])
    assert grew < 60, done.stdout  # 80 MB printed; at most 16 Mi characters wait, plus a write's copy


@pytest.fixture
def full_disk_run(home: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "full_disk.py"
    script.write_text(FULL_DISK_PIPELINE)
    return subprocess.run(
        [sys.executable, str(script), str(home)], capture_output=True, text=True, timeout=300, env=os.environ
    )


def test_a_full_disk_fails_the_pipeline_saying_so(full_disk_run: subprocess.CompletedProcess[str]) -> None:
    assert full_disk_run.returncode == 1, full_disk_run.stderr
    assert full_disk_run.stdout.startswith("StoreError cannot read or write the Loopline database")
    assert "disk is full" in full_disk_run.stdout


def test_a_full_disk_leaves_no_run_live_and_the_runner_stopped(
    full_disk_run: subprocess.CompletedProcess[str], stores: tuple[MetadataStore, ArtifactStore]
) -> None:
    runs = stores[0].list_runs().runs
    states = {run.name: run.state for run in runs}
    # The step's own record may never reach the disk (on a busy machine its first write is the
    # one that fails); whatever was recorded is orphaned, none is left live.
    assert states.keys() <= {"pipeline", "noisy"} and "pipeline" in states
    assert set(states.values()) == {RunState.ORPHANED}
    assert all(run.error is not None and "disk is full" in run.error.message for run in runs)
    assert stores[0].live_runners() == [] and stores[0].unfinished_runners() == []


def left_running(metadata: MetadataStore, *, runner_stopped: bool, pid: int) -> str:
    """A run left `running` by runner "gone" (pid `pid` on this host), written into the store directly."""
    now = utcnow()
    metadata.save_runner(
        RunnerRecord("gone", socket.gethostname(), pid, now, now, stopped_at=now if runner_stopped else None)
    )
    run = RunRecord(
        id="r" * 32, root_id="r" * 32, parent_id=None, function="m.f", name="f", state=RunState.RUNNING,
        created_at=now, started_at=now, runner_id="gone",
    )  # fmt: skip
    metadata.write(WriteBatch(runs=[run]))
    return run.id


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


@pytest.mark.parametrize("runner_stopped", [True, False], ids=["stopped runner", "dead runner"])
def test_clean_orphans_a_live_run_whose_runner_is_gone(
    stores: tuple[MetadataStore, ArtifactStore], runner_stopped: bool
) -> None:
    run_id = left_running(stores[0], runner_stopped=runner_stopped, pid=dead_pid())
    result = CliRunner().invoke(cli, ["clean"], catch_exceptions=False)
    assert (result.exit_code, result.output) == (0, "marked 1 orphaned run(s)\n")
    run = stores[0].get_run(run_id)
    assert run.state is RunState.ORPHANED and run.error is not None
    assert "its runner (pid" in run.error.message
    assert CliRunner().invoke(cli, ["clean"]).output == "no orphaned runs\n"


def test_a_live_runners_runs_are_not_orphans(stores: tuple[MetadataStore, ArtifactStore]) -> None:
    run_id = left_running(stores[0], runner_stopped=False, pid=os.getppid())
    assert mark_orphans(stores[0], utcnow()) == []
    assert stores[0].get_run(run_id).state not in TERMINAL_STATES
