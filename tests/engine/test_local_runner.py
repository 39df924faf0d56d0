"""LocalRunner end to end: values, tracking, nesting, parallelism, logs, metrics, resources."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading

import pytest

import loopline
from loopline import RunState
from loopline.errors import PipelineRunError
from tests.conftest import states


@loopline.func
def add(a: float, b: float) -> float:
    return a + b


@loopline.func
def add3(a: float, b: float, c: float) -> float:
    return add(add(a, b), c)


@loopline.func
def pipeline(a: float, b: float, c: float) -> float:
    return add3(add(a, b), add(b, c), add(a, c))


def test_run_returns_the_pipeline_value(runner: loopline.LocalRunner) -> None:
    assert runner.run(pipeline(1, 2, 3)) == 12.0


def test_every_run_is_tracked_with_its_nesting(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    future = pipeline(1, 2, 3)
    runner.run(future)
    runs = client.runs(limit=100)
    assert len(runs) == 7 and all(r.state is RunState.SUCCEEDED for r in runs)
    nested = client.runs(name="add3")
    assert nested[0].parent_id == future.id
    assert {r.root_id for r in runs} == {future.id}


def test_inputs_record_the_runs_they_came_from(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    first = add(1, 2)
    second = add(first, 3)
    runner.run(second)
    record = client.run(second.id)
    assert record.inputs["a"].sources == (first.id,)
    assert record.inputs["a"].artifact_id == client.run(first.id).output_id
    assert record.inputs["b"].sources == ()


def test_outputs_and_inputs_can_be_read_back(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    future = add(1, 2)
    runner.run(future)
    assert client.output(future.id) == 3.0
    assert client.inputs(future.id) == {"a": 1.0, "b": 2.0}


@loopline.func
def collatz(n: int) -> int:
    """Steps to reach 1: the graph grows while it runs, decided by data."""
    if n == 1:
        return 0
    return plus_one(collatz(n // 2 if n % 2 == 0 else 3 * n + 1))


@loopline.func
def plus_one(x: int) -> int:
    return x + 1


def test_funcs_returning_futures_grow_the_graph_at_run_time(runner: loopline.LocalRunner) -> None:
    assert runner.run(collatz(6)) == 8


@loopline.func
def wait_for_partner(barrier_parties: int, name: str) -> str:
    BARRIER.wait(timeout=20)
    return name


BARRIER = threading.Barrier(2)


@loopline.func
def both(a: str, b: str) -> list[str]:
    return [a, b]


def test_independent_steps_run_at_the_same_time(runner: loopline.LocalRunner) -> None:
    BARRIER.reset()
    # Each step blocks until the other has started: this only finishes if they overlap.
    assert runner.run(both(wait_for_partner(2, "x"), wait_for_partner(2, "y"))) == ["x", "y"]


@loopline.func
def fan_out(n: int) -> list[int]:
    return [square(i) for i in range(n)]  # type: ignore[misc]


@loopline.func
def square(x: int) -> int:
    return x * x


@loopline.func
def total(xs: list[int]) -> int:
    return sum(xs)


def test_lists_of_futures_are_gathered(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    future = total(fan_out(5))
    assert runner.run(future) == 30
    assert len(client.runs(name="square")) == 5


@loopline.func(standalone=True)
def worker_pid() -> int:
    return os.getpid()


def test_standalone_steps_run_in_worker_processes(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    future = worker_pid()
    assert runner.run(future) != os.getpid()
    assert client.run(future.id).executor == "process"


@loopline.func
def chatty(x: int) -> int:
    print(f"printing {x}")
    logger = logging.getLogger("user.code")
    handler = logging.StreamHandler()  # writes to sys.stderr, like logging.basicConfig()'s
    logger.addHandler(handler)
    try:
        logger.warning("logging %s", x)
    finally:
        logger.removeHandler(handler)
    return x


@loopline.func(standalone=True)
def chatty_worker(x: int) -> int:
    print(f"worker printing {x}")
    return x


@loopline.func
def gather(a: int, b: int) -> list[int]:
    return [a, b]


def test_output_and_logging_are_captured_per_run(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    first, second = chatty(1), chatty_worker(2)
    runner.run(gather(first, second))
    assert "printing 1" in client.logs(first.id) and "logging 1" in client.logs(first.id)
    assert client.logs(second.id) == "worker printing 2\n"


@loopline.func
def with_metrics(n: int) -> str:
    for step in range(n):
        loopline.log_metric("loss", 1.0 / (step + 1), step=step)
    ctx = loopline.context()
    return f"{ctx.run_id}/{ctx.root_id}"


def test_metrics_and_context_inside_a_step(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    future = with_metrics(3)
    assert runner.run(future) == f"{future.id}/{future.id}"
    assert [m.value for m in client.metrics(future.id)] == [1.0, 0.5, 1.0 / 3]


def test_context_outside_a_step_explains_itself() -> None:
    with pytest.raises(loopline.LooplineError, match="only be called inside a running"):
        loopline.context()


def test_resources_are_recorded(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    future = add(1, 2).set(resources=loopline.ResourceRequirements(cpus=1, memory="1Gi"))
    runner.run(future)
    assert client.run(future.id).resources.memory_bytes == 2**30


def test_a_gpu_step_on_a_machine_without_gpu_fails_at_once(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    if loopline.engine.gpu.visible_gpu_ids():  # type: ignore[attr-defined]
        pytest.skip("this machine has a GPU")
    future = add(1, 2).set(resources=loopline.ResourceRequirements(gpus=1))
    with pytest.raises(PipelineRunError, match="asks for 1 GPU"):
        runner.run(future)
    assert client.run(future.id).state is RunState.FAILED


def test_the_pipeline_run_records_git_user_and_launch(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    future = add(1, 2)
    runner.run(future)
    root = client.run(future.id)
    assert (
        root.user and root.launch is not None and root.launch.function == "tests.engine.test_local_runner:add"
    )
    assert root.git is not None and root.git.commit and len(root.git.commit) == 40
    assert "return a + b" in root.source


def test_runs_of_a_pipeline_are_named_and_tagged(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    runner.run(pipeline(1, 2, 3).set(name="nightly", tags=["prod"]))
    assert states(client, tags=["prod"]) == {"nightly": RunState.SUCCEEDED}
    assert client.runs(root_only=True)[0].function == "tests.engine.test_local_runner.pipeline"


def test_silent_runner_runs_without_tracking(home) -> None:  # type: ignore[no-untyped-def]
    assert loopline.SilentRunner().run(pipeline(1, 2, 3)) == 12.0
    assert not (home / "loopline.db").exists()


@dataclasses.dataclass
class Link:
    name: str
    next: Link | None = None


@loopline.func
def link_name(link: Link) -> str:
    return link.name


@loopline.func
def length(items: list[object]) -> int:
    return len(items)


@pytest.mark.timeout(60)
def test_values_that_contain_themselves_never_hang_the_runner(runner: loopline.LocalRunner) -> None:
    ring = Link("a")
    ring.next = ring
    with pytest.raises(PipelineRunError, match="contains itself"):
        runner.run(link_name(ring))
    nested: list[object] = []
    nested.append(nested)
    with pytest.raises(PipelineRunError, match="contains itself"):
        runner.run(length(nested))
