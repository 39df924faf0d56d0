"""`RegressionReport`: what a regression test found, scenario by scenario.

A report is a plain value (stored as an artifact when a func returns it): for each scenario the
candidate's and the baseline's metrics with confidence intervals, every check with the rule
that decided it and why, and the examples that flipped. `passed` is the verdict: every
must-pass scenario passed. A scenario passes only when something was checked: one whose every
criterion was skipped (no baseline to compare with) is undecided, and fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.regression.bootstrap import Bootstrap
from loopline.cl.regression.predictors import ModelInfo
from loopline.cl.regression.stats import Interval
from loopline.cl.regression.tasks import Task
from loopline.cl.store.records import ReportEntry
from loopline.cl.store.workspace import resolve
from loopline.core import html
from loopline.core.hashing import digest_chunks
from loopline.core.serialization import encode
from loopline.errors import LooplineError, UsageError

if TYPE_CHECKING:
    from loopline.cl.store.workspace import Workspace

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
    def decided(self) -> bool:
        """Whether anything was checked: a non-empty slice and at least one check not skipped."""
        return self.size > 0 and any(c.passed is not None for c in self.checks)

    @property
    def reason(self) -> str:
        """Why it failed (every failing check, an empty slice, nothing checked), or why it passed."""
        if self.size == 0:
            return f"selected no examples of the golden set ({self.description}): an empty slice fails"
        failing = [c.reason for c in self.checks if c.passed is False]
        if failing:
            return "; ".join(failing)
        decided = [c.reason for c in self.checks if c.passed]
        if decided:
            return "; ".join(decided)
        skipped = "; ".join(c.reason for c in self.checks) or "the scenario has no criteria"
        return (
            f"nothing was checked ({skipped}), and a gate that checks nothing fails: give a baseline, "
            "or an absolute criterion such as at_least={'accuracy': 0.9}"
        )


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
    task: Task | None = None  # classification (with its classes) or regression, and why
    bootstrap: Bootstrap = dataclasses.field(default_factory=Bootstrap)  # how it resampled: repeatable

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.scenarios if s.must_pass)

    @property
    def undecided(self) -> tuple[ScenarioResult, ...]:
        """The must-pass scenarios that failed because nothing could be checked."""
        return tuple(s for s in self.failures if s.size > 0 and not s.decided)

    @property
    def verdict(self) -> str:
        """ "pass"; "regression" when a must-pass scenario failed a check (or selected nothing);
        "undecided" when the only failures are scenarios where nothing could be checked."""
        if self.passed:
            return "pass"
        return "undecided" if len(self.undecided) == len(self.failures) else "regression"

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

    def __repr__(self) -> str:
        return (
            f"<RegressionReport {self.name!r}: {self.verdict.upper()}, {len(self.failures)} of "
            f"{len(self.scenarios)} scenarios failed; {self.candidate.label} vs {describe(self.baseline)} "
            f"on {self.golden}>"
        )

    def _repr_html_(self) -> str:
        """In Jupyter: the verdict, the scenario table (pass/fail, metrics with their confidence
        intervals, flips) and the examples that flipped, as pictures when they are images."""
        verdict = html.badge("PASS" if self.passed else "REGRESSION", "ok" if self.passed else "bad")
        facts = [
            ("candidate", self.candidate.label),
            ("baseline", describe(self.baseline)),
            ("golden", f"{self.golden} ({self.golden_size} examples)"),
            ("created", self.created_at.strftime("%Y-%m-%d %H:%M")),
        ]
        rows = [
            (
                _mark(s),
                s.name,
                s.size,
                _with_interval(s.candidate.get("accuracy"), s.candidate_interval),
                _with_interval(
                    None if s.baseline is None else s.baseline.get("accuracy"), s.baseline_interval
                ),
                s.right_to_wrong_count,
                s.wrong_to_right_count,
                "" if s.passed else _cut(s.reason, 140),
            )
            for s in self.scenarios
        ]
        table = html.table(["", "scenario", "n", "candidate", "baseline", "R→W", "W→R", "why"], rows)
        notes = "".join(f'<div style="color:#666">note: {html.escape(note)}</div>' for note in self.notes)
        body = html.Markup(table + self._flips_html() + notes)
        title = html.Markup(f"{html.escape(self.name)} {verdict}")
        return html.card(title, facts, body, link=self._dashboard_path())

    def _flips_html(self, limit: int = 24) -> str:
        flips = self.flipped()
        if not flips:
            return ""
        examples = self.examples
        display = examples.display if examples is not None else ""
        known = set(examples.ids.tolist()) if examples is not None else set()
        items = []
        for flip in flips[:limit]:
            picture = None
            if examples is not None and flip.id in known:
                picture = html.thumbnail(examples.example(flip.id)["features"], display)
            caption = f"{flip.id}: {html.render(flip.baseline)} → {html.render(flip.candidate)}"
            items.append((picture or html.Markup(""), caption))
        title = '<div style="margin-top:4px;font-weight:600">flipped right → wrong (was → now)</div>'
        return title + html.gallery(items, total=len(flips))

    def _dashboard_path(self) -> str:
        """The report's page, by its artifact id (computed only when a dashboard is known)."""
        if html.dashboard_url() is None:
            return ""
        try:
            report_id = digest_chunks(encode(self).chunks())
        except LooplineError:
            return ""
        return html.dashboard_path("reports", report_id)

    def save(
        self, *, run_id: str | None = None, commit: str | None = None, workspace: Workspace | None = None
    ) -> str:
        """Store the report and index it (reports page, promotion evidence); returns its id."""
        return record_report(self, run_id=run_id, commit=commit, workspace=workspace)


def _mark(result: ScenarioResult) -> html.Markup:
    if result.passed:
        return html.badge("pass", "ok")
    return html.badge("FAIL", "bad") if result.must_pass else html.badge("info", "warn")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _with_interval(value: float | None, interval: Interval | None) -> str:
    return fmt(value) if interval is None or value is None else f"{fmt(value)} {interval}"


def describe(model: ModelInfo | None) -> str:
    return "no baseline" if model is None else model.label


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}"


def model_name(report: RegressionReport) -> str | None:
    """The registered model a report is about (the candidate's, else the baseline's)."""
    for info in (report.candidate, report.baseline):
        if info is not None and info.ref is not None:
            return info.ref.partition("@")[0]
    return None


def record_report(
    report: RegressionReport,
    *,
    run_id: str | None = None,
    commit: str | None = None,
    workspace: Workspace | None = None,
) -> str:
    """Store `report` (if it is not stored yet) and index it; returns its artifact id."""

    ws = resolve(workspace)
    report_id = ws.put(report).id
    ws.store.save_report(
        ReportEntry(
            id=report_id,
            created_at=report.created_at,
            name=report.name,
            candidate=report.candidate.label,
            baseline=None if report.baseline is None else report.baseline.label,
            golden=report.golden,
            passed=report.passed,
            scenarios=len(report.scenarios),
            failed=len(report.failures),
            model=model_name(report),
            run_id=run_id,
            commit=commit,
        )
    )
    return report_id


def load_report(report_id: str, *, workspace: Workspace | None = None) -> RegressionReport:
    """A stored report by its artifact id."""

    value: Any = resolve(workspace).get(report_id)
    if not isinstance(value, RegressionReport):
        raise UsageError(f"artifact {report_id} is a {type(value).__qualname__}, not a RegressionReport")
    return value
