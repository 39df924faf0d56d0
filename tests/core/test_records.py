from __future__ import annotations

import datetime as dt

import pytest

from loopline.core.records import TERMINAL_STATES, LogChunk, RunRecord, RunState, WriteBatch

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def run(**changes: object) -> RunRecord:
    record = RunRecord(
        id="r", root_id="r", parent_id=None, function="m.f", name="f", state=RunState.RUNNING, created_at=T0
    )
    return record.replace(**changes)


@pytest.mark.parametrize("state", list(RunState))
def test_a_state_is_terminal_exactly_when_listed(state: RunState) -> None:
    assert state.is_terminal == (state in TERMINAL_STATES)


def test_only_succeeded_and_cached_are_successes() -> None:
    assert {s for s in RunState if s.is_success} == {RunState.SUCCEEDED, RunState.CACHED}


def test_states_are_their_string_values() -> None:
    assert RunState("cached") is RunState.CACHED and RunState.CACHED == "cached"


def test_duration_is_end_minus_start() -> None:
    assert run(started_at=T0, ended_at=T0 + dt.timedelta(seconds=90)).duration_s == 90.0


def test_a_run_that_never_started_has_no_duration() -> None:
    assert run().duration_s is None


def test_replace_returns_a_new_record() -> None:
    original = run()
    assert original.replace(name="g").name == "g" and original.name == "f"


def test_an_empty_batch_is_falsy() -> None:
    assert not WriteBatch()
    assert WriteBatch(logs=[LogChunk("r", "stdout", "hi", T0)])
