"""RayRunner on a real local Ray instance: the same semantics as LocalRunner, steps as Ray tasks."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import loopline
from loopline import RayRunner, ResourceRequirements, RetrySettings, RunState
from loopline.data import Files
from loopline.errors import (
    PipelineRunError,
    ResourceUnavailableError,
    StepCancelledError,
    StepTimeoutError,
    UsageError,
    WorkerCrashedError,
)
from loopline.storage.artifacts import MemoryArtifactStore
from loopline.storage.memory import MemoryMetadataStore

pytestmark = [pytest.mark.ray, pytest.mark.timeout(60)]


def bump(counter: str) -> int:
    """Count a call in a file (steps run in other processes); returns the calls so far."""
    with open(counter, "a") as file:
        file.write("x")
    return Path(counter).stat().st_size


def eventually(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@loopline.func
def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@loopline.func
def fan_out(n: int) -> list[int]:
    return [pid_after(0.1) for _ in range(n)]  # type: ignore[return-value]


@loopline.func
def rendezvous(folder: str, n: int) -> int:
    """Wait until `n` steps are in here at once; returns this worker's pid."""
    Path(folder, str(os.getpid())).touch()
    eventually(lambda: len(os.listdir(folder)) >= n, timeout=20)
    return os.getpid()


@loopline.func(cache=True)
def counted(counter: str, x: int) -> int:
    bump(counter)
    return x * 2


class Flaky(Exception):
    pass


@loopline.func(retry=RetrySettings(exceptions=(Flaky,), retries=2, backoff_s=0))
def flaky(counter: str) -> int:
    calls = bump(counter)
    if calls == 1:
        raise Flaky("first attempt")
    return calls


@loopline.func
def boom(x: int) -> int:
    raise ValueError(f"bad value {x}")


@loopline.func(retry=RetrySettings(retries=1, backoff_s=0))
def dies_once(counter: str) -> int:
    if bump(counter) == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


@loopline.func
def dies(counter: str) -> int:
    bump(counter)
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


@loopline.func
def hangs(marker: str) -> int:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(3600)
    return 0


@loopline.func(timeout_mins=0.1)  # long enough for a fresh worker to start it
def too_slow(marker: str) -> int:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(3600)
    return 0


@loopline.func
def chatty(marker: str) -> bool:
    print("waiting for the runner to see this")
    loopline.log_metric("progress", 0.5)
    deadline = time.monotonic() + 20
    while not Path(marker).exists():  # the test creates it once it has read the line above
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    print("done")
    return True


class Blob:
    """A value that records which process decodes it (in the file named in its bytes)."""

    def __init__(self, journal: str, size: int) -> None:
        self.journal = journal
        self.size = size


def load_blob(raw: bytes) -> Blob:
    journal, _, data = raw.partition(b"\n")
    with open(journal, "a") as file:
        file.write(f"{os.getpid()}\n")
    return Blob(journal.decode(), len(data))


loopline.register_type(
    Blob, serialize=lambda b: b.journal.encode() + b"\n" + bytes(b.size), deserialize=load_blob
)


@loopline.func
def make_blob(journal: str) -> Blob:
    return Blob(journal, 10_000_000)


@loopline.func
def blob_size(blob: Blob) -> int:
    return blob.size


def test_a_fan_out_runs_as_parallel_ray_tasks(
    ray_runner: RayRunner, client: loopline.Client, tmp_path: Path
) -> None:
    @loopline.func
    def pipeline(folder: str) -> list[int]:
        return [rendezvous(folder, 2), rendezvous(folder, 2)]  # type: ignore[list-item]

    (tmp_path / "met").mkdir()
    pids = ray_runner.run(pipeline(str(tmp_path / "met")))
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert {run.executor for run in client.runs(name="rendezvous")} == {"ray"}


def test_nested_runs_form_a_tree(ray_runner: RayRunner, client: loopline.Client) -> None:
    future = fan_out(3)
    ray_runner.run(future)
    children = client.children(future.id)
    assert len(children) == 3 and {c.state for c in children} == {RunState.SUCCEEDED}


def test_outputs_travel_through_the_artifact_store_not_the_driver(
    ray_runner: RayRunner, tmp_path: Path
) -> None:
    journal = tmp_path / "decoded-by"
    assert ray_runner.run(blob_size(make_blob(str(journal)))) == 10_000_000
    readers = {int(pid) for pid in journal.read_text().split()}
    assert readers and os.getpid() not in readers


@loopline.func
def label_total(rows: pd.DataFrame) -> int:
    return int(rows["label"].sum())


def test_a_table_snapshot_reaches_a_ray_task_as_a_dataframe(ray_runner: RayRunner, tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2, 3], "label": [1, 0, 1]}), tmp_path / "reviews.parquet")
    assert ray_runner.run(label_total(Files(str(tmp_path / "reviews.parquet")))) == 2


def test_a_cached_step_does_not_run_again(
    ray_runner: RayRunner, client: loopline.Client, tmp_path: Path
) -> None:
    counter = str(tmp_path / "calls")
    assert ray_runner.run(counted(counter, 21)) == 42
    second = counted(counter, 21)
    assert ray_runner.run(second) == 42
    assert client.run(second.id).state is RunState.CACHED and Path(counter).read_text() == "x"


def test_a_rerun_executes_the_chosen_run_again(
    ray_instance: None, home: Path, client: loopline.Client, tmp_path: Path
) -> None:
    counter = str(tmp_path / "calls")
    first = counted(counter, 1)
    RayRunner(home=home, echo=False).run(first)
    RayRunner(home=home, echo=False, rerun_from=first.id, cache=False).run(counted(counter, 1))
    assert Path(counter).read_text() == "xx"


def test_a_failed_attempt_is_retried_by_the_step_settings(
    ray_runner: RayRunner, client: loopline.Client, tmp_path: Path
) -> None:
    future = flaky(str(tmp_path / "calls"))
    assert ray_runner.run(future) == 2
    assert client.run(future.id).attempts == 2


def test_a_failure_raises_pipeline_run_error_chained_to_the_user_error(ray_runner: RayRunner) -> None:
    with pytest.raises(PipelineRunError, match=r"boom\(\) failed: ValueError: bad value 3") as caught:
        ray_runner.run(boom(3))
    assert isinstance(caught.value.__cause__, ValueError)


def test_a_killed_worker_is_retried_by_the_step_settings(
    ray_runner: RayRunner, client: loopline.Client, tmp_path: Path
) -> None:
    future = dies_once(str(tmp_path / "calls"))
    ray_runner.run(future)
    assert client.run(future.id).attempts == 2


def test_a_killed_worker_is_not_retried_by_ray(ray_runner: RayRunner, tmp_path: Path) -> None:
    counter = tmp_path / "calls"
    with pytest.raises(PipelineRunError, match="died") as caught:
        ray_runner.run(dies(str(counter)))
    assert isinstance(caught.value.__cause__, WorkerCrashedError)
    assert counter.read_text() == "x"


def test_cancelling_the_pipeline_kills_its_ray_task(
    ray_runner: RayRunner, client: loopline.Client, tmp_path: Path
) -> None:
    marker = tmp_path / "pid"
    future = hangs(str(marker))

    def cancel() -> None:
        eventually(marker.exists)
        client.cancel(future.id)

    threading.Thread(target=cancel, daemon=True).start()
    with pytest.raises(PipelineRunError, match="cancelled") as caught:
        ray_runner.run(future)
    assert isinstance(caught.value.__cause__, StepCancelledError)
    assert client.run(future.id).state is RunState.CANCELLED
    eventually(lambda: not pid_alive(int(marker.read_text())))


def test_a_timeout_kills_the_step(ray_runner: RayRunner, client: loopline.Client, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    future = too_slow(str(marker))
    with pytest.raises(PipelineRunError, match="timeout_mins") as caught:
        ray_runner.run(future)
    assert isinstance(caught.value.__cause__, StepTimeoutError)
    assert client.run(future.id).state is RunState.FAILED
    eventually(lambda: not pid_alive(int(marker.read_text())))


@pytest.mark.parametrize(
    ("resources", "wants"),
    [
        (ResourceRequirements(gpus=1), "1 GPU"),
        (ResourceRequirements(cpus=64), "64 CPUs"),
        (ResourceRequirements(memory="100Ti"), "GiB of memory"),
    ],
)
def test_an_impossible_resource_request_fails_at_once(
    ray_runner: RayRunner, resources: ResourceRequirements, wants: str
) -> None:
    future = pid_after(0).set(resources=resources)
    with pytest.raises(PipelineRunError, match="no node of the Ray cluster") as caught:
        ray_runner.run(future)
    assert isinstance(caught.value.__cause__, ResourceUnavailableError)
    assert wants in str(caught.value.__cause__)


def test_output_and_metrics_reach_the_store_while_the_step_runs(
    ray_runner: RayRunner, client: loopline.Client, tmp_path: Path
) -> None:
    marker = tmp_path / "seen"
    future = chatty(str(marker))

    def release_when_seen() -> None:
        def seen() -> bool:
            runs = client.runs(name="chatty")
            return bool(runs) and "waiting for the runner" in client.logs(runs[0].id)

        eventually(seen)
        marker.touch()

    threading.Thread(target=release_when_seen, daemon=True).start()
    assert ray_runner.run(future) is True
    assert client.logs(future.id) == "waiting for the runner to see this\ndone\n"
    assert [(m.name, m.value) for m in client.metrics(future.id)] == [("progress", 0.5)]


def test_the_in_memory_artifact_store_is_refused(ray_instance: None) -> None:
    runner = RayRunner(metadata=MemoryMetadataStore(), artifacts=MemoryArtifactStore())
    with pytest.raises(UsageError, match="artifact store its Ray workers can reach"):
        runner.run(pid_after(0))
