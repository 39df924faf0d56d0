"""How the dashboard names a run's state: a run whose body returned futures is still at work (its
nested runs are), so "waiting" reads as running; every other state reads as itself."""

from __future__ import annotations

import collections
from collections.abc import Mapping

SHOWN = {"waiting": "running"}
STOPPED = frozenset({"cancelled", "abandoned"})  # stopped from outside: neutral, not a failure


SETTLED = frozenset({"succeeded", "cached"})  # finished as asked: nothing to look at
# What needs a look first: failures, then work in progress, then what stopped or finished.
URGENCY = (
    "failed",
    "running",
    "retrying",
    "waiting",
    "ready",
    "created",
    "orphaned",
    "cancelled",
    "abandoned",
    "succeeded",
    "cached",
)


def urgency(state: str) -> int:
    return URGENCY.index(state) if state in URGENCY else len(URGENCY)


def shown_counts(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Counts of runs by the state the dashboard shows, the most urgent state first."""
    merged: collections.Counter[str] = collections.Counter()
    for state, count in counts.items():
        merged[shown_state(state)] += count
    return sorted(merged.items(), key=lambda item: (urgency(item[0]), -item[1]))


def shown_state(state: str) -> str:
    return SHOWN.get(state, state)


def stopped(state: str) -> bool:
    return state in STOPPED
