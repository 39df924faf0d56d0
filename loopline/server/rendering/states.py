"""How the dashboard names a run's state: a run whose body returned futures is still at work (its
nested runs are), so "waiting" reads as running; every other state reads as itself."""

from __future__ import annotations

SHOWN = {"waiting": "running"}
STOPPED = frozenset({"cancelled", "abandoned"})  # stopped from outside: neutral, not a failure


def shown_state(state: str) -> str:
    return SHOWN.get(state, state)


def stopped(state: str) -> bool:
    return state in STOPPED
