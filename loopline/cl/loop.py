"""The continuous-improvement loop: mine -> label -> a candidate dataset version -> retrain ->
regression test against production -> promote on pass, one round per pipeline run.

    spec = LoopSpec(name="digits-loop", model="digits", dataset="digits-train",
                    golden="digits-golden@1", train=fit, scenarios=SCENARIOS, budget=40)
    LocalRunner().run(loop_round(spec))          # one round; its record: rounds("digits-loop")

A round, as tracked funcs (so the dashboard shows each step):

1. `start_round` records the round (production model and training dataset before it), and
   closes earlier rounds whose run ended unfinished, withdrawing what they proposed;
2. `label_round` mines the inferences logged since the previous round began, by every version
   of the model that served them, with `spec.miners` (one candidate per input: examples already
   queued or in the training data are not mined again, by id or by content; golden examples
   never), queues them as labeling tasks, has `spec.labelers` (or `spec.oracle`) label them when
   there are any (tests, demos), and proposes every ready label of the queue as a *candidate*
   version of the training dataset: not canonical yet;
3. `improve` retrains on the candidate (or on a canonical version no model was trained on),
   registers the candidate model, tests it against production on the golden scenarios, and
   `finish` records the outcome. A pass promotes the model and makes the candidate version
   canonical; a block rejects it and sends its labels back to review with the reason: which
   scenarios regressed, and how much the gate blames each new label (`regression/blame.py`).

A person can accept a blocked round's labels (`accept_round`, `loopline loop accept`): they
become canonical (and, with `promote_candidate=True`, the round's model serves production, recorded as a
forced promotion), under that person's name, so roles can be enforced on it when team mode
arrives.

Without labelers, people label the queue (dashboard, Label Studio, `loopline label`); a round
then proposes what they labeled since (or says how many labels wait for a review), or a person
commits and a schedule with a "dataset gained N examples" trigger starts the next round.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.labeling import proposals
from loopline.cl.labeling.queue import Labeler, LabelingQueue
from loopline.cl.mining.candidates import Miner, mine
from loopline.cl.mining.miners import feedback, low_confidence
from loopline.cl.production.table import InferenceTable
from loopline.cl.registry.promotion import promote
from loopline.cl.registry.versions import find_version, load_version, register
from loopline.cl.regression.blame import blame
from loopline.cl.regression.compare import regression_test
from loopline.cl.regression.report import RegressionReport, record_report
from loopline.cl.regression.scenarios import Scenario
from loopline.cl.store.errors import DatasetNotFoundError, RoundStateError
from loopline.cl.store.provenance import current_user
from loopline.cl.store.records import (
    InferenceQuery,
    LabelingTask,
    LoopRound,
    ModelVersion,
    QualityControl,
    RoundState,
)
from loopline.cl.store.workspace import Workspace, resolve
from loopline.core.records import utcnow
from loopline.errors import RunNotFoundError, UsageError
from loopline.sdk.context import context
from loopline.sdk.function import func

_BLAMED_KEPT = 20  # examples kept in LoopRound.blamed, the most blamed first
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _default_miners() -> tuple[Miner, ...]:
    return (feedback, low_confidence)


@dataclasses.dataclass(frozen=True)
class LoopSpec:
    """What a loop improves and how.

    - `model`: the registered model's name; `alias`: the alias that serves production.
    - `dataset`: the canonical training dataset's name; `golden`: the golden version.
    - `train(dataset) -> model`: fits a model (with `predict`) on a Dataset version.
    - `scenarios`: the must-pass scenarios of the regression gate.
    - `miners`: functions InferenceTable -> Candidates, and miners of the training data itself
      (`miners.label_errors`, called with the canonical training dataset and `train`);
      `budget`: labels per round.
    - `oracle(tasks) -> labels`: labels the queued tasks at once (tests, demos); or `labelers`,
      several simulated labelers by name, taking turns; neither: people label.
    - `measure(model) -> {name: value}`: the loop's own metrics of the production model after
      each round (e.g. accuracy on a held-out production slice), kept with the round.
    - `queue`: the labeling queue (default: the loop's name); `review`: only approved tasks join
      the dataset; `quality`: the queue's quality control (gold questions, a second labeler,
      an accuracy threshold). None (the default) for either: as the queue is configured
      (`loopline label configure`), so a loop never loosens what a person set.
    - `window`: mine only the inferences logged this long before the round (default: those
      logged since the previous round began, by any version of the model).
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
    review: bool | None = None
    window: dt.timedelta | None = None
    labelers: Mapping[str, Labeler] = dataclasses.field(default_factory=dict)
    quality: QualityControl | None = None

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
        if self.oracle is not None and self.labelers:
            raise UsageError("LoopSpec takes oracle=... (one labeler) or labelers={...}, not both")
        if not all(callable(fn) for fn in self.labelers.values()):
            raise UsageError("LoopSpec(labelers=...) maps names to functions tasks -> labels")
        if self.quality is not None and not isinstance(self.quality, QualityControl):
            raise UsageError("LoopSpec(quality=...) takes a QualityControl")

    @property
    def labeling(self) -> dict[str, Labeler]:
        """Who labels the round's tasks at once: the labelers, or the oracle, or nobody."""
        if self.oracle is not None:
            return {f"oracle:{self.name}": self.oracle}
        return dict(self.labelers)

    @property
    def queue_name(self) -> str:
        return self.queue or self.name


@dataclasses.dataclass(frozen=True)
class RoundStart:
    """A round as it began: its number, what production and the training data were, and since
    when inferences are mined (the previous round's start; None: all of them)."""

    loop: str
    round: int
    production: str | None  # "digits@3", None before the first promotion
    dataset: str | None  # the canonical training version "digits-train@5"
    since: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Labeled:
    """What labeling did in a round: candidates mined, tasks queued and labeled, the candidate
    dataset version its labels were proposed in, the labeled tasks that wait for a review, the
    request ids logged again since the previous round, and each labeler's numbers."""

    mined: int
    queued: int
    labeled: int
    proposed: str | None
    waiting: int = 0
    relogged: int = 0
    quality: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)


@func
def start_round(spec: LoopSpec) -> RoundStart:
    """Record a new round of the loop (and close earlier rounds whose run ended unfinished)."""

    ws = Workspace.open()
    _close_abandoned_rounds(ws, spec)
    production = _holder(ws, spec)
    dataset = _latest_dataset(ws, spec.dataset)
    earlier = ws.store.rounds(spec.name)
    started = ws.store.add_round(
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
    since = earlier[-1].started_at if earlier else None
    if spec.window is not None:
        since = max(since or _EPOCH, started.started_at - spec.window)
    return RoundStart(spec.name, started.round, started.production_before, dataset, since)


@func
def label_round(spec: LoopSpec, start: RoundStart) -> Labeled:
    """Mine the inferences logged since the previous round (by every version of the model),
    queue the candidates, label them with the labelers (if any) and propose every ready label
    of the queue as a candidate version of the training dataset."""

    ws = Workspace.open()
    queue = LabelingQueue(spec.queue_name, review=spec.review, workspace=ws)
    queue.configure(dataset=spec.dataset, review=spec.review, quality=spec.quality, by=f"loop:{spec.name}")
    mined = queued = labeled = relogged = 0
    if start.production is not None:
        table = InferenceTable.load(InferenceQuery(model=spec.model, since=start.since), workspace=ws)
        relogged = ws.store.count_inferences(
            InferenceQuery(model=spec.model, relogged_since=start.since or _EPOCH)
        )
        known = ws.store.list_tasks(queue.name, limit=None)
        training = Dataset.load(spec.dataset, workspace=ws)
        candidates = mine(
            table,
            spec.miners,
            budget=spec.budget,
            exclude=[Dataset.load(spec.golden, workspace=ws), training],
            skip={t.key for t in known},
            skip_fingerprints={t.fingerprint for t in known if t.fingerprint},
            training=training,
            train=spec.train,
        )
        mined = len(candidates)
        queued = len(queue.add(candidates))
    if spec.labeling:
        labeled = queue.label_with(spec.labeling)
    proposal = proposals.propose(
        queue, spec.dataset, message=f"{spec.name} round {start.round}: labels from {queue.name}, proposed"
    )
    waiting = len(queue.waiting())
    quality = {q.labeler: q.to_json() for q in queue.quality().labelers}
    done = Labeled(
        mined, queued, labeled, proposal.ref if proposal.tasks else None, waiting, relogged, quality
    )
    (current,) = [r for r in ws.store.rounds(spec.name) if r.round == start.round]
    ws.store.update_round(  # recorded now: a round that fails later sends its proposal back
        dataclasses.replace(
            current,
            mined=mined,
            queued=queued,
            labeled=labeled,
            proposed=_candidate(ws, done.proposed),
            waiting=waiting,
            relogged=relogged,
            quality=quality,
        )
    )
    return done


@func
def improve(spec: LoopSpec, start: RoundStart, labeled: Labeled) -> LoopRound:
    """Retrain, test and promote when there are labels no model was trained on; else close."""

    ws = Workspace.open()
    proposed = _candidate(ws, labeled.proposed)
    dataset = proposed or _latest_dataset(ws, spec.dataset)
    trained_on = set()
    for earlier in ws.store.rounds(spec.name):
        if earlier.round < start.round and earlier.candidate:
            trained = find_version(earlier.candidate, workspace=ws)
            if trained is not None and trained.dataset:
                trained_on.add(trained.dataset)
    production = _holder(ws, spec)
    if production is not None and production.dataset:
        trained_on.add(production.dataset)
    if dataset is None or (proposed is None and dataset in trained_on):
        return finish(spec, start, labeled, None, None)
    candidate = retrain(spec, start, dataset)
    return finish(spec, start, labeled, candidate, gate(spec, start, candidate))


@func
def retrain(spec: LoopSpec, start: RoundStart, dataset: str) -> ModelVersion:
    """Train on the dataset version and register the model as a new version (a candidate)."""

    data = Dataset.load(dataset)
    model = spec.train(data)
    return register(spec.model, model, dataset=data, description=f"{spec.name} round {start.round} candidate")


@func
def gate(spec: LoopSpec, start: RoundStart, candidate: ModelVersion) -> RegressionReport:
    """The candidate against production on the golden scenarios."""

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
    candidate: ModelVersion | None,
    report: RegressionReport | None,
) -> LoopRound:
    """Promote a candidate whose report passed and make its proposed labels canonical; send
    the labels of a blocked round back to review; record how the round ended."""

    ws = Workspace.open()
    (current,) = [r for r in ws.store.rounds(spec.name) if r.round == start.round]
    report_id = None if report is None else record_report(report, run_id=current.run_id, workspace=ws)
    queue = LabelingQueue(spec.queue_name, workspace=ws)
    proposed = _candidate(ws, labeled.proposed)
    promoted = False
    returned = 0
    blamed: dict[str, float] = {}
    state: RoundState
    if candidate is not None and report is not None and report.passed:
        promote(candidate, spec.alias, report=report, reason=f"{spec.name} round {start.round}", workspace=ws)
        promoted = True
        accepted = None
        if proposed is not None:
            accepted = proposals.accept(
                queue, proposed, by=f"loop:{spec.name}", reason=f"{candidate.ref} passed the gate"
            ).ref
        state, detail = "promoted", f"{candidate.ref} passed the gate and serves {spec.alias}"
        if accepted:
            detail += f"; its labels are canonical in {accepted}"
    elif candidate is not None:
        failed = ", ".join(s.name for s in report.failures) if report is not None else "no report"
        state = "blocked"
        detail = f"{candidate.ref} failed the gate ({failed}); {spec.alias} unchanged"
        if proposed is not None and report is not None:
            returned, blamed = _send_back(ws, spec, start, queue, proposed, report)
            detail += f"; {returned} labels of {proposed} went back to review"
    elif labeled.waiting:
        state = "waiting for review"
        detail = (
            f"{labeled.waiting} labeled tasks wait for review: approve them on /labeling/{spec.queue_name}"
            f"?mode=review, or with loopline label review {spec.queue_name}"
        )
    else:
        state, detail = "no new examples", f"{spec.dataset} has no examples the production model lacks"
    if labeled.relogged:
        detail += f"; {labeled.relogged} request ids were logged again since the previous round (their first record kept)"
    production = _holder(ws, spec)
    metrics = {}
    if spec.measure is not None and production is not None:
        metrics = {str(k): float(v) for k, v in spec.measure(load_version(production, workspace=ws)).items()}
    done = dataclasses.replace(
        current,
        state=state,
        ended_at=utcnow(),
        production_after=None if production is None else production.ref,
        candidate=None if candidate is None else candidate.ref,
        dataset_after=_latest_dataset(ws, spec.dataset),
        mined=labeled.mined,
        queued=labeled.queued,
        labeled=labeled.labeled,
        report_id=report_id,
        passed=None if report is None else report.passed,
        promoted=promoted,
        metrics=metrics,
        scenarios={} if report is None else scenario_metrics(report),
        detail=detail,
        proposed=proposed,
        waiting=labeled.waiting,
        returned=returned,
        blamed=blamed,
        quality=dict(labeled.quality),
        relogged=labeled.relogged,
    )
    ws.store.update_round(done)
    return done


def _send_back(
    ws: Workspace,
    spec: LoopSpec,
    start: RoundStart,
    queue: LabelingQueue,
    proposed: str,
    report: RegressionReport,
) -> tuple[int, dict[str, float]]:
    """The proposed labels back to review, with the regressed scenarios and each label's blame."""
    tasks = ws.store.list_tasks(queue.name, proposed_to=proposed, states=["proposed"], limit=None)
    data = Dataset.load(proposed, workspace=ws)
    present = set(data.ids.tolist())
    blamed_tasks = [t for t in tasks if t.example_id in present]
    scores = blame(
        report, Dataset.load(spec.golden, workspace=ws), data.subset([t.example_id for t in blamed_tasks])
    )
    by_task = {t.id: float(b) for t, b in zip(blamed_tasks, scores.tolist(), strict=True)}
    regressed = "; ".join(f"{s.name} ({s.right_to_wrong_count} right→wrong)" for s in report.failures)
    reason = f"{spec.name} round {start.round} was blocked by the gate: {regressed or 'a must-pass scenario failed'}"
    returned = proposals.send_back(queue, proposed, reason=reason, blame=by_task, by=f"loop:{spec.name}")
    ranked = sorted(blamed_tasks, key=lambda t: -by_task[t.id])[:_BLAMED_KEPT]
    return returned, {t.example_id: by_task[t.id] for t in ranked if by_task[t.id] > 0}


@func
def loop_round(spec: LoopSpec) -> LoopRound:
    """One round of the loop: mine, label, commit, retrain, gate, promote on pass."""
    start = start_round(spec)
    labeled = label_round(spec, start)
    return improve(spec, start, labeled)


def accept_round(
    loop: str,
    round: int,
    *,
    by: str | None = None,
    reason: str,
    promote_candidate: bool = False,
    alias: str = "production",
    workspace: Workspace | None = None,
) -> LoopRound:
    """A person (`by`, default the OS user) accepts the labels of a blocked round: they become
    canonical, in the proposed version (or applied to the latest version, if the dataset moved
    on). With `promote_candidate`, the round's model serves `alias` too, recorded as a forced
    promotion with the reason. RoundStateError unless the round was blocked with labels."""

    ws = resolve(workspace)
    who = by or current_user()
    if not reason.strip():
        raise UsageError("accepting a round needs reason='...': it is recorded with the labels")
    found = [r for r in ws.store.rounds(loop) if r.round == round]
    if not found:
        raise RoundStateError(
            f"loop {loop!r} has no round {round}; see its rounds with: loopline loop history {loop}"
        )
    (current,) = found
    if current.state != "blocked" or not current.proposed:
        what = "proposed no labels" if current.state == "blocked" else f"is {current.state}"
        raise RoundStateError(
            f"round {round} of {loop} {what}: only the labels of a blocked round are accepted "
            "(a promoted round's labels are canonical already)"
        )
    queue = LabelingQueue(current.queue, workspace=ws)
    commit = proposals.accept(queue, current.proposed, by=who, reason=reason)
    production_after = current.production_after
    if promote_candidate and current.candidate:
        promote(
            current.candidate,
            alias,
            force=True,
            reason=f"round {round} of {loop} accepted by {who}: {reason}",
            workspace=ws,
        )
        production_after = current.candidate
    done = dataclasses.replace(
        current,
        state="accepted",
        accepted_by=who,
        accepted_at=utcnow(),
        accept_reason=reason,
        dataset_after=commit.ref,
        production_after=production_after,
        detail=f"{current.detail}; accepted by {who}: {reason} ({commit.ref})",
    )
    ws.store.update_round(done)
    return done


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

    return resolve(workspace).store.rounds(loop)


def _holder(ws: Workspace, spec: LoopSpec) -> ModelVersion | None:
    return find_version(f"{spec.model}@{spec.alias}", workspace=ws)


def _latest_dataset(ws: Workspace, name: str) -> str | None:
    """The latest canonical version of the dataset."""
    try:
        return ws.store.get_dataset_version(name).ref
    except DatasetNotFoundError:
        return None


def _candidate(ws: Workspace, ref: str | None) -> str | None:
    """`ref` if it names a candidate dataset version (a proposal waiting for the gate)."""
    if ref is None:
        return None
    name, _, version = ref.partition("@")
    record = ws.store.get_dataset_version(name, int(version))
    return ref if record.state == "candidate" else None


def _close_abandoned_rounds(ws: Workspace, spec: LoopSpec) -> None:
    """Rounds still "running" whose pipeline run has ended (it failed) are marked failed, and
    their proposals withdrawn: nothing judged those labels, so the next round proposes them."""

    for stale in (r for r in ws.store.rounds(spec.name) if r.state == "running" and r.run_id):
        try:
            run = ws.metadata.get_run(stale.run_id or "")
        except RunNotFoundError:
            continue
        if not run.state.is_terminal:
            continue
        detail = f"its pipeline run {run.id} ended {run.state.value} before the round was recorded"
        proposed = _candidate(ws, stale.proposed)
        if proposed is not None:
            queue = LabelingQueue(stale.queue, workspace=ws)
            reason = f"{spec.name} round {stale.round} failed before its gate decided"
            withdrawn = proposals.withdraw(queue, proposed, reason=reason, by=f"loop:{spec.name}")
            detail += f"; its proposal {proposed} was withdrawn ({withdrawn} labels ready again)"
        ws.store.update_round(dataclasses.replace(stale, state="failed", ended_at=utcnow(), detail=detail))
