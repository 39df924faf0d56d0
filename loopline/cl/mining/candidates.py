"""`Candidates`: examples a miner thinks are worth labeling, with a score and a reason each;
`mine`: run several miners, merge what they found, keep golden and known examples out (by id
and by input content), cap by a budget.

    found = mine(table, [miners.feedback, miners.low_confidence], budget=40, exclude=golden)
    for candidate in found:           # highest score first
        print(candidate.id, candidate.score, candidate.reason)

Columns are numpy arrays, so merging and capping a million candidates is a few sorts.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from loopline.cl.datasets import examples
from loopline.cl.datasets.dataset import Dataset
from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from loopline.cl.production.table import InferenceTable

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
    """Candidates as columns. Each comes from a source: "inferences" (its id is a request id)
    or a dataset version such as "digits-train@3" (its id is an example id of it, a suspected
    label error); one set of candidates may hold both. `fingerprints`, when known, are digests
    of the candidates' inputs (equal inputs, equal digests)."""

    ids: NDArray[np.str_]
    scores: NDArray[np.float64]
    reasons: NDArray[np.object_]
    miners: NDArray[np.object_]
    suggestions: NDArray[np.object_]
    sources: NDArray[np.object_]
    fingerprints: NDArray[np.str_] | None = None

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
            column(source, "source"),
        )

    @classmethod
    def empty(cls, source: str = INFERENCES) -> Candidates:
        return cls.of("", [], [], [], source=source)

    @property
    def source(self) -> str:
        """The one source of these candidates (UsageError when they come from several: see
        `by_source`)."""
        found = list(dict.fromkeys(self.sources.tolist()))
        if len(found) > 1:
            raise UsageError(
                f"these candidates come from several sources ({', '.join(found)}): take them one "
                "source at a time with by_source()"
            )
        return found[0] if found else INFERENCES

    def by_source(self) -> dict[str, Candidates]:
        """The candidates of each source, in the order the sources first appear."""
        return {
            source: self.select(self.sources == source) for source in dict.fromkeys(self.sources.tolist())
        }

    @property
    def keys(self) -> NDArray[np.str_]:
        """Each candidate's key in a labeling queue: its request id, or "dataset:example-id"."""
        import numpy as np

        logged = self.sources == INFERENCES
        if logged.all():  # the usual case, vectorised
            return self.ids
        keys = self.ids.astype(object)
        keys[~logged] = [
            f"{str(source).partition('@')[0]}:{i}"
            for i, source in zip(self.ids[~logged].tolist(), self.sources[~logged].tolist(), strict=True)
        ]
        return np.asarray(keys, dtype=str).reshape(-1)

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
        return (
            f"<Candidates {len(self)} from {', '.join(dict.fromkeys(self.sources.tolist())) or INFERENCES}>"
        )

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
            sources=self.sources[at],
            fingerprints=None if self.fingerprints is None else self.fingerprints[at],
        )

    def with_fingerprints(self, fingerprints: Any) -> Candidates:
        """These candidates with the digests of their inputs."""
        import numpy as np

        found = np.asarray(fingerprints, dtype=str).reshape(-1)
        if len(found) != len(self):
            raise UsageError(f"Candidates.with_fingerprints needs one digest per candidate ({len(self)})")
        return dataclasses.replace(self, fingerprints=found)

    def ranked(self) -> Candidates:
        """Highest score first (ties: by source, then id, so the order is reproducible)."""
        import numpy as np

        return self.select(np.lexsort((self.ids, self.sources.astype(str), -self.scores)))

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
        tied = tied[np.lexsort((self.ids[tied], self.sources[tied].astype(str)))][: budget - len(above)]
        return self.select(np.concatenate([above, tied])).ranked()

    def without(self, ids: Collection[str] | Any) -> Candidates:
        """These candidates minus the ones with these ids."""
        import numpy as np

        unwanted = np.asarray(list(ids) if not hasattr(ids, "shape") else ids, dtype=str)
        return self.select(~np.isin(self.ids, unwanted)) if len(unwanted) else self

    def without_keys(self, keys: Collection[str] | Any) -> Candidates:
        """These candidates minus the ones whose queue key is one of these (queued already)."""
        import numpy as np

        unwanted = np.asarray(list(keys) if not hasattr(keys, "shape") else keys, dtype=str)
        return self.select(~np.isin(self.keys, unwanted)) if len(unwanted) else self

    @classmethod
    def combine(cls, *found: Candidates) -> Candidates:
        """One candidate per (source, id): the highest-scored finding, its reason naming the
        other miners that found it too."""
        import numpy as np

        found = tuple(f for f in found if len(f))
        if not found:
            return cls.empty()
        every = cls(
            np.concatenate([f.ids for f in found]),
            np.concatenate([f.scores for f in found]),
            np.concatenate([f.reasons for f in found]),
            np.concatenate([f.miners for f in found]),
            np.concatenate([f.suggestions for f in found]),
            np.concatenate([f.sources for f in found]),
            None
            if any(f.fingerprints is None for f in found)
            else np.concatenate([f.fingerprints for f in found if f.fingerprints is not None]),
        )
        keys = every.keys
        best = every.select(np.lexsort((-every.scores, keys)))
        _, first = np.unique(keys[np.lexsort((-every.scores, keys))], return_index=True)
        merged = best.select(first)
        if len(found) > 1:
            reasons = merged.reasons.copy()
            merged_keys = merged.keys
            for other in found:
                name = other.miners[0]
                also = np.isin(merged_keys, other.keys) & (merged.miners != name)
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
    skip_fingerprints: Collection[str] = (),
    training: Dataset | None = None,
    train: Callable[[Dataset], Any] | None = None,
) -> Candidates:
    """Run `miners` (or one miner) over `table` and keep the `budget` best candidates:

    - one per request id (or dataset example), and one per input: requests whose inputs are
      equal (by content) are one candidate, the best-scored;
    - never a queue key in `skip` (queued already), nor an input whose fingerprint is in
      `skip_fingerprints` (queued already under another request id);
    - never a record a human confirmed;
    - never an example of the `exclude` datasets (golden sets, and the training data that is
      labeled already), by id or by identical input.

    A miner of the training data itself (`label_errors`, a `functools.partial` of it, or a
    function marked with `training_data_miner`) is called with `training` (the dataset) and
    `train` (the function fitting a model): its candidates are that dataset's examples, and they
    compete for the budget with the others."""
    import numpy as np

    if budget < 0:
        raise UsageError(f"mine(budget=...) cannot be negative, got {budget}")
    known = [exclude] if isinstance(exclude, (Dataset, str)) else list(exclude)
    for dataset in known:
        if not isinstance(dataset, Dataset):
            raise UsageError(
                "mine(exclude=...) takes Dataset values (e.g. Dataset.load('digits-golden@1')), "
                f"got {dataset!r}"
            )
    chosen = [miners] if callable(miners) or isinstance(miners, str) else list(miners)
    found = [_run(miner, table, training, train) for miner in chosen]
    assert table.confirmed is not None
    unwanted = np.concatenate([table.request_ids[table.confirmed], *(d.ids for d in known)]).astype(str)
    by_content = table.workspace is not None and table.batch_ids is not None
    unwanted_prints = np.asarray(
        [*skip_fingerprints, *(p for d in known for p in d.fingerprints().tolist())] if by_content else [],
        dtype=str,
    )
    order = np.argsort(table.request_ids, kind="stable") if by_content else None
    skip_keys = np.asarray(list(skip), dtype=str)
    # Only the best few of each miner can make the cut: merge their top `limit`, and look
    # further only when a miner was cut above the last candidate kept.
    limit = max(4 * budget, 1024)
    while True:
        parts = [f.top(limit) for f in found]
        merged = Candidates.combine(*parts).without_keys(skip_keys)
        logged = merged.sources == INFERENCES
        inferred = merged.select(logged)
        inferred = inferred.without(unwanted)
        if order is not None and len(inferred):
            inferred = _distinct_inputs(inferred, table, order, unwanted_prints)
        best = Candidates.combine(inferred, merged.select(~logged)).top(budget)
        cut = [len(f) > limit for f in found]
        if len(best) == budget:
            cut = [c and part.scores[-1] >= best.scores[-1] for c, part in zip(cut, parts, strict=True)]
        if not any(cut):
            return best
        limit *= 4


def _distinct_inputs(
    found: Candidates, table: InferenceTable, order: NDArray[np.intp], unwanted: NDArray[np.str_]
) -> Candidates:
    """The candidates whose input is not unwanted, one per input (the best-scored), with the
    fingerprints of their inputs."""
    import numpy as np

    rows = order[np.searchsorted(table.request_ids, found.ids, sorter=order)]
    prints = examples.fingerprints(table.select(rows).inputs())
    keep = ~np.isin(prints, unwanted)
    ranked = np.lexsort((found.ids, -found.scores))  # best first: the first of each input is kept
    _, first = np.unique(prints[ranked], return_index=True)
    once = np.zeros(len(found), dtype=bool)
    once[ranked[first]] = True
    return found.with_fingerprints(prints).select(keep & once)


F = TypeVar("F", bound=Callable[..., Any])
_MINES = "loopline_mines"


def training_data_miner(fn: F) -> F:
    """Mark `fn(dataset, *, train) -> Candidates` as a miner of the training data itself (as
    `label_errors`): `mine` and a loop call it with the training dataset and the function that
    fits a model, instead of the inference records."""
    fn.__dict__[_MINES] = "training data"
    return fn


def mines_training_data(miner: Any) -> bool:
    """Whether `miner` (or the function a `functools.partial` wraps) mines the training data."""
    inner = miner.func if isinstance(miner, functools.partial) else miner
    return getattr(inner, "__dict__", {}).get(_MINES) == "training data"


def _run(
    miner: Miner, table: InferenceTable, training: Dataset | None, train: Callable[[Dataset], Any] | None
) -> Candidates:
    if not callable(miner):
        raise UsageError(f"mine(miners=...) takes miner functions such as miners.feedback, got {miner!r}")
    name = getattr(miner, "__name__", getattr(getattr(miner, "func", None), "__name__", repr(miner)))
    if mines_training_data(miner):
        if training is None or train is None:
            raise UsageError(
                f"the miner {name} checks the training data: give mine(..., training=Dataset.load(...), "
                "train=fit), or use it inside a LoopSpec (which gives both)"
            )
        checker: Callable[..., Any] = miner
        found: Any = checker(training, train=train)
    else:
        found = miner(table)
    if not isinstance(found, Candidates):
        raise UsageError(f"the miner {name} returned {type(found).__qualname__}; a miner returns Candidates")
    return found
