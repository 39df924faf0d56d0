"""Small example pipelines, and continuous-learning records, that exercise every part of the
dashboard (used by `tools.screenshots` and the server tests).

Needs the `ml` extra (numpy, pandas, scikit-learn).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import loopline
from loopline import models
from loopline.cl.labeling.queue import LabelingQueue
from loopline.cl.mining import miners
from loopline.cl.mining.candidates import mine
from loopline.cl.production.ingest import ingest_feedback, ingest_inferences
from loopline.cl.production.table import InferenceTable
from loopline.cl.schedules import scheduler as schedules
from loopline.cl.store.records import LoopRound, Slot
from loopline.cl.store.workspace import Workspace
from loopline.core.records import utcnow


@dataclasses.dataclass
class TrainConfig:
    learning_rate: float = 0.1
    epochs: int = 8
    classes: int = 4


@dataclasses.dataclass
class Evaluation:
    accuracy: float
    confusion: object
    worst_class: int


@loopline.func
def load_dataset(rows: int) -> object:
    """Load the labeled examples (a synthetic table with a few missing values)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    print(f"loading {rows} examples")
    frame = pd.DataFrame(
        {
            "feature_a": rng.normal(size=rows).round(3),
            "feature_b": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(2.0, 0.5, rows).round(3)),
            "source": rng.choice(["import", "mined", "labeled"], rows),
            "label": rng.integers(0, 4, rows),
        }
    )
    print(f"{int(frame['feature_b'].isna().sum())} rows miss feature_b")
    return frame


@loopline.func
def train(data: object, config: TrainConfig) -> dict[str, object]:
    """Fit the model, logging the loss and accuracy of every epoch."""
    import numpy as np

    for epoch in range(config.epochs):
        loss = 1.2 * 0.7**epoch + 0.05
        loopline.log_metric("loss", loss, epoch)
        loopline.log_metric("accuracy", 0.55 + 0.4 * (1 - 0.7**epoch), epoch)
        print(f"epoch {epoch}: loss={loss:.3f}")
        time.sleep(0.02)
    weights = np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(64, 64) ** 2
    return {"weights": weights, "epochs": config.epochs}


@loopline.func
def evaluate(model: dict[str, object], data: object, suite_score: float) -> Evaluation:
    """Score the model on the golden set."""
    import numpy as np

    print(f"regression suite score {suite_score:.3f}")
    confusion = np.array([[48, 2, 1, 0], [3, 44, 2, 1], [0, 4, 41, 5], [1, 0, 6, 42]], dtype=np.int64)
    accuracy = float(np.trace(confusion) / confusion.sum())
    print(f"accuracy {accuracy:.3f}")
    return Evaluation(accuracy, confusion, int(np.argmin(np.diag(confusion))))


@loopline.func
def score_shard(shard: int) -> float:
    return 0.9 + (shard % 7) / 100


@loopline.func
def regression_suite(shards: int) -> float:
    """Score every shard of the golden dataset in parallel."""
    return mean([score_shard(i) for i in range(shards)])


@loopline.func
def mean(values: list[float]) -> float:
    return sum(values) / len(values)


@loopline.func
def training_pipeline(rows: int = 200, shards: int = 120) -> Evaluation:
    """Load, train, evaluate, and run the regression suite."""
    data = load_dataset(rows)
    model = train(data, TrainConfig())
    return evaluate(model, data, regression_suite(shards))


@loopline.func
def check_labels(rows: int) -> int:
    raise ValueError(f"{rows} labels are outside 0..3: fix the labeling export before retraining")


@loopline.func
def label_audit(rows: int = 50) -> int:
    """Check the labels of the newest examples."""
    return check_labels(rows)


# -- continuous learning: datasets, models, reports, schedules ----------------------------------


@dataclasses.dataclass(frozen=True)
class Registry:
    """What `regression_records` recorded, for screenshots and tests to open."""

    failing_report: str  # the artifact id of a report that blocks digits@3
    passing_report: str


DIGIT_SCENARIOS = 10


def _fit(features: object, labels: object, C: float = 0.1) -> object:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300)).fit(features, labels)


def regression_records(ws: Workspace, *, run_id: str | None = None) -> Registry:
    """Datasets (images, a table, texts), three digits models with their promotion history, a
    passing and a failing regression report, and two schedules, in `workspace` (a
    loopline.cl.store.workspace.Workspace). Needs scikit-learn."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_digits

    digits = load_digits()
    ids = np.array([f"digit-{i:04d}" for i in range(len(digits.target))])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ids))
    golden_at, train_at, extra_at = order[:500], order[500:1500], order[1500:1540]
    hard = ids[golden_at[:8]].tolist()
    golden = loopline.Dataset(
        "digits-golden", digits.data[golden_at], digits.target[golden_at], ids=ids[golden_at],
        tags={"hard": hard}, display="image 8x8",
    ).save("pinned golden split", workspace=ws)  # fmt: skip
    train = loopline.Dataset(
        "digits-train", digits.data[train_at], digits.target[train_at], ids=ids[train_at], display="image 8x8"
    ).save("load_digits, 1,000 examples", workspace=ws)
    labeled = train.append(
        digits.data[extra_at],
        digits.target[extra_at],
        ids=ids[extra_at],
        lineage={
            "source": "labeling",
            "request_id": [f"req-{i:05d}" for i in range(len(extra_at))],
            "miner": "low_confidence",
            "labeler": "ada",
        },
    ).save("40 mined examples, labeled", workspace=ws)
    loopline.Dataset(
        "support-tickets",
        ["The app crashes when I upload a photo", "Where is my refund?", "Love the new dark mode!",
         "Password reset link never arrives", "Can I export my data as CSV?"],
        ["bug", "billing", "praise", "account", "question"],
        display="text",
    ).save("first tickets", workspace=ws)  # fmt: skip
    loopline.Dataset(
        "house-prices",
        pd.DataFrame({"rooms": [3, 4, 2, 5, 3], "area_m2": [72.5, 110.0, 48.0, 160.0, 85.0], "city": ["Lyon", "Paris", "Nantes", "Lille", "Lyon"]}),
        np.array([310_000, 720_000, 190_000, 450_000, 355_000]),
        display="table",
    ).save("five sales", workspace=ws)  # fmt: skip

    base = models.register(
        "digits", _fit(train.features, train.labels), dataset=train, metrics={"accuracy": 0.951},
        training_run=run_id, description="first baseline", workspace=ws,
    )  # fmt: skip
    models.promote(base, "production", reason="first baseline", workspace=ws)
    models.promote(base, "staging", reason="first baseline", workspace=ws)
    better = models.register(
        "digits", _fit(labeled.features, labeled.labels, C=0.2), dataset=labeled, metrics={"accuracy": 0.962},
        training_run=run_id, description="retrained with 40 labeled examples", workspace=ws,
    )  # fmt: skip
    scenarios = [
        *(loopline.Scenario(f"digit {d}", labels=[d], description=f"golden images of a {d}") for d in range(DIGIT_SCENARIOS)),
        loopline.Scenario("all digits", at_least={"accuracy": 0.9}),
        loopline.Scenario("hard examples", tag="hard", all_correct=True, no_regression=()),
    ]  # fmt: skip
    passing = loopline.regression_test(
        "digits@2", golden, scenarios, baseline="digits@production", name="digits gate", workspace=ws
    )
    passing_id = passing.save(run_id=run_id, workspace=ws)
    models.promote(better, "production", report=passing_id, reason="passed the digits gate", workspace=ws)
    keep = (labeled.labels != 8) | (rng.random(len(labeled)) < 0.05)
    broken = labeled.select(keep)
    worse = models.register(
        "digits", _fit(broken.features, broken.labels, C=0.2), dataset=labeled, metrics={"accuracy": 0.87},
        training_run=run_id, description="sampling bug: drops most 8s", workspace=ws,
    )  # fmt: skip
    failing = loopline.regression_test(
        "digits@3", golden, scenarios, baseline="digits@production", name="digits gate", workspace=ws
    )
    failing_id = failing.save(run_id=run_id, workspace=ws)
    models.promote(worse, "candidate", reason="nightly candidate", workspace=ws)
    models.promote(worse, "staging", force=True, reason="try it on staging despite the gate", workspace=ws)
    _schedules(ws, run_id)
    return Registry(failing_report=failing_id, passing_report=passing_id)


def _schedules(ws: Workspace, run_id: str | None) -> None:
    now = utcnow()
    target = f"{__file__}:training_pipeline"
    nightly = schedules.add_schedule(
        ws.store, "nightly-digits", target, ("--rows", "200"), schedules.cron_trigger("0 2 * * *"),
        now=now, created_by="ada",
    )  # fmt: skip
    for day, state in ((2, "succeeded"), (1, "failed")):
        due = (now - dt.timedelta(days=day)).replace(hour=2, minute=0, second=0, microsecond=0)
        ws.store.claim_slot(Slot(nightly.name, due.isoformat(), due, due, "claimed"))
        detail = "ValueError: labels outside 0..3" if state == "failed" else ""
        ws.store.update_slot(nightly.name, due.isoformat(), state=state, run_id=run_id, detail=detail)  # type: ignore[arg-type]
    schedules.add_schedule(
        ws.store, "retrain-on-labels", target, (), schedules.dataset_trigger(ws.store, "digits-train", 40),
        now=now, created_by="ada",
    )  # fmt: skip
    schedules.pause(ws.store, "retrain-on-labels")


# -- continuous improvement: inferences, feedback, a labeling queue, loop rounds ----------------


@dataclasses.dataclass(frozen=True)
class LoopShowcase:
    queue: str
    loop: str
    request_ids: tuple[str, ...]  # every logged request id, oldest first


def loop_records(ws: Workspace, registry: Registry, *, traffic: int = 240) -> LoopShowcase:
    """Production traffic of digits@production with partial feedback, a mined labeling queue with
    a few labels given, and three rounds of a loop's history, in `workspace`."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(1)
    at = rng.permutation(len(digits.target))[:traffic]
    production: Any = loopline.models.load("digits@production", workspace=ws)
    scores = production.predict_proba(digits.data[at])
    now = utcnow()
    request_ids = tuple(f"prod-{i:05d}" for i in range(traffic))
    records = [
        {
            "request_id": request_ids[i],
            "model": "digits@production",
            "input": digits.data[at[i]].tolist(),
            "prediction": int(np.argmax(scores[i])),
            "scores": scores[i].round(4).tolist(),
            "time": (now - dt.timedelta(minutes=2 * (traffic - i))).isoformat(),
            "metadata": {"app": "scanner", "region": ["eu", "us"][i % 2]},
            "display": "image 8x8",
        }
        for i in range(traffic)
    ]
    ingest_inferences(records, workspace=ws)
    wrong = [i for i in range(traffic) if int(np.argmax(scores[i])) != int(digits.target[at[i]])]
    feedback: list[dict[str, object]] = [
        {
            "request_id": request_ids[i],
            "kind": "correction",
            "label": int(digits.target[at[i]]),
            "source": "user-17",
        }
        for i in wrong[: len(wrong) // 2]
    ]
    feedback += [
        {"request_id": request_ids[i], "kind": "flag", "source": "user-4"} for i in wrong[len(wrong) // 2 :]
    ]
    feedback += [
        {"request_id": request_ids[i], "kind": "confirmation", "source": "user-9"}
        for i in range(0, traffic, 9)
    ]
    ingest_feedback(feedback, workspace=ws)
    table = InferenceTable.load(workspace=ws)
    golden = loopline.Dataset.load("digits-golden", workspace=ws)
    found = mine(table, [miners.feedback, miners.low_confidence], budget=24, exclude=golden)
    queue = LabelingQueue("digits", workspace=ws)
    queue.add(found)
    truth = {request_ids[i]: int(digits.target[at[i]]) for i in range(traffic)}
    for labeler, n in (("ada", 3), ("grace", 2)):
        for task in queue.claim(n, labeler=labeler):
            assert task.request_id is not None
            queue.submit(task, truth[task.request_id], labeler=labeler)
    first_labeled = queue.tasks(["labeled"], limit=1)
    if first_labeled:
        queue.review(first_labeled[0], approve=True, reviewer="linus")
    _rounds(ws, registry, now)
    return LoopShowcase(queue.name, "digits-loop", request_ids)


def _rounds(ws: Workspace, registry: Registry, now: dt.datetime) -> None:
    """Three recorded rounds: a promotion, a round blocked by the gate, a round with nothing new."""

    history = [
        # state, production before/after, dataset before/after, report, slice accuracy, 7/8/9 accuracy
        ("promoted", "digits@1", "digits@2", "digits-train@1", "digits-train@2", registry.passing_report, 0.912, (0.90, 0.87, 0.89)),
        ("blocked", "digits@2", "digits@2", "digits-train@2", "digits-train@2", registry.failing_report, 0.912, (0.92, 0.38, 0.91)),
        ("no new examples", "digits@2", "digits@2", "digits-train@2", "digits-train@2", None, 0.912, None),
    ]  # fmt: skip
    for i, (state, before, after, data_before, data_after, report, accuracy, per_digit) in enumerate(history):
        started = now - dt.timedelta(hours=6 - 2 * i)
        scenarios: dict[str, dict[str, object]] = {}
        if per_digit is not None:
            scenarios = {
                f"digit {d}": {"passed": d != 8 or state != "blocked", "accuracy": a, "size": 50}
                for d, a in zip((7, 8, 9), per_digit)
            }
        started_round = ws.store.add_round(
            LoopRound(
                loop="digits-loop", round=0, state="running", started_at=started, model="digits",
                dataset="digits-train", queue="digits", production_before=before, dataset_before=data_before,
            )
        )  # fmt: skip
        ws.store.update_round(
            dataclasses.replace(
                started_round,
                state=state,  # type: ignore[arg-type]
                ended_at=started + dt.timedelta(minutes=3),
                production_after=after,
                candidate={"promoted": after, "blocked": "digits@3"}.get(state),
                dataset_after=data_after,
                mined=40 if report else 0,
                queued=40 if report else 0,
                labeled=40 if report else 0,
                report_id=report,
                passed=None if report is None else state == "promoted",
                promoted=state == "promoted",
                metrics={"production-slice accuracy": accuracy},
                scenarios=scenarios,
                detail={
                    "promoted": "digits@2 passed the gate and serves production",
                    "blocked": "digits@3 failed the gate (digit 8); production unchanged",
                }.get(state, "digits-train has no examples the production model lacks"),
            )
        )
