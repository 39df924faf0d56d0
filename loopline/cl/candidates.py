"""`Candidates`: examples a miner thinks are worth labeling, with a score and a reason each;
`mine`: run several miners, merge what they found, keep golden examples out, cap by a budget.

    found = mine(table, [miners.feedback, miners.low_confidence], budget=40, exclude=golden)
    for candidate in found:           # highest score first
        print(candidate.id, candidate.score, candidate.reason)

Columns are numpy arrays, so merging and capping a million candidates is a few sorts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from loopline.cl.datasets import Dataset
    from loopline.cl.inference_table import InferenceTable

INFERENCES = "inferences"


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One candidate: its id (a request id, or a dataset example id), score, reason, miner and
    the label to suggest to labelers (the model's prediction, or a user's correction)."""

    id: str
    score: float
    reason: str
    miner: str
    suggestion: Any = None


@dataclasses.dataclass(frozen=True, eq=False)
class Candidates:
    """Candidates as columns, from `source`: "inferences" (ids are request ids) or a dataset
    version such as "digits-train@3" (ids are its example ids)."""

    ids: NDArray[np.str_]
    scores: NDArray[np.float64]
    reasons: NDArray[np.object_]
    miners: NDArray[np.object_]
    suggestions: NDArray[np.object_]
    source: str = INFERENCES

    @classmethod
    def of(
        cls,
        miner: str,
        ids: Any,
        scores: Any,
        reasons: Any,
        suggestions: Any = None,
        *,
        source: str = INFERENCES,
    ) -> Candidates:
        """Candidates found by `miner`; `reasons` is one text per candidate (or one for all)."""
        import numpy as np

        id_array = np.asarray(ids, dtype=str).reshape(-1)
        n = len(id_array)

        def column(values: Any, what: str) -> NDArray[np.object_]:
            out = np.empty(n, dtype=object)
            if values is None or isinstance(values, str):
                out[:] = [values] * n
                return out
            array = np.asarray(values, dtype=object)
            if array.shape != (n,):
                raise UsageError(f"Candidates.of({what}=...) needs one entry per candidate ({n})")
            out[:] = array
            return out

        score_array = np.asarray(scores, dtype=float).reshape(-1)
        if len(score_array) != n:
            raise UsageError(f"Candidates.of(scores=...) needs one score per candidate ({n})")
        if not np.isfinite(score_array).all():
            raise UsageError(f"the miner {miner} gave scores that are not finite numbers (NaN or infinite)")
        return cls(
            id_array,
            score_array,
            column(reasons, "reasons"),
            column(miner, "miner"),
            column(suggestions, "suggestions"),
            source,
        )

    @classmethod
    def empty(cls, source: str = INFERENCES) -> Candidates:
        return cls.of("", [], [], [], source=source)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Candidate]:
        rows = zip(
            self.ids.tolist(),
            self.scores.tolist(),
            self.reasons.tolist(),
            self.miners.tolist(),
            self.suggestions.tolist(),
            strict=True,
        )
        return (Candidate(*row) for row in rows)

    def __repr__(self) -> str:
        return f"<Candidates {len(self)} from {self.source}>"

    def select(self, positions: Any) -> Candidates:
        import numpy as np

        at: Any = positions
        if not isinstance(positions, slice):
            at = np.asarray(positions)
            at = np.flatnonzero(at) if at.dtype == bool else at.astype(np.intp)
        return dataclasses.replace(
            self,
            ids=self.ids[at],
            scores=self.scores[at],
            reasons=self.reasons[at],
            miners=self.miners[at],
            suggestions=self.suggestions[at],
        )

    def ranked(self) -> Candidates:
        """Highest score first (ties: by id, so the order is reproducible)."""
        import numpy as np

        return self.select(np.lexsort((self.ids, -self.scores)))

    def top(self, budget: int) -> Candidates:
        """The `budget` highest-scored candidates, highest first (ties: by id). Linear in the
        number of candidates: only the chosen ones are sorted."""
        import numpy as np

        if budget < 0:
            raise UsageError(f"a budget cannot be negative, got {budget}")
        n = len(self)
        if budget >= n:
            return self.ranked()
        if budget == 0:
            return self.select(slice(0, 0))
        kth = np.partition(self.scores, n - budget)[n - budget]  # the budget-th highest score
        above = np.flatnonzero(self.scores > kth)
        tied = np.flatnonzero(self.scores == kth)
        tied = tied[np.argsort(self.ids[tied], kind="stable")][: budget - len(above)]
        return self.select(np.concatenate([above, tied])).ranked()

    def without(self, ids: Collection[str] | Any) -> Candidates:
        """These candidates minus the ones with these ids."""
        import numpy as np

        unwanted = np.asarray(list(ids) if not hasattr(ids, "shape") else ids, dtype=str)
        return self.select(~np.isin(self.ids, unwanted)) if len(unwanted) else self

    @classmethod
    def combine(cls, *found: Candidates) -> Candidates:
        """One candidate per id: the highest-scored finding, its reason naming the other miners
        that found it too."""
        import numpy as np

        found = tuple(f for f in found if len(f))
        if not found:
            return cls.empty()
        sources = {f.source for f in found}
        if len(sources) > 1:
            raise UsageError(
                f"cannot combine candidates from different sources: {', '.join(sorted(sources))}"
            )
        every = cls(
            np.concatenate([f.ids for f in found]),
            np.concatenate([f.scores for f in found]),
            np.concatenate([f.reasons for f in found]),
            np.concatenate([f.miners for f in found]),
            np.concatenate([f.suggestions for f in found]),
            found[0].source,
        )
        best = every.select(np.lexsort((-every.scores, every.ids)))
        _, first = np.unique(best.ids, return_index=True)
        merged = best.select(first)
        if len(found) > 1:
            reasons = merged.reasons.copy()
            for other in found:
                name = other.miners[0]
                also = np.isin(merged.ids, other.ids) & (merged.miners != name)
                reasons[also] = [f"{r}; also {name}" for r in reasons[also].tolist()]
            merged = dataclasses.replace(merged, reasons=reasons)
        return merged.ranked()


Miner = Callable[["InferenceTable"], Candidates]


def mine(
    table: InferenceTable,
    miners: Miner | Sequence[Miner],
    *,
    budget: int,
    exclude: Dataset | Sequence[Dataset] = (),
    skip: Collection[str] = (),
) -> Candidates:
    """Run `miners` (or one miner) over `table` and keep the `budget` best candidates,
    de-duplicated, never a request id in `skip` (e.g. queued already), never a record a human
    confirmed, and never an example of the `exclude` datasets (golden sets), by id or by
    identical input."""
    import numpy as np

    from loopline.cl import examples
    from loopline.cl.datasets import Dataset

    if budget < 0:
        raise UsageError(f"mine(budget=...) cannot be negative, got {budget}")
    golden = [exclude] if isinstance(exclude, (Dataset, str)) else list(exclude)
    for dataset in golden:
        if not isinstance(dataset, Dataset):
            raise UsageError(
                "mine(exclude=...) takes Dataset values (e.g. Dataset.load('digits-golden@1')), "
                f"got {dataset!r}"
            )
    chosen = [miners] if callable(miners) or isinstance(miners, str) else list(miners)
    found = [_run(miner, table) for miner in chosen]
    assert table.confirmed is not None
    unwanted = np.concatenate(
        [np.asarray(list(skip), dtype=str), table.request_ids[table.confirmed], *(d.ids for d in golden)]
    )
    by_content = bool(golden) and table.workspace is not None and table.batch_ids is not None
    fingerprints = np.concatenate([d.fingerprints() for d in golden]) if by_content else None
    order = np.argsort(table.request_ids, kind="stable") if by_content else None
    # Only the best few of each miner can make the cut: merge their top `limit`, and look
    # further only when a miner was cut above the last candidate kept.
    limit = max(4 * budget, 1024)
    while True:
        parts = [f.top(limit) for f in found]
        merged = Candidates.combine(*parts).without(unwanted)
        if fingerprints is not None and order is not None and len(merged):
            rows = order[np.searchsorted(table.request_ids, merged.ids, sorter=order)]
            inputs = table.select(rows).inputs()
            merged = merged.select(~np.isin(examples.fingerprints(inputs), fingerprints))
        best = merged.top(budget)
        cut = [len(f) > limit for f in found]
        if len(best) == budget:
            cut = [c and part.scores[-1] >= best.scores[-1] for c, part in zip(cut, parts, strict=True)]
        if not any(cut):
            return best
        limit *= 4


def _run(miner: Miner, table: InferenceTable) -> Candidates:
    if not callable(miner):
        raise UsageError(f"mine(miners=...) takes miner functions such as miners.feedback, got {miner!r}")
    found = miner(table)
    if not isinstance(found, Candidates):
        name = getattr(miner, "__name__", repr(miner))
        raise UsageError(f"the miner {name} returned {type(found).__qualname__}; a miner returns Candidates")
    return found
