"""Record revisions: one counter per kind of record, bumped by every write of that kind.

A dashboard page that shows models (say) compares the `models` revision with the one it last saw
and reads its records again only when it moved: one tiny query a poll, however many records there
are. The counters only ever grow; their values mean nothing beyond "changed".
"""

from __future__ import annotations

import collections
import enum


class RecordKind(enum.StrEnum):
    DATASETS = "datasets"
    MODELS = "models"  # versions and alias moves
    REPORTS = "reports"
    SCHEDULES = "schedules"  # schedules and their slots
    INFERENCES = "inferences"  # inference records and feedback
    LABELING = "labeling"  # labeling tasks
    LOOPS = "loops"  # loop rounds


def parse_kinds(text: str) -> frozenset[RecordKind]:
    """`"models,reports"` as kinds; a clear error naming the unknown one."""
    kinds = set()
    for word in filter(None, (w.strip() for w in text.split(","))):
        try:
            kinds.add(RecordKind(word))
        except ValueError:
            known = ", ".join(k.value for k in RecordKind)
            raise ValueError(f"{word!r} is not a kind of record (one of: {known})") from None
    return frozenset(kinds)


class RevisionCounter:
    """The memory stores' revisions (bumped under the store's own lock)."""

    def __init__(self) -> None:
        self._counts: collections.Counter[str] = collections.Counter()

    def bump(self, kind: RecordKind) -> None:
        self._counts[kind.value] += 1

    def snapshot(self) -> dict[str, int]:
        return dict(self._counts)
