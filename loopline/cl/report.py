"""`RegressionReport`: what a regression test found, scenario by scenario.

A report is a plain value (stored as an artifact when a func returns it): for each scenario the
candidate's and the baseline's metrics with confidence intervals, every check with the rule
that decided it and why, and the examples that flipped. `passed` is the verdict: every
must-pass scenario passed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

from loopline.cl.datasets import Dataset
from loopline.cl.predictors import ModelInfo
from loopline.cl.stats import Interval
from loopline.errors import UsageError

if TYPE_CHECKING:
    from loopline.cl.workspace import Workspace

CheckKind = Literal["at_least", "at_most", "no_regression", "all_correct"]
Rule = Literal["threshold", "tolerance", "mcnemar", "bootstrap", "all_correct", "skipped"]


@dataclasses.dataclass(frozen=True)
class Check:
    """One criterion of a scenario: `passed` is None when it was skipped (no baseline)."""

    kind: CheckKind
    metric: str
    passed: bool | None
    rule: Rule
    reason: str
    candidate: float | None = None
    baseline: float | None = None
    threshold: float | None = None
    p_value: float | None = None


class Flip(NamedTuple):
    """A golden example whose outcome differs between the models."""

    id: str
    label: Any
    candidate: Any  # the candidate's prediction
    baseline: Any  # the baseline's prediction


@dataclasses.dataclass(frozen=True)
class Flips:
    """The examples that flipped one way, stored as columns (compact, quick to check and
    store) and read as `Flip` records: `for flip in flips`, `flips[0].id`, `flips[:10]`.
    Capped at `regression_test(max_flips=...)`; `total` counts them all."""

    ids: tuple[str, ...] = ()
    labels: tuple[Any, ...] = ()
    candidate: tuple[Any, ...] = ()
    baseline: tuple[Any, ...] = ()
    total: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Flip]:
        return map(Flip._make, zip(self.ids, self.labels, self.candidate, self.baseline))

    @overload
    def __getitem__(self, index: int) -> Flip: ...

    @overload
    def __getitem__(self, index: slice) -> list[Flip]: ...

    def __getitem__(self, index: int | slice) -> Flip | list[Flip]:
        if isinstance(index, slice):
            return list(self)[index]
        return Flip(self.ids[index], self.labels[index], self.candidate[index], self.baseline[index])


@dataclasses.dataclass(frozen=True)
class ScenarioResult:
    name: str
    description: str
    must_pass: bool
    size: int
    passed: bool
    checks: tuple[Check, ...]
    candidate: dict[str, float]
    baseline: dict[str, float] | None
    candidate_interval: Interval | None  # Wilson interval of the accuracy
    baseline_interval: Interval | None
    right_to_wrong: Flips  # right for the baseline, wrong for the candidate
    wrong_to_right: Flips
    wrong: tuple[str, ...] = ()  # ids the candidate got wrong, for `all_correct` scenarios
    notes: tuple[str, ...] = ()

    @property
    def right_to_wrong_count(self) -> int:
        return self.right_to_wrong.total

    @property
    def wrong_to_right_count(self) -> int:
        return self.wrong_to_right.total

    @property
    def reason(self) -> str:
        """Why it failed (every failing check, or an empty slice), or why it passed."""
        if self.size == 0:
            return f"selected no examples of the golden set ({self.description}): an empty slice fails"
        failing = [c.reason for c in self.checks if c.passed is False]
        if failing:
            return "; ".join(failing)
        decided = [c.reason for c in self.checks if c.passed]
        return "; ".join(decided) if decided else "no criteria decided (all skipped)"


@dataclasses.dataclass(frozen=True)
class RegressionReport:
    """The outcome of `regression_test`: per-scenario results and the overall verdict."""

    name: str
    created_at: dt.datetime
    golden: str  # "name@version" of the golden dataset
    golden_size: int
    candidate: ModelInfo
    baseline: ModelInfo | None
    scenarios: tuple[ScenarioResult, ...]
    notes: tuple[str, ...] = ()
    overlap: tuple[str, ...] = ()  # golden ids also in the training data (overlap="report")
    examples: Dataset | None = None  # the flipped and failing golden examples, for display

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.scenarios if s.must_pass)

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "regression"

    @property
    def failures(self) -> tuple[ScenarioResult, ...]:
        """The must-pass scenarios that failed."""
        return tuple(s for s in self.scenarios if s.must_pass and not s.passed)

    def scenario(self, name: str) -> ScenarioResult:
        for result in self.scenarios:
            if result.name == name:
                return result
        names = ", ".join(s.name for s in self.scenarios)
        raise UsageError(f"report {self.name!r} has no scenario {name!r}; its scenarios: {names}")

    def flipped(self, scenario: str | None = None) -> tuple[Flip, ...]:
        """Examples right for the baseline and wrong for the candidate (in one scenario, or in
        any), each once."""
        results = [self.scenario(scenario)] if scenario is not None else list(self.scenarios)
        seen: dict[str, Flip] = {}
        for result in results:
            for flip in result.right_to_wrong:
                seen.setdefault(flip.id, flip)
        return tuple(seen.values())

    def summary(self) -> str:
        """A plain-text table of the verdict (what `print(report)` shows)."""
        lines = [
            f"{self.name}: {self.verdict.upper()} — {self.candidate.label} vs {describe(self.baseline)} on {self.golden}"
        ]
        for result in self.scenarios:
            mark = "PASS" if result.passed else ("FAIL" if result.must_pass else "fail (informational)")
            lines.append(f"  {mark:<5} {result.name} (n={result.size}): {result.reason}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def save(
        self, *, run_id: str | None = None, commit: str | None = None, workspace: Workspace | None = None
    ) -> str:
        """Store the report and index it (reports page, promotion evidence); returns its id."""
        from loopline.cl.reports import record_report

        return record_report(self, run_id=run_id, commit=commit, workspace=workspace)


def describe(model: ModelInfo | None) -> str:
    return "no baseline" if model is None else model.label


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}"
