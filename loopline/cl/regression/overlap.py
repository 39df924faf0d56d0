"""Golden/training overlap: a golden example that is also a training example (by id, or by
equal features under another id) makes the regression test measure memory, not skill."""

from __future__ import annotations

import dataclasses
from typing import Literal

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.store.errors import DatasetOverlapError

OnOverlap = Literal["refuse", "report"]


@dataclasses.dataclass(frozen=True)
class Overlap:
    golden: str
    training: str
    by_id: tuple[str, ...]  # ids present in both
    by_content: tuple[tuple[str, str], ...]  # (golden id, training id): same features, other id

    @property
    def golden_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.by_id, *(g for g, _ in self.by_content)]))

    def __bool__(self) -> bool:
        return bool(self.by_id or self.by_content)

    def __str__(self) -> str:
        parts = []
        if self.by_id:
            parts.append(f"{len(self.by_id)} by id (e.g. {', '.join(self.by_id[:3])})")
        if self.by_content:
            shown = ", ".join(f"{g}={t}" for g, t in self.by_content[:3])
            parts.append(f"{len(self.by_content)} by content (e.g. golden={shown})")
        return f"{self.golden} shares examples with {self.training}: " + ("; ".join(parts) or "none")


def find_overlap(golden: Dataset, training: Dataset) -> Overlap:
    """Examples of `golden` that `training` also holds, by id and by content (features)."""
    import numpy as np

    by_id = np.intersect1d(golden.ids, training.ids)
    same_id = set(by_id.tolist())
    training_by_print = dict(zip(training.fingerprints().tolist(), training.ids.tolist()))
    by_content = [
        (golden_id, training_by_print[fingerprint])
        for golden_id, fingerprint in zip(golden.ids.tolist(), golden.fingerprints().tolist())
        if fingerprint in training_by_print and golden_id not in same_id
    ]
    return Overlap(golden.ref, training.ref, tuple(by_id.tolist()), tuple(by_content))


def check_overlap(golden: Dataset, training: Dataset, on_overlap: OnOverlap = "refuse") -> Overlap:
    """The overlap; with "refuse", DatasetOverlapError when there is any."""
    found = find_overlap(golden, training)
    if found and on_overlap == "refuse":
        raise DatasetOverlapError(
            f"{found}. A golden example seen in training cannot show a regression. Remove them from "
            "the training data (ids: find_overlap(golden, training).golden_ids), or pass "
            "overlap='report' to test anyway and list them in the report"
        )
    return found
