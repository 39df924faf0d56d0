"""The run state machine: which state may follow which, written once for every runner."""

from __future__ import annotations

from typing import Any

from loopline.core.records import RunRecord, RunState, utcnow

S = RunState

ALLOWED: dict[RunState, frozenset[RunState]] = {
    S.CREATED: frozenset({S.READY, S.CACHED, S.FAILED, S.CANCELLED}),
    S.READY: frozenset({S.RUNNING, S.CACHED, S.FAILED, S.CANCELLED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.WAITING, S.FAILED, S.RETRYING, S.CANCELLED, S.ABANDONED}),
    S.RETRYING: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.WAITING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.CACHED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.ABANDONED: frozenset(),
    S.ORPHANED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A bug in a runner: it tried a move the state machine does not allow."""


def transition(run: RunRecord, to: RunState, **changes: Any) -> RunRecord:
    """`run` moved to state `to`, stamping start and end times; raises on an illegal move."""
    if to not in ALLOWED[run.state]:
        raise IllegalTransition(
            f"run {run.id} ({run.function}) cannot go from {run.state.value} to {to.value}"
        )
    now = utcnow()
    if to is S.RUNNING and run.started_at is None:
        changes.setdefault("started_at", now)
    if to.is_terminal:
        changes.setdefault("ended_at", now)
        if run.started_at is None and to is S.CACHED:
            changes.setdefault("started_at", now)
    return run.replace(state=to, **changes)
