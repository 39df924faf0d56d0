"""The continuous-improvement loop: mine -> label -> new dataset version -> retrain -> regression
test against production -> promote on pass, one round per pipeline run.

    spec = LoopSpec(name="digits-loop", model="digits", dataset="digits-train",
                    golden="digits-golden@1", train=fit, scenarios=SCENARIOS, budget=40)
    LocalRunner().run(loop_round(spec))          # one round; its record: rounds("digits-loop")

A round, as tracked funcs (so the dashboard shows each step):

1. `start_round` records the round (production model and training dataset before it);
2. `label_round` mines the inferences logged by the production version with `spec.miners`
   (de-duplicated, golden examples out, at most `spec.budget`), queues them as labeling tasks,
   has `spec.oracle` label them when there is one (tests, demos), and commits every labeled
   task of the queue to the training dataset as a new version;
3. `improve` retrains on the latest training version when it has examples the production model
   and the previous candidates were not trained on, registers the candidate, tests it against
   production on the golden scenarios, promotes it when the report passes, and records the
   outcome (report, scenario metrics, `spec.measure` of the production model) on the round.

Without an oracle, people label the queue (dashboard, Label Studio, `loopline label`) and commit;
a schedule with a "dataset gained N examples" trigger then starts the next round, which
retrains. A cron schedule works too: each round commits what was labeled since the last.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.candidates import Miner
from loopline.cl.loop_records import LabelingTask, LoopRound, RoundState
from loopline.cl.records import ModelVersion
from loopline.cl.report import RegressionReport
from loopline.cl.scenarios import Scenario
from loopline.errors import UsageError
from loopline.sdk.function import func

if TYPE_CHECKING:
    from loopline.cl.datasets import Dataset
    from loopline.cl.workspace import Workspace


def _default_miners() -> tuple[Miner, ...]:
    from loopline.cl.miners import feedback, low_confidence

    return (feedback, low_confidence)


@dataclasses.dataclass(frozen=True)
class LoopSpec:
    """What a loop improves and how.

    - `model`: the registered model's name; `alias`: the alias that serves production.
    - `dataset`: the canonical training dataset's name; `golden`: the golden version.
    - `train(dataset) -> model`: fits a model (with `predict`) on a Dataset version.
    - `scenarios`: the must-pass scenarios of the regression gate.
    - `miners`: functions InferenceTable -> Candidates; `budget`: labels per round.
    - `oracle(tasks) -> labels`: labels the queued tasks at once (tests, demos); None: people do.
    - `measure(model) -> {name: value}`: the loop's own metrics of the production model after
      each round (e.g. accuracy on a held-out production slice), kept with the round.
    - `queue`: the labeling queue (default: the loop's name); `review`: commit only approved tasks.
    - `window`: mine only the inferences logged this long before the round (default: all those
      of the production version).
    """

    name: str
    model: str
    dataset: str
    golden: str
    train: Callable[[Dataset], Any]
    scenarios: tuple[Scenario, ...] = ()
    miners: tuple[Miner, ...] = dataclasses.field(default_factory=_default_miners)
    budget: int = 40
    oracle: Callable[[list[LabelingTask]], Sequence[Any]] | None = None
    measure: Callable[[Any], Mapping[str, float]] | None = None
    alias: str = "production"
    queue: str = ""
    review: bool = False
    window: dt.timedelta | None = None

    def __post_init__(self) -> None:
        for field in ("name", "model", "dataset", "golden"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f"LoopSpec({field}=...) must be a non-empty name, got {value!r}")
        if "@" not in self.golden:
            raise UsageError(f"LoopSpec(golden=...) must pin a version, e.g. '{self.golden}@1'")
        if self.budget < 1:
            raise UsageError(f"LoopSpec(budget=...) must be at least 1, got {self.budget}")
        if not callable(self.train):
            raise UsageError("LoopSpec(train=...) must be a function Dataset -> model")
        if self.window is not None and self.window <= dt.timedelta(0):
            raise UsageError(f"LoopSpec(window=...) must be a positive timedelta, got {self.window}")

    @property
    def queue_name(self) -> str:
        return self.queue or self.name


@dataclasses.dataclass(frozen=True)
class RoundStart:
    """A round as it began: its number and what production and the training data were."""

    loop: str
    round: int
    production: str | None  # "digits@3", None before the first promotion
    dataset: str | None  # the training version "digits-train@5"


@dataclasses.dataclass(frozen=True)
class Labeled:
    """What labeling did in a round: candidates mined, tasks queued and labeled, the dataset
    version the labels were committed to."""

    mined: int
    queued: int
    labeled: int
    dataset: str | None


@func
def start_round(spec: LoopSpec) -> RoundStart:
    """Record a new round of the loop (and close earlier rounds whose run ended unfinished)."""
    from loopline.cl.workspace import Workspace
    from loopline.core.records import utcnow
    from loopline.sdk.context import context

    ws = Workspace.open()
    _close_abandoned_rounds(ws, spec.name)
    production = _holder(ws, spec)
    dataset = _latest_dataset(ws, spec.dataset)
    started = ws.loop.add_round(
        LoopRound(
            loop=spec.name,
            round=0,
            state="running",
            started_at=utcnow(),
            model=spec.model,
            dataset=spec.dataset,
            queue=spec.queue_name,
            run_id=context().root_id,
            production_before=None if production is None else production.ref,
            dataset_before=dataset,
        )
    )
    return RoundStart(spec.name, started.round, started.production_before, dataset)


@func
def label_round(spec: LoopSpec, start: RoundStart) -> Labeled:
    """Mine the production model's logged inferences, queue the candidates, label them with the
    oracle (if any) and commit every labeled task to the training dataset."""
    from loopline.cl.candidates import mine
    from loopline.cl.datasets import Dataset
    from loopline.cl.inference_table import InferenceTable
    from loopline.cl.labeling import LabelingQueue
    from loopline.cl.loop_records import InferenceQuery
    from loopline.cl.models import parse_model_ref
    from loopline.cl.workspace import Workspace
    from loopline.core.records import utcnow

    ws = Workspace.open()
    queue = LabelingQueue(spec.queue_name, review=spec.review, workspace=ws)
    mined = queued = labeled = 0
    if start.production is not None:
        _, version = parse_model_ref(start.production)
        since = None if spec.window is None else utcnow() - spec.window
        query = InferenceQuery(model=spec.model, model_version=int(version or 0), since=since)
        table = InferenceTable.load(query, workspace=ws)
        skip = ws.loop.queued_keys(queue.name, table.request_ids.tolist())
        golden = Dataset.load(spec.golden, workspace=ws)
        candidates = mine(table, spec.miners, budget=spec.budget, exclude=golden, skip=skip)
        mined = len(candidates)
        queued = len(queue.add(candidates))
    if spec.oracle is not None:
        labeled = queue.label_all(spec.oracle, labeler=f"oracle:{spec.name}")
    commit = queue.commit(spec.dataset, message=f"{spec.name} round {start.round}: labels from {queue.name}")
    return Labeled(mined, queued, labeled, commit.ref)


@func
def improve(spec: LoopSpec, start: RoundStart, labeled: Labeled) -> LoopRound:
    """Retrain, test and promote when the training data has new examples; else close the round."""
    from loopline.cl.workspace import Workspace

    ws = Workspace.open()
    dataset = _latest_dataset(ws, spec.dataset)
    trained_on = {r.dataset_after for r in ws.loop.rounds(spec.name) if r.round < start.round and r.candidate}
    production = _holder(ws, spec)
    if production is not None:
        trained_on.add(production.dataset)
    if dataset is None or dataset in trained_on:
        return finish(spec, start, labeled, dataset, None, None)
    candidate = retrain(spec, start, dataset)
    return finish(spec, start, labeled, dataset, candidate, gate(spec, start, candidate))


@func
def retrain(spec: LoopSpec, start: RoundStart, dataset: str) -> ModelVersion:
    """Train on the dataset version and register the model as a new version (a candidate)."""
    from loopline.cl import models
    from loopline.cl.datasets import Dataset

    data = Dataset.load(dataset)
    model = spec.train(data)
    return models.register(
        spec.model, model, dataset=data, description=f"{spec.name} round {start.round} candidate"
    )


@func
def gate(spec: LoopSpec, start: RoundStart, candidate: ModelVersion) -> RegressionReport:
    """The candidate against production on the golden scenarios."""
    from loopline.cl.datasets import Dataset
    from loopline.cl.regression import regression_test

    assert candidate.dataset is not None
    return regression_test(
        candidate.ref,
        Dataset.load(spec.golden),
        spec.scenarios,
        baseline=f"{spec.model}@{spec.alias}",
        name=f"{spec.name} round {start.round}",
        training=Dataset.load(candidate.dataset),
    )


@func
def finish(
    spec: LoopSpec,
    start: RoundStart,
    labeled: Labeled,
    dataset: str | None,
    candidate: ModelVersion | None,
    report: RegressionReport | None,
) -> LoopRound:
    """Promote a candidate whose report passed, and record how the round ended."""
    from loopline.cl import models
    from loopline.cl.reports import record_report
    from loopline.cl.workspace import Workspace
    from loopline.core.records import utcnow

    ws = Workspace.open()
    (current,) = [r for r in ws.loop.rounds(spec.name) if r.round == start.round]
    report_id = None if report is None else record_report(report, run_id=current.run_id, workspace=ws)
    promoted = False
    if candidate is not None and report is not None and report.passed:
        models.promote(
            candidate, spec.alias, report=report, reason=f"{spec.name} round {start.round}", workspace=ws
        )
        promoted = True
    state: RoundState
    if candidate is None:
        state, detail = "no new examples", f"{spec.dataset} has no examples the production model lacks"
    elif promoted:
        state, detail = "promoted", f"{candidate.ref} passed the gate and serves {spec.alias}"
    else:
        failed = ", ".join(s.name for s in report.failures) if report is not None else ""
        state, detail = "blocked", f"{candidate.ref} failed the gate ({failed}); {spec.alias} unchanged"
    production = _holder(ws, spec)
    metrics = {}
    if spec.measure is not None and production is not None:
        metrics = {
            str(k): float(v) for k, v in spec.measure(models.load_version(production, workspace=ws)).items()
        }
    done = dataclasses.replace(
        current,
        state=state,
        ended_at=utcnow(),
        production_after=None if production is None else production.ref,
        candidate=None if candidate is None else candidate.ref,
        dataset_after=dataset,
        mined=labeled.mined,
        queued=labeled.queued,
        labeled=labeled.labeled,
        report_id=report_id,
        passed=None if report is None else report.passed,
        promoted=promoted,
        metrics=metrics,
        scenarios={} if report is None else scenario_metrics(report),
        detail=detail,
    )
    ws.loop.update_round(done)
    return done


@func
def loop_round(spec: LoopSpec) -> LoopRound:
    """One round of the loop: mine, label, commit, retrain, gate, promote on pass."""
    start = start_round(spec)
    labeled = label_round(spec, start)
    return improve(spec, start, labeled)


def scenario_metrics(report: RegressionReport) -> dict[str, dict[str, Any]]:
    """Per scenario: passed, the candidate's and the baseline's accuracy, and the slice's size."""
    return {
        s.name: {
            "passed": s.passed,
            "must_pass": s.must_pass,
            "accuracy": s.candidate.get("accuracy"),
            "baseline_accuracy": None if s.baseline is None else s.baseline.get("accuracy"),
            "size": s.size,
        }
        for s in report.scenarios
    }


def rounds(loop: str, *, workspace: Workspace | None = None) -> list[LoopRound]:
    """The loop's rounds, oldest first."""
    from loopline.cl.workspace import resolve

    return resolve(workspace).loop.rounds(loop)


def _holder(ws: Workspace, spec: LoopSpec) -> ModelVersion | None:
    from loopline.cl.models import find_version

    return find_version(f"{spec.model}@{spec.alias}", workspace=ws)


def _latest_dataset(ws: Workspace, name: str) -> str | None:
    versions = ws.store.dataset_versions(name)
    return versions[-1].ref if versions else None


def _close_abandoned_rounds(ws: Workspace, loop: str) -> None:
    """Rounds still "running" whose pipeline run has ended (it failed) are marked failed."""
    from loopline.core.records import utcnow
    from loopline.errors import RunNotFoundError

    for stale in (r for r in ws.loop.rounds(loop) if r.state == "running" and r.run_id):
        try:
            run = ws.metadata.get_run(stale.run_id or "")
        except RunNotFoundError:
            continue
        if run.state.is_terminal:
            detail = f"its pipeline run {run.id} ended {run.state.value} before the round was recorded"
            ws.loop.update_round(dataclasses.replace(stale, state="failed", ended_at=utcnow(), detail=detail))
