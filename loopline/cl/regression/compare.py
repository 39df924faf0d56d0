"""`regression_test`: compare a candidate model with a baseline on the golden dataset's scenarios.

    report = loopline.regression_test(
        candidate, golden, scenarios, baseline="digits@production", training=train
    )
    if not report.passed:
        print(report.failures)

The model arguments accept an object with `predict`, a function of the features, precomputed
`Predictions` or a registered model ("digits@production"). The result is a `RegressionReport`;
returned from a func it is stored as an artifact, and `loopline ci` gathers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.registry import versions as registry
from loopline.cl.regression import evaluation, tasks
from loopline.cl.regression import metrics as m
from loopline.cl.regression.bootstrap import Bootstrap
from loopline.cl.regression.overlap import OnOverlap, check_overlap
from loopline.cl.regression.predictors import model_outputs
from loopline.cl.regression.report import RegressionReport
from loopline.cl.regression.scenarios import Scenario
from loopline.cl.store.records import ModelVersion
from loopline.core.records import utcnow
from loopline.errors import UsageError

if TYPE_CHECKING:
    from loopline.cl.regression.metrics import Metric
    from loopline.cl.store.workspace import Workspace


def regression_test(
    candidate: Any,
    golden: Dataset,
    scenarios: Scenario | Sequence[Scenario] = (),
    baseline: Any = None,
    *,
    name: str = "regression test",
    metrics: Mapping[str, Callable[..., float] | Metric] | None = None,
    correct: Callable[[Any, Any], Any] | None = None,
    training: Dataset | None = None,
    overlap: OnOverlap = "refuse",
    confidence: float = 0.95,
    max_flips: int = 1000,
    task: tasks.DeclaredTask = "auto",
    classes: Sequence[Any] | None = None,
    resamples: int = 1000,
    seed: int = 0,
    workspace: Workspace | None = None,
) -> RegressionReport:
    """Test `candidate` against `baseline` on every scenario of `golden`.

    - `scenarios`: a list of them (or one); default, one scenario over every example with no
      regression in accuracy.
    - `baseline`: a model, its predictions, or a registered model such as "digits@production".
      None (or an alias that points nowhere yet) skips relative criteria, with a note.
    - `metrics`: your own metrics by name, usable in scenarios' criteria.
    - `correct(labels, predictions) -> bool array`: what counts as right (default: equality);
      needed for continuous labels.
    - `training`: the candidate's training data; golden examples found in it (by id or by
      content) are refused, or listed in the report with `overlap="report"`.
    - `confidence`: of the Wilson intervals; `max_flips`: flipped examples kept per scenario.
    - `task`: "classification" or "regression" (default: told by the labels and the candidate's
      predictions); `classes`: every class of a classification, when the golden labels lack some.
      A criterion that does not fit the task, a class name that is not a class, a model that
      leaves golden examples without a prediction or predicts values that are not classes:
      each is a UsageError here, never a silent pass.
    - `resamples`, `seed`: of the paired bootstrap (recorded in the report: the same inputs
      always give the same verdict).
    """

    if not isinstance(golden, Dataset):
        raise UsageError(
            f"regression_test(golden=...) must be a loopline.Dataset, got {type(golden).__qualname__}"
        )
    if golden.labels is None:
        raise UsageError(f"the golden dataset {golden.ref} has no labels to test against")
    if not len(golden):
        raise UsageError(f"the golden dataset {golden.ref} has no examples to test on")
    if overlap not in ("refuse", "report"):
        raise UsageError(f"regression_test(overlap=...) must be 'refuse' or 'report', got {overlap!r}")
    if not 0 < confidence < 1:
        raise UsageError(f"regression_test(confidence=...) must be between 0 and 1, got {confidence!r}")
    unlabeled = tasks.missing(golden.labels)
    if unlabeled.any():
        raise UsageError(
            f"{int(unlabeled.sum())} examples of the golden dataset {golden.ref} have no label (None or "
            f"NaN), e.g. {', '.join(golden.ids[unlabeled][:5].tolist())}: label them or leave them out"
        )
    resampling = Bootstrap(resamples, seed)
    chosen = _scenario_list(scenarios) or [Scenario("all examples")]
    user = m.as_metrics(metrics)
    for scenario in chosen:
        for metric in scenario.metrics:
            m.check_name(metric, user)
    need_scores = any(m.needs_scores(name, user) for s in chosen for name in s.metrics) or any(
        metric.needs_scores for metric in user.values()
    )
    notes: list[str] = []
    if golden.version is None:
        notes.append(
            f"the golden dataset {golden.ref} is not a saved version: save it so this test can be repeated"
        )
    overlap_ids: tuple[str, ...] = ()
    if training is not None:
        found = check_overlap(golden, training, overlap)
        if found:
            overlap_ids = found.golden_ids
            notes.append(str(found))
    _refuse_self_comparison(candidate, baseline, workspace)
    cand = model_outputs(candidate, golden, role="candidate", need_scores=need_scores, workspace=workspace)
    if cand is None:
        raise UsageError(f"the candidate {candidate!r} points at no model: register or promote one first")
    base = None
    baseline_note = "no baseline given: relative criteria skipped, absolute ones decide"
    if baseline is not None:
        base = model_outputs(baseline, golden, role="baseline", need_scores=need_scores, workspace=workspace)
        if base is None:
            baseline_note = (
                f"{baseline} points at no model yet: relative criteria skipped, absolute ones decide"
            )
    if base is None:
        notes.append(baseline_note)
    elif cand.info.artifact_id is not None and cand.info.artifact_id == base.info.artifact_id:
        notes.append(
            f"the candidate ({cand.info.label}) is the same model as the baseline ({base.info.label}), "
            "byte for byte: nothing can regress"
        )
    labels = golden.labels
    kind = tasks.infer_task(labels, cand.predictions, task, classes)
    tasks.check_criteria(chosen, kind, user, correct_given=correct is not None)
    for outputs, role in ((cand, "candidate"), (base, "baseline")):
        if outputs is not None:
            tasks.check_predictions(outputs, kind, role, golden)
    ctx = evaluation.Context(
        golden=golden,
        labels=labels,
        label_values={str(c): c for c in kind.classes},
        candidate=evaluation.outcomes(cand, labels, correct, kind.kind),
        baseline=None if base is None else evaluation.outcomes(base, labels, correct, kind.kind),
        baseline_note=baseline_note,
        user_metrics=user,
        confidence=confidence,
        max_flips=max_flips,
        bootstrap=resampling,
    )
    results = tuple(evaluation.evaluate(scenario, ctx) for scenario in chosen)
    return RegressionReport(
        name=name,
        created_at=utcnow(),
        golden=golden.ref,
        golden_size=len(golden),
        candidate=cand.info,
        baseline=None if base is None else base.info,
        scenarios=results,
        notes=tuple(notes),
        overlap=overlap_ids,
        examples=evaluation.display_examples(golden, results, ctx),
        task=kind,
        bootstrap=resampling,
    )


def _scenario_list(scenarios: Scenario | Sequence[Scenario]) -> list[Scenario]:
    if isinstance(scenarios, Scenario):
        return [scenarios]
    listed = list(scenarios) if isinstance(scenarios, Iterable) else [scenarios]
    for scenario in listed:
        if not isinstance(scenario, Scenario):
            raise UsageError(
                f"regression_test(scenarios=...) takes Scenario values, got {type(scenario).__qualname__}"
            )
    names = [s.name for s in listed]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"scenario names must be unique; repeated: {', '.join(repeated)}")
    return listed


def _refuse_self_comparison(candidate: Any, baseline: Any, workspace: Workspace | None) -> None:
    """A registered version compared with itself proves nothing: refuse it before predicting."""

    refs = []
    for model in (candidate, baseline):
        if isinstance(model, str):
            version = registry.find_version(model, workspace=workspace)
            refs.append(None if version is None else version.ref)
        elif isinstance(model, ModelVersion):
            refs.append(model.ref)
        else:
            refs.append(None)
    if refs[0] is not None and refs[0] == refs[1]:
        raise UsageError(
            f"refusing to compare {refs[0]} with itself ({candidate!r} vs {baseline!r}): test a new "
            "version against it (register the candidate first, or pass the model itself)"
        )
