"""Cancelling a pipeline from elsewhere (`loopline cancel`, the dashboard) stops it."""

from __future__ import annotations

import threading
import time

import pytest

import loopline
from loopline import RunState
from loopline.errors import PipelineRunError, StepCancelledError

STARTED = threading.Event()
RELEASE = threading.Event()


@loopline.func(standalone=True)
def long_process_step(marker: str) -> int:
    import pathlib

    pathlib.Path(marker).write_text("started")
    time.sleep(3600)
    return 0


@loopline.func
def long_thread_step() -> int:
    STARTED.set()
    RELEASE.wait(60)
    return 0


def cancel_when(condition: object, client: loopline.Client, run_id: str) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
            time.sleep(0.02)
        client.cancel(run_id)  # the root run is recorded before any step starts

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_cancel_kills_a_running_process_step(
    runner: loopline.LocalRunner, client: loopline.Client, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "started"
    future = long_process_step(str(marker))
    cancel_when(marker.exists, client, future.id)
    with pytest.raises(PipelineRunError, match="cancelled") as caught:
        runner.run(future)
    assert isinstance(caught.value.__cause__, StepCancelledError)
    assert client.run(future.id).state is RunState.CANCELLED


def test_cancel_abandons_a_thread_step_and_says_so(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    STARTED.clear()
    RELEASE.clear()
    future = long_thread_step()
    cancel_when(STARTED.is_set, client, future.id)
    try:
        with pytest.raises(PipelineRunError, match="cancelled"):
            runner.run(future)
        record = client.run(future.id)
        assert record.state is RunState.ABANDONED and "abandoned" in record.error.message  # type: ignore[union-attr]
    finally:
        RELEASE.set()


def test_cancelling_a_nested_run_cancels_its_pipeline(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    @loopline.func
    def outer() -> int:
        return long_thread_step()

    STARTED.clear()
    RELEASE.clear()
    future = outer()

    def nested_id() -> str:
        STARTED.wait(60)
        for _ in range(500):
            children = [r for r in client.runs(name="long_thread_step") if r.root_id == future.id]
            if children:
                return children[0].id
            time.sleep(0.02)
        raise AssertionError("nested run never recorded")

    threading.Thread(target=lambda: client.cancel(nested_id()), daemon=True).start()
    try:
        with pytest.raises(PipelineRunError, match="cancelled"):
            runner.run(future)
        assert client.run(future.id).state is RunState.CANCELLED
    finally:
        RELEASE.set()
