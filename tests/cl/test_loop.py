"""The continuous-improvement loop, end to end on the digits example (the demo's code path):
accuracy on a held-out production slice rises round after round while every must-pass scenario
passes; random labels are blocked by the gate; people label a queue and the "dataset gained N
examples" trigger starts the next round."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import loopline
from examples.continuous_improvement import data, demo, pipeline, traffic
from examples.continuous_improvement.model import fit_sklearn
from loopline import Dataset, models
from loopline.cl.loop import LoopSpec, loop_round, rounds
from loopline.cl.regression.report import load_report
from loopline.cl.schedules import scheduler as schedules
from loopline.cl.schedules.worker import run_slot
from loopline.cl.store.workspace import Workspace
from loopline.labeling import LabelingQueue
from loopline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def serve_traffic(rows: np.ndarray) -> None:
    """A round's production traffic through `loopline serve digits@production`, as in the demo."""
    with traffic.serving("digits@production") as server:
        traffic.serve(rows, url=server.url, seed=1)


def test_three_rounds_raise_production_accuracy_by_ten_points_while_every_scenario_passes(home: Path) -> None:
    table = demo.run(rounds=3, budget=40)
    assert table[-1].accuracy - table[0].accuracy >= 0.10
    history = rounds(pipeline.LOOP)
    assert [r.state for r in history] == ["promoted"] * 3
    for done in history:
        must_pass = [s for s in done.scenarios.values() if s["must_pass"]]
        assert len(must_pass) == len(pipeline.SCENARIOS) and all(s["passed"] for s in must_pass)
    assert [r.labeled for r in history] == [40, 40, 40]
    assert Dataset.versions(pipeline.TRAIN)[-1].size == table[0].size + 120


def test_a_round_of_random_labels_is_blocked_and_production_does_not_move(home: Path) -> None:
    demo.run(rounds=2, budget=40, labels=["oracle", "random"])
    blocked = rounds(pipeline.LOOP)[-1]
    assert (blocked.state, blocked.passed, blocked.promoted) == ("blocked", False, False)
    assert models.aliases(pipeline.MODEL)["production"] == 2 and blocked.candidate == "digits@3"
    assert blocked.production_before == blocked.production_after == "digits@2"
    assert [m.version for m in models.history(pipeline.MODEL, "production")] == [1, 2]
    report = load_report(blocked.report_id or "")
    assert report.failures and all(f.must_pass for f in report.failures)


def test_the_loop_history_has_what_the_dashboard_shows(home: Path) -> None:
    demo.run(rounds=1, budget=40)
    (done,) = rounds(pipeline.LOOP)
    assert (done.dataset_before, done.dataset_after) == ("digits-train@1", "digits-train@2")
    assert (done.production_before, done.candidate, done.production_after) == (
        "digits@1",
        "digits@2",
        "digits@2",
    )
    assert done.mined == done.queued == 40 and done.metrics["production accuracy"] > 0.8
    assert set(done.scenarios["digit 7"]) == {"passed", "must_pass", "accuracy", "baseline_accuracy", "size"}
    assert load_report(done.report_id or "").candidate.ref == "digits@2"
    run = loopline.Client().runs(limit=1000)
    assert {r.name for r in run} >= {"start_round", "label_round", "improve", "retrain", "gate", "finish"}
    lineage = Dataset.load("digits-train@2").lineage
    assert set(lineage["miner"][lineage["source"] == "labeling"]) <= {
        "feedback",
        "low_confidence:margin",
        "out_of_distribution",
    }


def test_people_label_the_queue_and_the_new_examples_start_the_next_round(home: Path) -> None:
    ws = Workspace.open()
    pipeline.setup()
    chunk = pipeline.traffic_chunks(3)[0]
    serve_traffic(chunk)
    runner = loopline.LocalRunner(echo=False)
    waiting = runner.run(loop_round(pipeline.spec(labels="queue")))
    assert (waiting.state, waiting.queued, waiting.candidate) == ("no new examples", 40, None)

    on_labels = schedules.dataset_trigger(ws.store, pipeline.TRAIN, 40)
    target = f"{ROOT / 'examples/continuous_improvement/pipeline.py'}:loop"
    now = dt.datetime.now(dt.UTC)
    schedules.add_schedule(
        ws.store, "on-labels", target, ["--labels", "queue"], on_labels, now=now, created_by="ada"
    )
    assert schedules.due(ws.store, ws.store.get_schedule("on-labels"), now) is None

    queue = LabelingQueue(pipeline.LOOP)
    while tasks := queue.claim(10, labeler="ada"):
        for task, label in zip(tasks, pipeline.oracle(tasks), strict=True):
            queue.submit(task, label, labeler="ada")
    assert queue.commit(pipeline.TRAIN).added == 40

    decision = schedules.due(ws.store, ws.store.get_schedule("on-labels"), now)
    assert decision is not None and decision.slot.key == "digits-train@2"
    assert ws.store.claim_slot(decision.slot)
    assert run_slot("on-labels", decision.slot.key, Settings.from_env()) == 0
    latest = rounds(pipeline.LOOP)[-1]
    assert (latest.round, latest.state, latest.dataset_after) == (2, "promoted", "digits-train@2")
    assert ws.store.slots("on-labels")[0].state == "succeeded"


def test_a_window_limits_mining_to_recent_inferences_and_a_round_to_those_since_the_last(home: Path) -> None:
    pipeline.setup()
    first, second, _ = pipeline.traffic_chunks(3)
    traffic.serve(first, model="digits@production", seed=1)
    runner = loopline.LocalRunner(echo=False)
    queue_only = pipeline.spec(labels="queue")
    too_short = dataclasses.replace(queue_only, window=dt.timedelta(microseconds=1))
    assert runner.run(loop_round(too_short)).mined == 0  # all were logged before that
    traffic.serve(second, model="digits@production", seed=2)
    recent = dataclasses.replace(queue_only, window=dt.timedelta(days=1))
    assert runner.run(loop_round(recent)).mined == 40
    mined = {t.request_id for t in LabelingQueue(pipeline.LOOP).tasks(limit=None)}
    assert mined <= {data.request_id(row) for row in second.tolist()}  # none logged before round 1


def broken_training(data: Dataset) -> object:
    raise RuntimeError("out of memory")


def test_a_round_whose_pipeline_failed_is_marked_failed_by_the_next(home: Path) -> None:
    pipeline.setup()
    serve_traffic(pipeline.traffic_chunks(3)[0])
    base = pipeline.spec()
    broken = LoopSpec(
        base.name,
        base.model,
        base.dataset,
        base.golden,
        broken_training,
        base.scenarios,
        base.miners,
        40,
        base.oracle,
    )
    runner = loopline.LocalRunner(echo=False)
    with pytest.raises(loopline.PipelineRunError, match="out of memory"):
        runner.run(loop_round(broken))
    assert rounds(pipeline.LOOP)[0].state == "running"
    runner.run(loop_round(base))
    first, second = rounds(pipeline.LOOP)
    assert first.state == "failed" and "ended failed" in first.detail
    assert second.state == "promoted"


def test_a_loop_spec_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="must pin a version"):
        LoopSpec("l", "digits", "digits-train", "digits-golden", fit_sklearn)
    with pytest.raises(ValueError, match="budget"):
        LoopSpec("l", "digits", "digits-train", "digits-golden@1", fit_sklearn, budget=0)
    with pytest.raises(ValueError, match="window"):
        LoopSpec("l", "digits", "digits-train", "digits-golden@1", fit_sklearn, window=dt.timedelta(0))
