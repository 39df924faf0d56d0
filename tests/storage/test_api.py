"""Sematic's API client functions (`loopline.api_client`, `loopline.client`) over a real store."""

from __future__ import annotations

import uuid

import pytest

import loopline
from loopline import api_client
from loopline.client import block_on_run, get_artifact_value, get_run_output
from loopline.core.records import RunRecord, RunState, WriteBatch, utcnow
from loopline.errors import RunNotSucceededError, UsageError, WaitTimeoutError


@loopline.func
def double(x: int) -> int:
    return 2 * x


@loopline.func
def fails() -> int:
    raise ValueError("no")


@pytest.fixture
def succeeded(runner: loopline.LocalRunner) -> str:
    future = double(21)
    runner.run(future)
    return future.id  # type: ignore[attr-defined, no-any-return]


def test_the_output_and_artifacts_of_a_run_are_read_by_id(succeeded: str, client: loopline.Client) -> None:
    assert get_run_output(succeeded, client=client) == 42
    output_id = api_client.get_run(succeeded, client=client).output_id
    assert output_id is not None and get_artifact_value(output_id, client=client) == 42


def test_runs_are_filtered_by_sematic_column_names(succeeded: str, client: loopline.Client) -> None:
    assert [
        r.id for r in api_client.get_runs(function_path=client.run(succeeded).function, client=client)
    ] == [succeeded]
    assert api_client.get_runs(future_state="failed", client=client) == []
    assert [r.id for r in api_client.get_runs(id=succeeded, client=client)] == [succeeded]
    with pytest.raises(UsageError, match="cannot filter on 'colour'"):
        api_client.get_runs(colour="red", client=client)


def test_blocking_on_a_run_that_succeeded_returns(succeeded: str, client: loopline.Client) -> None:
    assert block_on_run(succeeded, polling_interval_seconds=0, client=client) is None


def test_blocking_on_a_failed_run_raises(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    future = fails()
    with pytest.raises(loopline.PipelineRunError):
        runner.run(future)
    with pytest.raises(RunNotSucceededError, match="ended failed"):
        block_on_run(future.id, polling_interval_seconds=0, client=client)  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="only a run that succeeded has an output"):
        get_run_output(future.id, client=client)  # type: ignore[attr-defined]


def test_a_wait_that_times_out_can_cancel_the_pipeline(client: loopline.Client) -> None:
    run_id = uuid.uuid4().hex
    client.metadata.write(
        WriteBatch(runs=[RunRecord(run_id, run_id, None, "m.f", "f", RunState.RUNNING, utcnow())])
    )
    with pytest.raises(WaitTimeoutError, match="did not end within 0 s"):
        block_on_run(
            run_id, polling_interval_seconds=0, max_wait_seconds=0, cancel_on_exit=True, client=client
        )
    assert client.run(run_id).cancel_requested
