"""Labels that turn out wrong never stay in the training data: a round's labels are a candidate
dataset version, canonical only when the round's model passes the gate (or a person accepts
them); a blocked round's labels go back to review with the gate's reasons; quality control
catches a sloppy labeler before the gate has to. On the digits demo, fixed seeds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import loopline
from examples.continuous_improvement import data, demo, pipeline, traffic
from loopline import Dataset, models
from loopline.cl.loop import LoopSpec, accept_round, loop_round
from loopline.cl.store.errors import RoundStateError
from loopline.cl.store.records import LoopRound
from loopline.labeling import LabelingQueue, QualityControl

QUALITY = QualityControl(
    gold=f"{pipeline.GOLD}@1", gold_share=0.25, min_accuracy=0.9, min_gold=5, agreement=0.2
)


def run_round(spec: LoopSpec, chunk: int, *, chunks: int = 3) -> LoopRound:
    """Serve traffic chunk `chunk` (of `chunks`) with production, then run one round."""
    traffic.serve(pipeline.traffic_chunks(chunks)[chunk], model="digits@production", seed=chunk + 1)
    return loopline.LocalRunner(echo=False).run(loop_round(spec))


def spec_with(**changes: object) -> LoopSpec:
    pipeline.setup()
    return dataclasses.replace(pipeline.spec(), **changes)  # type: ignore[arg-type]


def truth(example_id: str) -> int:
    return int(data.split().labels[data.row_of(example_id)])


def canonical_labels() -> dict[str, int]:
    latest = Dataset.load(pipeline.TRAIN)
    assert latest.labels is not None
    return dict(zip(latest.ids.tolist(), latest.labels.tolist(), strict=True))


def test_a_blocked_rounds_labels_stay_out_of_the_dataset_and_go_back_to_review_blamed(home: Path) -> None:
    blocked = run_round(spec_with(oracle=pipeline.seven_to_one), 0)
    assert (blocked.state, blocked.promoted, blocked.production_after) == ("blocked", False, "digits@1")
    assert "digit 7" in blocked.detail and blocked.returned == 40
    assert Dataset.load(pipeline.TRAIN).version == 1  # nothing of the round is canonical
    (proposed,) = [v for v in Dataset.versions(pipeline.TRAIN) if v.ref == blocked.proposed]
    assert proposed.state == "rejected" and "digit 7" in proposed.decision
    tasks = LabelingQueue(pipeline.LOOP).tasks(["labeled"], limit=None)
    assert len(tasks) == 40 and all("was blocked by the gate: digit 7" in t.review_reason for t in tasks)
    bad = {t.id for t in tasks if truth(t.example_id) == 7}  # every 7 was labeled 1
    blamed = sorted(tasks, key=lambda t: -(t.blame or 0))[: len(bad)]
    assert len(bad) >= 5 and sum(t.id in bad for t in blamed) >= 0.8 * len(bad)
    assert set(list(blocked.blamed)[:3]) <= {t.example_id for t in tasks if t.id in bad}


def test_the_seven_to_one_labeler_never_gets_promoted_and_its_labels_wait_in_review(home: Path) -> None:
    spec = spec_with(oracle=pipeline.seven_to_one)
    history = [run_round(spec, chunk) for chunk in range(2)]
    assert [r.state for r in history] == ["blocked", "blocked"]
    assert models.aliases(pipeline.MODEL)["production"] == 1
    assert len(Dataset.load(pipeline.TRAIN)) == len(Dataset.load(f"{pipeline.TRAIN}@1"))
    assert LabelingQueue(pipeline.LOOP).counts()["labeled"] == 80


def test_a_person_accepts_a_blocked_rounds_labels_and_is_recorded(home: Path) -> None:
    blocked = run_round(spec_with(oracle=pipeline.random_labels), 0)
    assert blocked.state == "blocked" and blocked.proposed is not None
    accepted = accept_round(pipeline.LOOP, blocked.round, by="ada", reason="checked them by hand")
    assert (accepted.state, accepted.accepted_by, accepted.dataset_after) == (
        "accepted",
        "ada",
        blocked.proposed,
    )
    assert Dataset.load(pipeline.TRAIN).ref == blocked.proposed
    assert LabelingQueue(pipeline.LOOP).counts() == {"committed": 40}
    assert models.aliases(pipeline.MODEL)["production"] == 1  # labels only, unless promote_candidate
    with pytest.raises(RoundStateError, match="is accepted: only the labels of a blocked round"):
        accept_round(pipeline.LOOP, blocked.round, by="ada", reason="again")


def test_accepting_with_the_model_is_a_forced_promotion(home: Path) -> None:
    blocked = run_round(spec_with(oracle=pipeline.random_labels), 0)
    accepted = accept_round(
        pipeline.LOOP, blocked.round, by="ada", reason="the regression is expected", promote_candidate=True
    )
    assert accepted.production_after == blocked.candidate
    (move,) = [m for m in models.history(pipeline.MODEL, "production") if m.forced]
    assert "accepted by ada" in move.reason


def test_with_review_on_and_nobody_approving_a_round_says_how_many_labels_wait(home: Path) -> None:
    waiting = run_round(spec_with(review=True), 0)
    assert (waiting.state, waiting.waiting, waiting.candidate) == ("waiting for review", 40, None)
    assert "40 labeled tasks wait for review" in waiting.detail
    queue = LabelingQueue(pipeline.LOOP)
    for task in queue.tasks(["labeled"], limit=10):
        queue.review(task, approve=True, reviewer="linus")
    approved = loopline.LocalRunner(echo=False).run(loop_round(spec_with(review=True)))
    assert (approved.state, approved.waiting) == ("promoted", 30)
    assert len(Dataset.load(pipeline.TRAIN)) == len(Dataset.load(f"{pipeline.TRAIN}@1")) + 10


def test_a_sloppy_labeler_is_caught_by_quality_control_and_production_never_gets_worse(home: Path) -> None:
    """Ada labels right, Bob wrong on 30%: gold questions and a second labeler on 20% catch Bob."""
    spec = spec_with(oracle=None, labelers={"ada": pipeline.oracle, "bob": pipeline.sloppy}, quality=QUALITY)
    start = pipeline.production_accuracy(models.load("digits@production"))["production accuracy"]
    history = [run_round(spec, chunk) for chunk in range(3)]
    end = history[-1].metrics["production accuracy"]
    assert end >= start and any(r.promoted for r in history)
    report = LabelingQueue(pipeline.LOOP).quality()
    assert report.labeler("bob").below_threshold and not report.labeler("ada").below_threshold
    bob_accuracy = report.labeler("bob").gold_accuracy
    assert bob_accuracy is not None and bob_accuracy < 0.9
    flagged = [
        t for t in LabelingQueue(pipeline.LOOP).tasks(limit=None) if t.kind == "label" and t.review_reason
    ]
    assert flagged and all(t.state == "labeled" for t in flagged)
    committed = canonical_labels()
    assert all(t.example_id not in committed for t in flagged)  # no flagged label in the dataset
    assert all(value == truth(i) for i, value in committed.items() if i.startswith("req-"))
    assert history[-1].quality["bob"]["below_threshold"] is True


def test_quality_numbers_match_scikit_learn(home: Path) -> None:
    from sklearn.metrics import accuracy_score, cohen_kappa_score

    spec = spec_with(oracle=None, labelers={"ada": pipeline.oracle, "bob": pipeline.sloppy}, quality=QUALITY)
    run_round(spec, 0)
    queue = LabelingQueue(pipeline.LOOP)
    report = queue.quality()
    tasks = queue.tasks(limit=None)
    gold = [t for t in tasks if t.kind == "gold" and t.labeled_by == "bob"]
    expected = accuracy_score([t.gold_label for t in gold], [t.label for t in gold])
    assert report.labeler("bob").gold_accuracy == pytest.approx(expected)
    assert report.pairs and report.kappa == pytest.approx(
        cohen_kappa_score([a for a, _ in report.pairs], [b for _, b in report.pairs])
    )


def test_label_errors_can_mine_inside_a_loop(home: Path) -> None:
    """The cleanlab miner re-checks the training data: a flipped training label comes back as a
    relabeling task, and the oracle's label replaces it in the dataset."""
    pipeline.setup()
    train = Dataset.load(pipeline.TRAIN)
    assert train.labels is not None
    flipped = train.ids[:5].tolist()
    labels = train.labels.copy()
    labels[:5] = (labels[:5] + 5) % 10
    Dataset(pipeline.TRAIN, train.features, labels, ids=train.ids, display="image 8x8").save(
        "five bad labels"
    )
    spec = spec_with(miners=(*pipeline.MINERS, loopline.miners.label_errors), budget=40)
    done = run_round(spec, 0)
    relabeled = [
        t for t in LabelingQueue(pipeline.LOOP).tasks(limit=None) if t.source.startswith(pipeline.TRAIN)
    ]
    assert relabeled and done.promoted
    assert {t.example_id for t in relabeled} & set(flipped)
    fixed = canonical_labels()
    assert all(fixed[i] == truth(i) for i in {t.example_id for t in relabeled})


def test_the_same_images_served_again_are_not_mined_again(home: Path) -> None:
    """After a promotion, production serves the same images again under new request ids: the
    next round mines none of the images labeled already (content, not only the request id)."""
    spec = spec_with()
    first = run_round(spec, 0)
    assert first.promoted
    chunk = pipeline.traffic_chunks(3)[0]
    again = [f"again-{row}" for row in chunk.tolist()]
    production = models.load("digits@production")
    features = data.split().features[chunk]
    with loopline.inferences.InferenceLog(background=False) as log:
        log.log_batch(
            "digits@production",
            features,
            production.predict(features),
            scores=production.predict_proba(features),
            request_ids=again,
            display="image 8x8",
        )
    second = loopline.LocalRunner(echo=False).run(loop_round(spec))
    labeled_before = {
        data.row_of(t.example_id)
        for t in LabelingQueue(pipeline.LOOP).tasks(limit=None)
        if t.committed_to == first.proposed
    }
    mined_now = [t for t in LabelingQueue(pipeline.LOOP).tasks(limit=None) if t.key.startswith("again-")]
    assert second.mined == len(mined_now) > 0
    assert not {int(t.key.removeprefix("again-")) for t in mined_now} & labeled_before


def test_mining_sees_every_version_served_since_the_previous_round(home: Path) -> None:
    spec = spec_with()
    first = run_round(spec, 0)
    assert first.promoted and first.production_after == "digits@2"
    traffic.serve(pipeline.traffic_chunks(3)[1][:60], model="digits@1", seed=5)  # a canary of the old model
    traffic.serve(pipeline.traffic_chunks(3)[1][60:], model="digits@production", seed=6)
    loopline.LocalRunner(echo=False).run(loop_round(spec))
    queue = LabelingQueue(pipeline.LOOP)
    store = queue.workspace.store
    versions = {
        store.get_inference(t.request_id).model_version for t in queue.tasks(limit=None) if t.request_id
    }
    assert versions >= {1, 2}


def test_a_request_id_logged_again_is_reported_by_the_round(home: Path) -> None:
    spec = spec_with()
    run_round(spec, 0)
    chunk = pipeline.traffic_chunks(3)[0][:12]
    traffic.serve(chunk, model="digits@production", seed=9)  # the same request ids, again
    second = loopline.LocalRunner(echo=False).run(loop_round(spec))
    assert second.relogged == 12 and "12 request ids were logged again" in second.detail
    store = LabelingQueue(pipeline.LOOP).workspace.store
    assert store.get_inference(data.request_id(int(chunk[0]))).relogged == 1


def test_the_built_in_miners_with_content_de_duplication_reach_the_clean_oracles_lift(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three rounds where production sees earlier images again under new request ids: the
    built-in miners (feedback, low confidence) get within a tenth of the lift of an oracle miner
    that picks exactly the images production got wrong, not significantly worse on the
    held-out slice (McNemar, scipy), and never spend a label on an image labeled before."""
    from scipy.stats import binomtest

    built_in = demo.run(
        rounds=3, budget=40, miners=(loopline.miners.feedback, loopline.miners.low_confidence), replay=True
    )
    built_in_model = models.load("digits@production")
    prints = Dataset.load(pipeline.TRAIN).fingerprints()
    monkeypatch.setenv("LOOPLINE_HOME", str(tmp_path / "oracle-miner"))
    oracle = demo.run(rounds=3, budget=40, miners=(pipeline.misclassified,), replay=True)
    oracle_model = models.load("digits@production")
    lift = built_in[-1].accuracy - built_in[0].accuracy
    oracle_lift = oracle[-1].accuracy - oracle[0].accuracy
    assert oracle_lift > 0.15 and lift >= 0.9 * oracle_lift
    split = data.split()
    held_out = split.features[split.held_out], split.labels[split.held_out]
    ours, theirs = (m.predict(held_out[0]) == held_out[1] for m in (built_in_model, oracle_model))
    worse, better = int((theirs & ~ours).sum()), int((~theirs & ours).sum())
    assert binomtest(worse, worse + better, 0.5, alternative="greater").pvalue >= 0.05
    assert len(set(prints.tolist())) == len(prints)  # no image labeled twice


def test_a_loop_never_loosens_the_review_a_person_configured(home: Path) -> None:
    spec = spec_with()  # review and quality: as the queue is configured
    LabelingQueue(pipeline.LOOP).configure(dataset=pipeline.TRAIN, review=True, by="linus")
    waiting = run_round(spec, 0)
    assert (waiting.state, waiting.waiting) == ("waiting for review", 40)
    assert LabelingQueue(pipeline.LOOP).settings.review is True
