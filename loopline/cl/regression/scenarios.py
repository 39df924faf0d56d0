"""`Scenario`: a named slice of the golden dataset with must-pass criteria.

    Scenario("digit 3", labels=[3], at_least={"recall[3]": 0.9})
    Scenario("hard examples", tag="hard", all_correct=True)
    Scenario("dark images", where=lambda d: d.metadata["brightness"] < 0.2, no_regression="accuracy")

Slices: `where` (a function of the Dataset returning a boolean mask or positions), `tag`,
`ids`, `labels`; given together, an example must match all of them; none selects everything.

Criteria: `at_least` / `at_most` thresholds on metrics; `no_regression` against the baseline
(default: accuracy), decided by `rule`:
- "paired" (default): a paired test on the same golden examples, sample-size aware, for every
  metric: accuracy by McNemar's exact test on the examples that flipped, any other metric (F1,
  AUROC, MAE, your own...) by a paired bootstrap of the slice's examples (`regression_test`'s
  resamples and seed, recorded in the report). A metric regresses only when the test says the
  candidate is worse with significance `alpha` and the drop exceeds `tolerance`;
- "bootstrap": the paired bootstrap for accuracy too;
- "tolerance": a raw tolerance, no test: a metric regresses when it moves the wrong way by more
  than `tolerance` (one example of a small slice can then block a change);
- "mcnemar": the name "paired" had before (accuracy by McNemar); the same rule.
`all_correct=True` makes every example of the slice a must-pass example. A scenario with
`must_pass=False` is reported but does not block. A scenario must check something: one with no
criterion at all is refused.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from loopline.cl.datasets.dataset import Dataset

RULES = ("paired", "bootstrap", "tolerance", "mcnemar")


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    where: Callable[[Dataset], Any] | None = None
    tag: str | None = None
    ids: Sequence[str] | None = None
    labels: Sequence[Any] | None = None
    at_least: Mapping[str, float] = dataclasses.field(default_factory=dict)
    at_most: Mapping[str, float] = dataclasses.field(default_factory=dict)
    no_regression: str | Sequence[str] = ("accuracy",)
    tolerance: float = 0.0
    rule: Literal["paired", "bootstrap", "tolerance", "mcnemar"] = "paired"
    alpha: float = 0.05
    all_correct: bool = False
    must_pass: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(f"name must be a non-empty string, got {self.name!r}")
        if self.where is not None and not callable(self.where):
            problems.append("where must be a function of the dataset returning a boolean mask")
        if self.rule not in RULES:
            problems.append(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if not 0 < self.alpha < 1:
            problems.append(f"alpha must be between 0 and 1, got {self.alpha!r}")
        if (
            not isinstance(self.tolerance, (int, float))
            or not math.isfinite(self.tolerance)
            or self.tolerance < 0
        ):
            problems.append(f"tolerance must be a number >= 0 (a drop allowed), got {self.tolerance!r}")
        for field, example in (("ids", "ids=['g0', 'g7']"), ("labels", "labels=[3]")):
            value = getattr(self, field)
            if value is not None and (isinstance(value, str) or not isinstance(value, Iterable)):
                problems.append(f"{field} takes a list, e.g. {example}, got {value!r}")
        for field in ("at_least", "at_most"):
            value = getattr(self, field)
            if not isinstance(value, Mapping) or not all(
                isinstance(v, (int, float)) and math.isfinite(v) for v in value.values()
            ):
                problems.append(f"{field} must map metric names to finite numbers, e.g. {{'accuracy': 0.9}}")
        regressions = (
            (self.no_regression,) if isinstance(self.no_regression, str) else tuple(self.no_regression)
        )
        if not (self.at_least or self.at_most or regressions or self.all_correct) and not problems:
            problems.append(
                "it checks nothing: give no_regression (the default: accuracy), at_least, at_most "
                "or all_correct=True"
            )
        if problems:
            raise UsageError(f"Scenario({self.name!r}): " + "; ".join(problems))
        object.__setattr__(self, "at_least", {k: float(v) for k, v in self.at_least.items()})
        object.__setattr__(self, "at_most", {k: float(v) for k, v in self.at_most.items()})
        object.__setattr__(self, "no_regression", regressions)
        if self.ids is not None:
            object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        if self.labels is not None:
            object.__setattr__(self, "labels", tuple(self.labels))

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the criteria refer to, in order, once."""
        names = [*self.at_least, *self.at_most, *self.no_regression]
        return tuple(dict.fromkeys(names))

    @property
    def relative(self) -> tuple[str, ...]:
        return tuple(self.no_regression)

    def select(self, golden: Dataset) -> NDArray[np.intp]:
        """The positions of this scenario's examples in `golden`."""
        import numpy as np

        mask = np.ones(len(golden), dtype=bool)
        if self.where is not None:
            try:
                chosen = np.asarray(self.where(golden))
            except Exception as exc:
                raise UsageError(
                    f"Scenario({self.name!r}).where failed: {type(exc).__name__}: {exc}"
                ) from exc
            if chosen.dtype == bool:
                if chosen.shape != (len(golden),):
                    raise UsageError(
                        f"Scenario({self.name!r}).where returned a mask of shape {chosen.shape}; "
                        f"{golden.ref} has {len(golden)} examples"
                    )
                mask &= chosen
            else:
                picked = np.zeros(len(golden), dtype=bool)
                picked[chosen.astype(np.intp)] = True
                mask &= picked
        if self.tag is not None:
            mask &= golden.tagged(self.tag)
        if self.ids is not None:
            picked = np.zeros(len(golden), dtype=bool)
            picked[golden.positions(self.ids)] = True
            mask &= picked
        if self.labels is not None:
            if golden.labels is None:
                raise UsageError(f"Scenario({self.name!r}) selects by labels, but {golden.ref} has no labels")
            mask &= np.isin(golden.labels, np.asarray(self.labels))
        return np.flatnonzero(mask)

    def describe(self) -> str:
        """What the slice is, in words (the report shows it next to the name)."""
        if self.description:
            return self.description
        parts = []
        if self.where is not None:
            parts.append(f"where {getattr(self.where, '__name__', 'a predicate')}")
        if self.tag is not None:
            parts.append(f"tagged {self.tag!r}")
        if self.ids is not None:
            parts.append(f"{len(self.ids)} listed examples")
        if self.labels is not None:
            parts.append(f"label in {list(self.labels)}")
        return ", ".join(parts) or "every example"
