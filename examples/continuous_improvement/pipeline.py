"""The digits loop: a model that improves from its production mistakes.

    loopline run examples/continuous_improvement/pipeline.py:loop             # one round
    loopline schedule add digits-loop --dataset digits-train --min-new 40 \\
        examples/continuous_improvement/pipeline.py:loop --labels queue   # people label

`setup()` imports `digits-train@1` (few 7s, 8s and 9s) from a DuckDB table it writes, saves
`digits-golden@1`, trains the first model and promotes it to `digits@production`. Each round of `loop` mines the inferences logged
by production (user feedback first, then the least confident predictions, then inputs unlike
the training data), queues 40 of them for labeling, labels them by the oracle (the held-back
true digits) or waits for people, retrains, gates the candidate against production on the
golden scenarios (no significant regression on any digit, by McNemar's test; at least 70% on
all digits) and promotes it on a pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import loopline
from examples.continuous_improvement import data
from examples.continuous_improvement.model import TRAINERS
from loopline import Dataset, Scenario, miners, models
from loopline.cl.loop import LoopSpec, loop_round
from loopline.cl.store.records import LabelingTask, LoopRound
from loopline.data import Table
from loopline.miners import Candidates, InferenceTable
from loopline.settings import Settings

MODEL, TRAIN, GOLDEN, GOLD, LOOP = "digits", "digits-train", "digits-golden", "digits-gold", "digits-loop"
GOLD_QUESTIONS = 60  # training images whose labels are checked: the labelers' gold questions

SCENARIOS = (
    *(Scenario(f"digit {d}", labels=[d], description=f"golden images of the digit {d}") for d in range(10)),
    Scenario("all digits", at_least={"accuracy": 0.7}, description="every golden image"),
)


def setup(trainer: str = "sklearn") -> None:
    """The datasets and the first production model, the first time only."""
    split = data.split()

    def save_once(name: str, rows: np.ndarray, message: str) -> None:
        if not Dataset.versions(name):
            features, labels = split.features[rows], split.labels[rows]
            Dataset(name, features, labels, ids=data.example_ids(rows), display="image 8x8").save(message)

    save_once(GOLDEN, split.golden, "load_digits, stratified 25%: the regression gate's pinned test set")
    if not Dataset.versions(TRAIN):  # the training data comes from the warehouse
        url = data.warehouse(Settings.from_env().home / "warehouse.duckdb", split.training)
        Dataset.from_table(
            TRAIN,
            Table(data.TRAINING_TABLE, url=url),
            key="id",
            label="label",
            features="pixels",
            display="image 8x8",
            message=f"load_digits, keeping {data.KEEP_RARE:.0%} of the digits 7, 8 and 9 (from the warehouse)",
        )
    save_once(GOLD, split.training[:GOLD_QUESTIONS], "gold questions for labelers: checked training images")
    if "production" not in models.aliases(MODEL):
        train_v1 = Dataset.load(f"{TRAIN}@1")
        first = models.register(
            MODEL, TRAINERS[trainer](train_v1), dataset=train_v1, description="first model"
        )
        models.promote(first, "production", reason="the first model")


def oracle(tasks: list[LabelingTask]) -> list[int]:
    """The labeler of the demo: the held-back true digit of each request."""
    labels = data.split().labels
    return [int(labels[data.row_of(task.example_id)]) for task in tasks]


def random_labels(tasks: list[LabelingTask]) -> list[int]:
    """A broken labeler: random digits (the gate must block what it teaches)."""
    rng = np.random.default_rng(sum(task.id for task in tasks))
    return rng.integers(0, 10, size=len(tasks)).tolist()


def seven_to_one(tasks: list[LabelingTask]) -> list[int]:
    """A labeler who labels every 7 as a 1, and everything else right."""
    return [1 if label == 7 else label for label in oracle(tasks)]


def sloppy(tasks: list[LabelingTask], share: float = 0.3) -> list[int]:
    """A labeler wrong on `share` of the examples (always the same ones: chosen by a digest of
    the example id), right on the others."""
    labels = []
    for task, right in zip(tasks, oracle(tasks), strict=True):
        digest = int(hashlib.sha256(task.example_id.encode()).hexdigest()[:8], 16)
        wrong = digest % 1000 < share * 1000
        labels.append((right + 1 + digest % 9) % 10 if wrong else right)
    return labels


def production_accuracy(model: Any) -> Mapping[str, float]:
    """Accuracy on the held-out production slice, never mined or labeled."""
    split = data.split()
    held_out = split.held_out
    accuracy = float((model.predict(split.features[held_out]) == split.labels[held_out]).mean())
    return {"production accuracy": accuracy}


def misclassified(table: InferenceTable) -> Candidates:
    """The oracle miner, a yardstick for the others: the requests production truly got wrong
    (it reads the held-back true digits), each with score 1."""
    labels = data.split().labels
    truth = np.array([labels[data.row_of(i)] for i in table.request_ids.tolist()], dtype=int)
    wrong = np.asarray(table.predictions) != truth
    return Candidates.of(
        "misclassified",
        table.request_ids[wrong],
        np.ones(int(wrong.sum())),
        "production got it wrong",
        truth[wrong],
    )


def novel_inputs(table: InferenceTable) -> Candidates:
    """Inputs unlike anything in the current training set."""
    return miners.out_of_distribution(table, Dataset.load(TRAIN))


MINERS = (miners.feedback, miners.low_confidence, novel_inputs)
LABELERS = {
    "oracle": oracle,
    "random": random_labels,
    "seven-to-one": seven_to_one,
    "sloppy": sloppy,
    "queue": None,
}


def spec(*, trainer: str = "sklearn", budget: int = 40, labels: str = "oracle", name: str = LOOP) -> LoopSpec:
    return LoopSpec(
        name=name,
        model=MODEL,
        dataset=TRAIN,
        golden=f"{GOLDEN}@1",
        train=TRAINERS[trainer],
        scenarios=SCENARIOS,
        miners=MINERS,
        budget=budget,
        oracle=LABELERS[labels],
        measure=production_accuracy,
    )


@loopline.func
def loop(budget: int = 40, trainer: str = "sklearn", labels: str = "oracle") -> LoopRound:
    """One round of the digits loop (labels: oracle, random, seven-to-one, sloppy or queue)."""
    setup(trainer)
    return loop_round(spec(trainer=trainer, budget=budget, labels=labels))


def traffic_chunks(rounds: int) -> Sequence[np.ndarray]:
    """The production traffic, one chunk per round."""
    return np.array_split(data.split().traffic, rounds)
