"""Failures, retries with backoff, timeouts: what the user sees and what the store keeps."""

from __future__ import annotations

import threading
import time

import pytest

import loopline
from loopline import RunState
from loopline.errors import PipelineRunError, StepTimeoutError
from loopline.testing import ManualClock

ATTEMPTS: list[int] = []


class Flaky(Exception):
    pass


@loopline.func(retry=loopline.RetrySettings(exceptions=(Flaky,), retries=3, backoff_s=30))
def flaky(fail_times: int) -> int:
    ATTEMPTS.append(1)
    if len(ATTEMPTS) <= fail_times:
        raise Flaky(f"attempt {len(ATTEMPTS)}")
    return len(ATTEMPTS)


@loopline.func
def boom(x: int) -> int:
    raise ValueError(f"bad value {x}")


@loopline.func
def ok(x: int) -> int:
    return x


@loopline.func
def combine(a: int, b: int) -> int:
    return a + b


def manual_runner(home) -> loopline.LocalRunner:  # type: ignore[no-untyped-def]
    return loopline.LocalRunner(home=home, echo=False, clock=ManualClock())


def test_a_failure_raises_pipeline_run_error_chained_to_the_user_error(runner: loopline.LocalRunner) -> None:
    with pytest.raises(PipelineRunError, match=r"boom\(\) failed: ValueError: bad value 3") as caught:
        runner.run(combine(ok(1), boom(3)))
    assert isinstance(caught.value.__cause__, ValueError)
    assert caught.value.function == "tests.engine.test_failures.boom"


def test_a_failed_pipeline_keeps_its_partial_graph(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    first = ok(1)
    with pytest.raises(PipelineRunError):
        runner.run(combine(first, boom(3)))
    assert client.run(first.id).state is RunState.SUCCEEDED
    failed = client.runs(name="boom")[0]
    assert failed.state is RunState.FAILED and failed.error is not None
    assert "raise ValueError" in failed.error.traceback and "loopline/engine" not in failed.error.traceback
    assert client.runs(name="combine")[0].state is RunState.CANCELLED


def test_a_nested_failure_fails_its_parents(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    @loopline.func
    def outer(x: int) -> int:
        return boom(x)

    future = outer(1)
    with pytest.raises(PipelineRunError, match="boom"):
        runner.run(future)
    assert client.run(future.id).state is RunState.FAILED
    assert client.run(future.id).error.type == "NestedRunFailed"  # type: ignore[union-attr]


def test_retries_with_backoff_until_success(home) -> None:  # type: ignore[no-untyped-def]
    ATTEMPTS.clear()
    future = flaky(2)
    assert manual_runner(home).run(future) == 3
    assert loopline.Client(home).run(future.id).attempts == 3


def test_retries_give_up_after_the_configured_number(home) -> None:  # type: ignore[no-untyped-def]
    ATTEMPTS.clear()
    with pytest.raises(PipelineRunError, match="attempt 4"):
        manual_runner(home).run(flaky(10))
    assert len(ATTEMPTS) == 4


def test_exceptions_not_listed_are_not_retried(home) -> None:  # type: ignore[no-untyped-def]
    @loopline.func(retry=loopline.RetrySettings(exceptions=(Flaky,), retries=3))
    def other() -> int:
        ATTEMPTS.append(1)
        raise KeyError("nope")

    ATTEMPTS.clear()
    with pytest.raises(PipelineRunError):
        manual_runner(home).run(other())
    assert len(ATTEMPTS) == 1


def test_backoff_grows_and_is_capped() -> None:
    retry = loopline.RetrySettings(retries=10, backoff_s=1, backoff_factor=2, max_backoff_s=5)
    assert [retry.delay_s(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]


RELEASE = threading.Event()


@loopline.func(standalone=True, timeout_mins=1)
def hangs_in_a_process() -> int:
    time.sleep(3600)
    return 0


@loopline.func(timeout_mins=1)
def hangs_in_a_thread() -> int:
    RELEASE.wait(60)
    return 0


def test_a_process_step_past_its_timeout_is_killed(home) -> None:  # type: ignore[no-untyped-def]
    future = hangs_in_a_process()
    with pytest.raises(PipelineRunError, match="timeout_mins=1") as caught:
        manual_runner(home).run(future)
    assert isinstance(caught.value.__cause__, StepTimeoutError)
    assert loopline.Client(home).run(future.id).state is RunState.FAILED


def test_a_thread_step_past_its_timeout_is_abandoned(home) -> None:  # type: ignore[no-untyped-def]
    RELEASE.clear()
    future = hangs_in_a_thread()
    try:
        with pytest.raises(PipelineRunError, match="abandoned"):
            manual_runner(home).run(future)
        record = loopline.Client(home).run(future.id)
        assert record.state is RunState.ABANDONED and "cannot be stopped" in record.error.message  # type: ignore[union-attr]
    finally:
        RELEASE.set()


def test_an_unstorable_output_fails_the_step_clearly(runner: loopline.LocalRunner) -> None:
    @loopline.func
    def lock() -> object:
        return threading.Lock()

    with pytest.raises(PipelineRunError, match="not picklable"):
        runner.run(lock())


def test_a_wrong_output_type_fails_the_step(runner: loopline.LocalRunner) -> None:
    @loopline.func
    def liar() -> int:
        return "three"  # type: ignore[return-value]

    with pytest.raises(
        PipelineRunError, match=r"liar\(\) returned 'three' \(str\), but its return annotation says int"
    ):
        runner.run(liar())


@loopline.func(standalone=True, retry=loopline.RetrySettings(exceptions=(Flaky,), retries=1))
def dies_once(marker: str) -> int:
    import os
    import pathlib
    import signal

    path = pathlib.Path(marker)
    if not path.exists():
        path.write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)
    return 42


def test_a_killed_worker_is_retried_by_the_steps_retry_settings(home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    future = dies_once(str(tmp_path / "marker"))
    assert manual_runner(home).run(future) == 42
    assert loopline.Client(home).run(future.id).attempts == 2


def test_a_killed_worker_without_retries_fails_clearly(runner: loopline.LocalRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        PipelineRunError,
        match=r"WorkerCrashedError: the worker process \(pid \d+\) running dies_once\(\) died",
    ):
        runner.run(dies_once(str(tmp_path / "marker")).set(retry=loopline.RetrySettings(retries=0)))


def test_max_parallelism_limits_concurrent_steps(home) -> None:  # type: ignore[no-untyped-def]
    active: list[int] = []
    peak: list[int] = []
    lock = threading.Lock()

    @loopline.func
    def tracked(i: int) -> int:
        with lock:
            active.append(i)
            peak.append(len(active))
        time.sleep(0.01)
        with lock:
            active.remove(i)
        return i

    @loopline.func
    def many() -> list[int]:
        return [tracked(i) for i in range(12)]  # type: ignore[misc]

    loopline.LocalRunner(home=home, max_parallelism=2, echo=False).run(many())
    assert max(peak) <= 2


def test_an_error_raised_by_loopline_itself_has_no_empty_traceback() -> None:
    from loopline.engine.execution import error_info
    from loopline.errors import UsageError

    try:
        raise UsageError("the output of f() is not an int")
    except UsageError as error:
        error.__traceback__ = None  # as when every frame is Loopline's own
        info = error_info(error)
    assert info.traceback == "loopline.errors.UsageError: the output of f() is not an int\n"
