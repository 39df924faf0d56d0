"""The vectorised core of `regression_test`: both models' outputs are computed once over the
whole golden set, then every scenario is a set of positions into those arrays."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.regression import metrics as m
from loopline.cl.regression.bootstrap import Bootstrap, paired_differences
from loopline.cl.regression.predictors import ModelOutputs
from loopline.cl.regression.report import Check, CheckKind, Flips, Rule, ScenarioResult, fmt
from loopline.cl.regression.scenarios import Scenario
from loopline.cl.regression.stats import mcnemar_exact, wilson_interval
from loopline.cl.regression.tasks import TaskKind
from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Correct = Callable[[Any, Any], Any]
_EPSILON = 1e-12


@dataclasses.dataclass(frozen=True)
class Outcomes:
    """One model's outputs with its right/wrong outcome per golden example."""

    outputs: ModelOutputs
    correct: NDArray[np.bool_] | None

    def slice(
        self, positions: NDArray[np.intp], labels: NDArray[Any], values: Mapping[str, Any]
    ) -> m.SliceData:
        out = self.outputs
        return m.SliceData(
            labels=labels[positions],
            predictions=out.predictions[positions],
            scores=None if out.scores is None else out.scores[positions],
            classes=out.classes,
            correct=None if self.correct is None else self.correct[positions],
            label_values=values,
        )


def outcomes(
    outputs: ModelOutputs, labels: NDArray[Any], correct: Correct | None, task: TaskKind
) -> Outcomes:
    """Right/wrong per example: by `correct(labels, predictions)` when given, by equality for a
    classification, undefined for a regression without `correct`."""
    import numpy as np

    if correct is not None:
        try:
            verdicts = np.asarray(correct(labels, outputs.predictions), dtype=bool)
        except Exception as exc:
            raise UsageError(f"regression_test(correct=...) failed: {type(exc).__name__}: {exc}") from exc
        if verdicts.shape != labels.shape:
            raise UsageError(
                f"regression_test(correct=...) must return one bool per example, got shape {verdicts.shape}"
            )
        return Outcomes(outputs, verdicts)
    if task == "regression":
        return Outcomes(outputs, None)  # continuous targets: right/wrong needs `correct=`
    return Outcomes(outputs, np.asarray(outputs.predictions == labels, dtype=bool))


@dataclasses.dataclass(frozen=True)
class Context:
    golden: Dataset
    labels: NDArray[Any]
    label_values: Mapping[str, Any]
    candidate: Outcomes
    baseline: Outcomes | None
    baseline_note: str  # why relative criteria are skipped, when there is no baseline
    user_metrics: Mapping[str, m.Metric]
    confidence: float
    max_flips: int
    bootstrap: Bootstrap


def evaluate(scenario: Scenario, ctx: Context) -> ScenarioResult:
    import numpy as np

    positions = scenario.select(ctx.golden)
    size = len(positions)
    if size == 0:
        return _empty(scenario, ctx)
    names = _metric_names(scenario, ctx)
    cand = ctx.candidate.slice(positions, ctx.labels, ctx.label_values)
    cand_values = {name: m.compute(name, cand, ctx.user_metrics) for name in names}
    base_values = None
    base = None
    if ctx.baseline is not None:
        base = ctx.baseline.slice(positions, ctx.labels, ctx.label_values)
        base_values = {name: m.compute(name, base, ctx.user_metrics) for name in names}
    right_to_wrong = wrong_to_right = Flips()
    if base is not None and cand.correct is not None and base.correct is not None:
        right_to_wrong = _flips(base.correct & ~cand.correct, positions, cand, base, ctx)
        wrong_to_right = _flips(~base.correct & cand.correct, positions, cand, base, ctx)
    checks: list[Check] = []
    for metric, threshold in scenario.at_least.items():
        checks.append(_threshold("at_least", metric, cand_values[metric], threshold))
    for metric, threshold in scenario.at_most.items():
        checks.append(_threshold("at_most", metric, cand_values[metric], threshold))
    for metric in scenario.relative:
        if base is None or base_values is None:
            checks.append(Check("no_regression", metric, None, "skipped", f"{metric}: {ctx.baseline_note}"))
        elif scenario.rule == "tolerance":
            checks.append(_tolerance(scenario, metric, cand_values[metric], base_values[metric], ctx))
        elif metric == "accuracy" and scenario.rule != "bootstrap" and cand.correct is not None:
            checks.append(
                _mcnemar(
                    scenario,
                    cand_values[metric],
                    base_values[metric],
                    right_to_wrong.total,
                    wrong_to_right.total,
                )
            )
        else:
            checks.append(
                _bootstrap(scenario, metric, cand, base, cand_values[metric], base_values[metric], ctx)
            )
    wrong: tuple[str, ...] = ()
    if scenario.all_correct:
        check, wrong = _all_correct(cand, positions, ctx)
        checks.append(check)
    passed = all(c.passed is not False for c in checks) and any(c.passed is not None for c in checks)
    cand_ok = 0 if cand.correct is None else int(np.count_nonzero(cand.correct))
    base_ok = None if base is None or base.correct is None else int(np.count_nonzero(base.correct))
    return ScenarioResult(
        name=scenario.name,
        description=scenario.describe(),
        must_pass=scenario.must_pass,
        size=size,
        passed=passed,
        checks=tuple(checks),
        candidate=cand_values,
        baseline=base_values,
        candidate_interval=None if cand.correct is None else wilson_interval(cand_ok, size, ctx.confidence),
        baseline_interval=None if base_ok is None else wilson_interval(base_ok, size, ctx.confidence),
        right_to_wrong=right_to_wrong,
        wrong_to_right=wrong_to_right,
        wrong=wrong,
    )


def _empty(scenario: Scenario, ctx: Context) -> ScenarioResult:
    """The result of a slice that selects nothing: a failure, with nothing measured or compared
    (its `reason` says so)."""
    undefined = dict.fromkeys(_metric_names(scenario, ctx), math.nan)
    return ScenarioResult(
        name=scenario.name,
        description=scenario.describe(),
        must_pass=scenario.must_pass,
        size=0,
        passed=False,
        checks=(),
        candidate=undefined,
        baseline=None if ctx.baseline is None else dict(undefined),
        candidate_interval=None,
        baseline_interval=None,
        right_to_wrong=Flips(),
        wrong_to_right=Flips(),
    )


def _metric_names(scenario: Scenario, ctx: Context) -> list[str]:
    names = ["accuracy"] if ctx.candidate.correct is not None else []
    names += [*scenario.metrics, *ctx.user_metrics]
    return list(dict.fromkeys(names))


def _flips(
    which: NDArray[np.bool_], positions: NDArray[np.intp], cand: m.SliceData, base: m.SliceData, ctx: Context
) -> Flips:
    import numpy as np

    every = np.flatnonzero(which)
    chosen = every[: ctx.max_flips]
    return Flips(
        ids=tuple(ctx.golden.ids[positions[chosen]].tolist()),
        labels=tuple(cand.labels[chosen].tolist()),
        candidate=tuple(cand.predictions[chosen].tolist()),
        baseline=tuple(base.predictions[chosen].tolist()),
        total=len(every),
    )


def _points(metric: str, delta: float) -> str:
    if metric == "accuracy" or m.PER_CLASS.match(metric) or metric in ("macro_f1", "auroc"):
        return f"{delta * 100:+.1f} pts"
    return f"{delta:+.3g}"


def _threshold(kind: CheckKind, metric: str, value: float, threshold: float) -> Check:
    word = "at least" if kind == "at_least" else "at most"
    if math.isnan(value):
        return Check(
            kind,
            metric,
            False,
            "threshold",
            f"{metric} is undefined on this slice (e.g. a class absent from it), so it cannot be {word} {threshold:g}",
            value,
            None,
            threshold,
        )
    ok = bool(value >= threshold - _EPSILON if kind == "at_least" else value <= threshold + _EPSILON)
    relation = "meets" if ok else "misses"
    return Check(
        kind,
        metric,
        ok,
        "threshold",
        f"{metric} {fmt(value)} {relation} the threshold ({word} {threshold:g})",
        value,
        None,
        threshold,
    )


def _mcnemar(scenario: Scenario, cand: float, base: float, worse: int, better: int) -> Check:
    p = mcnemar_exact(worse, better)
    drop = base - cand
    significant = p < scenario.alpha
    regressed = bool(significant and drop > scenario.tolerance + _EPSILON)
    flips = f"{worse} right→wrong vs {better} wrong→right"
    test = f"McNemar exact p={p:.3g} {'<' if significant else '≥'} alpha={scenario.alpha:g}"
    summary = (
        f"accuracy {fmt(cand)} vs baseline {fmt(base)} ({_points('accuracy', cand - base)}); {flips}; {test}"
    )
    if regressed:
        verdict = "significantly worse: regression"
    elif significant:
        verdict = f"significant, but the drop is within the tolerance of {scenario.tolerance * 100:g} pts"
    else:
        verdict = "no significant regression"
    return Check(
        "no_regression", "accuracy", not regressed, "mcnemar", f"{summary}: {verdict}", cand, base, None, p
    )


def _bootstrap(
    scenario: Scenario,
    metric: str,
    cand: m.SliceData,
    base: m.SliceData,
    cand_value: float,
    base_value: float,
    ctx: Context,
) -> Check:
    """Paired bootstrap: both models on the same resamples of the slice's examples. p is the
    share of resamples (plus one) where the candidate is within the tolerance of the baseline:
    small when nearly every resample says the candidate is worse."""
    import numpy as np

    if math.isnan(cand_value) or math.isnan(base_value):
        return _undefined(scenario, metric, cand_value, base_value, "bootstrap")
    sign = 1.0 if m.higher_is_better(metric, ctx.user_metrics) else -1.0
    gains = sign * paired_differences(metric, cand, base, ctx.user_metrics, ctx.bootstrap)
    counted = int(np.count_nonzero(~np.isnan(gains)))
    if counted == 0:
        return _undefined(scenario, metric, cand_value, base_value, "bootstrap")
    within = int(np.count_nonzero(gains >= -(scenario.tolerance + _EPSILON)))
    p = (within + 1) / (counted + 1)
    significant = p < scenario.alpha
    regressed = bool(significant and sign * (cand_value - base_value) < -(scenario.tolerance + _EPSILON))
    change = _points(metric, cand_value - base_value)
    test = f"p={p:.3g} {'<' if significant else '≥'} alpha={scenario.alpha:g}"
    summary = (
        f"{metric} {fmt(cand_value)} vs baseline {fmt(base_value)} ({change}); "
        f"paired bootstrap over {counted} resamples (seed {ctx.bootstrap.seed}): {test}"
    )
    if regressed:
        verdict = "significantly worse: regression"
    elif significant:
        verdict = "significant, but within the tolerance"
    else:
        verdict = f"no significant regression beyond the tolerance of {scenario.tolerance:g}"
    return Check(
        "no_regression",
        metric,
        not regressed,
        "bootstrap",
        f"{summary}: {verdict}",
        cand_value,
        base_value,
        scenario.tolerance,
        p,
    )


def _undefined(scenario: Scenario, metric: str, cand: float, base: float, rule: Rule) -> Check:
    """A metric with no value on the slice (a class absent from it, a NaN from a metric of your
    own) cannot show that nothing regressed: the check fails."""
    which = [name for name, value in (("candidate", cand), ("baseline", base)) if math.isnan(value)]
    return Check(
        "no_regression",
        metric,
        False,
        rule,
        f"{metric} is undefined for the {' and the '.join(which) or 'resampled slice'} on this slice "
        f"({fmt(cand)} vs {fmt(base)}), so no regression can be ruled out: fails closed (slice "
        f"{scenario.describe()}; compare a metric the slice defines)",
        cand,
        base,
    )


def _tolerance(scenario: Scenario, metric: str, cand: float, base: float, ctx: Context) -> Check:
    if math.isnan(cand) or math.isnan(base):
        return _undefined(scenario, metric, cand, base, "tolerance")
    higher = m.higher_is_better(metric, ctx.user_metrics)
    gain = (cand - base) if higher else (base - cand)
    regressed = bool(gain < -(scenario.tolerance + _EPSILON))
    direction = "higher" if higher else "lower"
    limit = f"tolerance {scenario.tolerance:g}"
    why = "dropped beyond the" if regressed else "within the" if gain < 0 else "no worse than the baseline;"
    reason = (
        f"{metric} {fmt(cand)} vs baseline {fmt(base)} ({_points(metric, cand - base)}, {direction} is better): "
        f"{why} {limit} (raw tolerance, no test of noise)"
    )
    return Check("no_regression", metric, not regressed, "tolerance", reason, cand, base, scenario.tolerance)


def _all_correct(
    cand: m.SliceData, positions: NDArray[np.intp], ctx: Context
) -> tuple[Check, tuple[str, ...]]:
    import numpy as np

    if cand.correct is None:
        raise UsageError(
            "all_correct needs right/wrong outcomes: pass regression_test(correct=...) for continuous labels"
        )
    wrong = tuple(ctx.golden.ids[positions[np.flatnonzero(~cand.correct)]].tolist())
    if not wrong:
        return Check(
            "all_correct", "accuracy", True, "all_correct", f"all {len(positions)} must-pass examples right"
        ), wrong
    shown = ", ".join(wrong[:10]) + (f" and {len(wrong) - 10} more" if len(wrong) > 10 else "")
    reason = f"{len(wrong)} of {len(positions)} must-pass examples wrong: {shown}"
    return Check("all_correct", "accuracy", False, "all_correct", reason), wrong


def display_examples(
    golden: Dataset, results: Sequence[ScenarioResult], ctx: Context, limit: int = 1000
) -> Dataset | None:
    """The golden examples a reader wants to see: flipped ones and failing must-pass ones."""
    import numpy as np

    ids: dict[str, None] = {}
    for result in results:
        for example_id in (*result.right_to_wrong.ids, *result.wrong_to_right.ids):
            ids.setdefault(example_id)
        for example_id in result.wrong:
            ids.setdefault(example_id)
    if not ids:
        return None
    positions = golden.positions(list(ids)[:limit])
    columns: dict[str, Any] = {"candidate_prediction": ctx.candidate.outputs.predictions[positions]}
    if ctx.baseline is not None:
        columns["baseline_prediction"] = ctx.baseline.outputs.predictions[positions]
    return golden.select(positions).with_metadata(**{k: np.asarray(v) for k, v in columns.items()})
