"""`InferenceTable`: inference records and their feedback as columns, what miners read.

    table = InferenceTable.load(InferenceQuery(model="digits", model_version=3), workspace=ws)
    table.scores            # (n, classes) float array (NaN rows where none were logged)
    table.flagged           # feedback, one entry per record
    table.inputs()          # the inputs, loaded from their batch artifacts, in table order

Columns are numpy arrays, one entry per record, so miners are vectorised. A table can also be
built straight from arrays (benchmarks, or records kept elsewhere).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets import examples
from loopline.cl.datasets.dataset import Dataset
from loopline.cl.store.records import Feedback, InferenceQuery, InferenceRecord
from loopline.cl.store.workspace import resolve
from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from loopline.cl.store.workspace import Workspace


@dataclasses.dataclass(frozen=True, eq=False)
class InferenceTable:
    """Inference records as columns (`request_ids[i]`, `predictions[i]`, ...) with feedback:
    `flagged` (a human said wrong), `corrections` (the label a human gave, else None),
    `confirmed` (a human said right) and `heuristic` (the highest heuristic score, 0 if none)."""

    request_ids: NDArray[np.str_]
    predictions: NDArray[Any]
    confidence: NDArray[np.float64]  # NaN where none was logged
    scores: NDArray[np.float64] | None = None  # (n, classes), NaN rows where none were logged
    model_versions: NDArray[np.int64] | None = None
    batch_ids: NDArray[np.str_] | None = None
    flagged: NDArray[np.bool_] | None = None
    corrections: NDArray[np.object_] | None = None
    confirmed: NDArray[np.bool_] | None = None
    heuristic: NDArray[np.float64] | None = None
    display: str = ""
    workspace: Workspace | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        import numpy as np

        n = len(self.request_ids)
        defaults = {
            "flagged": np.zeros(n, dtype=bool),
            "corrections": np.full(n, None, dtype=object),
            "confirmed": np.zeros(n, dtype=bool),
            "heuristic": np.zeros(n),
        }
        for name, default in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if hasattr(value, "shape") and value.shape[0] != n:
                raise UsageError(f"InferenceTable({field.name}=...) needs one entry per record ({n})")

    def __len__(self) -> int:
        return len(self.request_ids)

    def __repr__(self) -> str:
        return f"<InferenceTable {len(self)} records>"

    @property
    def has_feedback(self) -> NDArray[np.bool_]:
        assert self.flagged is not None and self.confirmed is not None and self.heuristic is not None
        corrected = self.corrections != None  # noqa: E711 - elementwise
        return self.flagged | self.confirmed | corrected | (self.heuristic > 0)

    def select(self, which: Any) -> InferenceTable:
        """The records at these positions or under this boolean mask."""
        import numpy as np

        chosen = np.asarray(which)
        positions = np.flatnonzero(chosen) if chosen.dtype == bool else chosen.astype(np.intp)
        changes = {
            f.name: getattr(self, f.name)[positions]
            for f in dataclasses.fields(self)
            if hasattr(getattr(self, f.name), "shape")
        }
        return dataclasses.replace(self, **changes)

    def inputs(self) -> Any:
        """The inputs of the records, in table order (an array when every batch holds arrays of
        one shape, else a list), loaded from their batch artifacts."""
        import numpy as np

        if self.batch_ids is None or self.workspace is None:
            raise UsageError(
                "this InferenceTable was built without batch ids and a workspace: it has no inputs"
            )
        parts: list[Any] = []
        order: list[Any] = []
        for batch_id in dict.fromkeys(self.batch_ids.tolist()):
            here = np.flatnonzero(self.batch_ids == batch_id)
            batch = load_batch(batch_id, self.workspace)
            parts.append(_take(batch.features, batch.positions(self.request_ids[here].tolist())))
            order.append(here)
        if not parts:
            return np.zeros((0,))
        where = np.argsort(np.concatenate(order), kind="stable")
        if all(hasattr(p, "shape") for p in parts) and len({p.shape[1:] for p in parts}) == 1:
            return np.concatenate(parts)[where]
        flat = [item for part in parts for item in (list(part) if not hasattr(part, "shape") else part)]
        return [flat[i] for i in where.tolist()]

    # -- building ----------------------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Sequence[InferenceRecord],
        feedback: Sequence[Feedback] = (),
        *,
        workspace: Workspace | None = None,
    ) -> InferenceTable:
        import numpy as np

        n = len(records)
        width = max((len(r.scores) for r in records if r.scores is not None), default=0)
        scores = None
        if width:
            scores = np.full((n, width), np.nan)
            for i, record in enumerate(records):
                if record.scores is not None and len(record.scores) == width:
                    scores[i] = record.scores
        displays = {r.display for r in records}
        predictions = np.empty(n, dtype=object)
        predictions[:] = [r.prediction for r in records]
        table = cls(
            request_ids=np.array([r.request_id for r in records], dtype=str),
            predictions=_narrowed(predictions),
            confidence=np.array(
                [np.nan if r.confidence is None else r.confidence for r in records], dtype=float
            ),
            scores=scores,
            model_versions=np.array([r.model_version for r in records], dtype=np.int64),
            batch_ids=np.array([r.batch_id for r in records], dtype=str),
            display=displays.pop() if len(displays) == 1 else "",
            workspace=workspace,
        )
        return table.with_feedback(feedback)

    def with_feedback(self, feedback: Sequence[Feedback]) -> InferenceTable:
        """This table with `feedback` folded into its feedback columns (feedback on request ids
        that are not in the table is ignored)."""
        import numpy as np

        if not feedback:
            return self
        assert self.flagged is not None and self.confirmed is not None and self.heuristic is not None
        assert self.corrections is not None
        ids = np.array([f.request_id for f in feedback], dtype=str)
        kinds = np.array([f.kind for f in feedback], dtype=str)
        order = np.argsort(self.request_ids, kind="stable")
        at = np.searchsorted(self.request_ids, ids, sorter=order)
        at = np.minimum(at, len(order) - 1) if len(order) else at
        known = (self.request_ids[order[at]] == ids) if len(order) else np.zeros(len(ids), dtype=bool)
        rows = order[at[known]] if len(order) else np.zeros(0, dtype=np.intp)
        kinds = kinds[known]
        kept = [f for f, ok in zip(feedback, known.tolist(), strict=True) if ok]
        flagged, confirmed = self.flagged.copy(), self.confirmed.copy()
        heuristic, corrections = self.heuristic.copy(), self.corrections.copy()
        flagged[rows[kinds == "flag"]] = True
        confirmed[rows[kinds == "confirmation"]] = True
        is_heuristic = kinds == "heuristic"
        scores = np.array([f.score or 0.0 for f in kept], dtype=float)
        np.maximum.at(heuristic, rows[is_heuristic], scores[is_heuristic])
        for row, item in zip(rows.tolist(), kept, strict=True):  # corrections: latest wins
            if item.kind == "correction":
                corrections[row] = item.label
        return dataclasses.replace(
            self, flagged=flagged, confirmed=confirmed, heuristic=heuristic, corrections=corrections
        )

    @classmethod
    def load(
        cls, query: InferenceQuery = InferenceQuery(), *, workspace: Workspace | None = None
    ) -> InferenceTable:
        """The records matching `query` (oldest first) with their feedback."""

        ws = resolve(workspace)
        records = ws.store.list_inferences(query, limit=None)[::-1]
        feedback = ws.store.list_feedback(request_ids=[r.request_id for r in records], limit=None)[::-1]
        return cls.from_records(records, feedback, workspace=ws)


def load_batch(batch_id: str, workspace: Workspace) -> Dataset:
    """The batch artifact holding logged inputs (a Dataset whose ids are the request ids)."""

    value = workspace.get(batch_id)
    if not isinstance(value, Dataset):
        raise UsageError(f"artifact {batch_id} is not a batch of logged inputs")
    return value


def load_input(record: InferenceRecord, *, workspace: Workspace | None = None) -> Any:
    """The input of one logged inference, as it was logged."""

    return load_batch(record.batch_id, resolve(workspace)).example(record.request_id)["features"]


def _take(values: Any, positions: NDArray[np.intp]) -> Any:
    return examples.take(values, positions)


def _narrowed(values: NDArray[np.object_]) -> NDArray[Any]:
    """Predictions as a plain array when they are all numbers (or all strings)."""
    import numpy as np

    kinds = {type(v) for v in values.tolist()}
    if kinds and kinds <= {int, bool}:
        return values.astype(np.int64)
    if kinds and kinds <= {int, float}:
        return values.astype(np.float64)
    if kinds == {str}:
        return values.astype(str)
    return values
