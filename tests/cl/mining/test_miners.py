"""Miners: low confidence, feedback, disagreement, out of distribution, label errors; and `mine`."""

from __future__ import annotations

import datetime as dt
from functools import partial

import numpy as np
import pytest

from loopline import Dataset, miners
from loopline.cl.store.records import Feedback
from loopline.cl.store.workspace import Workspace
from loopline.errors import UsageError
from loopline.inferences import InferenceLog, InferenceQuery
from loopline.miners import Candidates, InferenceTable

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def table(scores: list[list[float]], predictions: list[int] | None = None) -> InferenceTable:
    array = np.array(scores, dtype=float)
    return InferenceTable(
        request_ids=np.array([f"r{i}" for i in range(len(array))]),
        predictions=np.array(predictions if predictions is not None else array.argmax(axis=1)),
        confidence=array.max(axis=1),
        scores=array,
    )


SURE_AND_UNSURE = [[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.34, 0.33, 0.33], [0.6, 0.3, 0.1]]


# -- low confidence ------------------------------------------------------------------------------


def test_low_margin_ranks_the_most_hesitant_first() -> None:
    found = miners.low_confidence(table(SURE_AND_UNSURE)).ranked()
    assert found.ids.tolist() == ["r2", "r1", "r3", "r0"]
    first = next(iter(found))
    assert first.score == pytest.approx(0.99) and first.reason == "margin 0.010 between the top two scores"
    assert first.suggestion == 0 and first.miner == "low_confidence:margin"


def test_entropy_and_confidence_are_other_measures_of_doubt() -> None:
    by_entropy = miners.low_confidence(table(SURE_AND_UNSURE), method="entropy").ranked()
    assert by_entropy.ids[0] == "r2" and by_entropy.scores[0] == pytest.approx(1.0, abs=1e-3)
    by_confidence = miners.low_confidence(table(SURE_AND_UNSURE), method="confidence", threshold=0.5)
    assert sorted(by_confidence.ids.tolist()) == ["r1", "r2"]


def test_a_threshold_and_a_limit_keep_the_doubtful_few() -> None:
    assert miners.low_confidence(table(SURE_AND_UNSURE), threshold=0.8).ids.tolist() == ["r1", "r2"]
    assert miners.low_confidence(table(SURE_AND_UNSURE), limit=1).ids.tolist() == ["r2"]


def test_records_logged_without_scores_are_left_out() -> None:
    partial_scores = table([[0.5, 0.5], [np.nan, np.nan]])
    assert miners.low_confidence(partial_scores).ids.tolist() == ["r0"]
    no_scores = InferenceTable(np.array(["a"]), np.array([1]), np.array([np.nan]))
    assert len(miners.low_confidence(no_scores)) == 0


def test_an_unknown_method_is_named() -> None:
    with pytest.raises(UsageError, match="margin, entropy or confidence"):
        miners.low_confidence(table(SURE_AND_UNSURE), method="vibes")  # type: ignore[arg-type]


# -- feedback ------------------------------------------------------------------------------------


def feedback_table() -> InferenceTable:
    items = [
        Feedback("r0", "flag", T0, "ada"),
        Feedback("r1", "correction", T0, "bob", label=2),
        Feedback("r2", "heuristic", T0, "ignored-all", score=0.5),
        Feedback("r3", "confirmation", T0, "cy"),
        Feedback("elsewhere", "flag", T0, "ada"),
    ]
    return table(SURE_AND_UNSURE).with_feedback(items)


def test_corrections_come_before_flags_and_heuristics() -> None:
    found = list(miners.feedback(feedback_table()).ranked())
    assert [(c.id, c.score) for c in found] == [("r1", 1.0), ("r0", 0.9), ("r2", 0.4)]
    assert found[0].suggestion == 2 and found[0].reason == "a user corrected the prediction"
    assert found[1].suggestion == 0 and "flagged" in found[1].reason


def test_feedback_columns_follow_the_request_ids() -> None:
    folded = feedback_table()
    assert folded.flagged.tolist() == [True, False, False, False]  # type: ignore[union-attr]
    assert folded.confirmed.tolist() == [False, False, False, True]  # type: ignore[union-attr]
    assert folded.has_feedback.tolist() == [True, True, True, True]


# -- disagreement --------------------------------------------------------------------------------


class Always:
    def __init__(self, value: int) -> None:
        self.value = value

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.full(len(features), self.value)


def test_a_reference_model_that_disagrees_suggests_its_answer() -> None:
    logged = table(SURE_AND_UNSURE, predictions=[0, 1, 0, 1])
    found = miners.disagreement(logged, Always(0), inputs=np.zeros((4, 2)))
    assert found.ids.tolist() == ["r1", "r3"]
    assert next(iter(found)).reason == "the reference model predicts 0"


def test_a_committee_scores_by_the_share_that_disagrees() -> None:
    logged = table(SURE_AND_UNSURE, predictions=[0, 1, 0, 1])
    votes = np.array([[0, 0, 0, 0], [0, 0, 1, 1], [0, 1, 1, 1]])
    found = {c.id: c for c in miners.disagreement(logged, votes)}
    assert sorted(found) == ["r1", "r2", "r3"]
    assert found["r2"].score == pytest.approx(2 / 3) and found["r2"].suggestion == 1
    assert found["r1"].reason == "2 of 3 committee models disagree (most say 0)"


# -- out of distribution -------------------------------------------------------------------------


def test_inputs_far_from_the_training_data_are_out_of_distribution() -> None:
    rng = np.random.default_rng(0)
    training = rng.normal(size=(500, 4))
    inputs = np.vstack([rng.normal(size=(20, 4)), np.full((2, 4), 8.0)])
    logged = InferenceTable(np.array([f"r{i}" for i in range(22)]), np.zeros(22, dtype=int), np.ones(22))
    found = miners.out_of_distribution(logged, training, inputs=inputs).ranked()
    assert found.ids[:2].tolist() in (["r20", "r21"], ["r21", "r20"])
    assert found.scores[0] > 0.8 and "nearest training examples" in found.reasons[0]
    assert len(found) <= 3  # about 1% of in-distribution inputs may pass the 99% quantile


def test_ood_checks_its_inputs() -> None:
    logged = InferenceTable(np.array(["a"]), np.array([1]), np.array([1.0]))
    with pytest.raises(UsageError, match="inputs have 3 features but the reference has 4"):
        miners.out_of_distribution(logged, np.zeros((10, 4)), inputs=np.zeros((1, 3)))


# -- label errors in the training set ------------------------------------------------------------


def noisy_dataset() -> tuple[Dataset, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(3), 100)
    features = rng.normal(size=(300, 2)) + np.array([[0, 0], [9, 0], [0, 9]])[labels]
    noisy = labels.copy()
    flipped = np.array([5, 150, 250])
    noisy[flipped] = (labels[flipped] + 1) % 3
    data = Dataset("train", features, noisy, ids=[f"t{i}" for i in range(300)]).save(
        workspace=Workspace.in_memory()
    )
    return data, labels, flipped


def fit(data: Dataset) -> object:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(data.features, data.labels)


def test_confident_learning_finds_flipped_labels() -> None:
    data, labels, flipped = noisy_dataset()
    found = miners.label_errors(data, train=fit, method="builtin")
    assert set(found.ids.tolist()) == {f"t{i}" for i in flipped}
    assert found.source == "train@1" and found.miners[0] == "label_errors:builtin"
    best = {c.id: c.suggestion for c in found}
    assert best == {f"t{i}": labels[i] for i in flipped}


def test_label_errors_need_probabilities_or_a_training_function() -> None:
    data, _, _ = noisy_dataset()
    with pytest.raises(UsageError, match="pred_probs=... or train="):
        miners.label_errors(data)
    with pytest.raises(UsageError, match="one column per class"):
        miners.label_errors(data, pred_probs=np.ones((300, 2)) / 2)


def test_the_builtin_method_agrees_with_cleanlab() -> None:
    pytest.importorskip("cleanlab")
    rng = np.random.default_rng(1)
    labels = rng.integers(5, size=2000)
    logits = rng.normal(size=(2000, 5))
    logits[np.arange(2000), labels] += 2.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    noisy = np.where(rng.random(2000) < 0.1, rng.integers(5, size=2000), labels)
    data = Dataset("train", np.zeros((2000, 1)), noisy, ids=[f"t{i}" for i in range(2000)])
    ours = miners.label_errors(data, pred_probs=probs, method="builtin")
    theirs = miners.label_errors(data, pred_probs=probs, method="cleanlab")
    assert len(ours) > 50 and set(ours.ids.tolist()) == set(theirs.ids.tolist())


# -- mine: merge, budget, golden examples out ----------------------------------------------------


def test_mine_merges_miners_and_caps_by_the_budget() -> None:
    found = miners.mine(feedback_table(), [miners.feedback, miners.low_confidence], budget=2)
    assert found.ids.tolist() == ["r1", "r2"]  # a correction (1.0), then the smallest margin (0.99)
    assert found.reasons[1] == "margin 0.010 between the top two scores; also feedback"


def test_mine_never_returns_confirmed_skipped_or_golden_examples() -> None:
    golden = Dataset("golden", np.zeros((1, 2)), [0], ids=["r2"])
    found = miners.mine(feedback_table(), [miners.low_confidence], budget=10, exclude=golden, skip=["r1"])
    assert found.ids.tolist() == ["r0"]  # r3 was confirmed by a user


def test_mine_keeps_out_logged_inputs_identical_to_golden_examples() -> None:
    from loopline import models

    ws = Workspace.in_memory()
    models.register("m", Always(0), workspace=ws)
    log = InferenceLog(ws, background=False)
    inputs = np.arange(12.0).reshape(4, 3)
    log.log_batch(
        "m@1", inputs, [0, 0, 0, 0], scores=np.array(SURE_AND_UNSURE), request_ids=["a", "b", "c", "d"]
    )
    log.flush()
    logged = InferenceTable.load(InferenceQuery(model="m"), workspace=ws)
    golden = Dataset("golden", inputs[[2]], [1], ids=["golden-7"])  # the same input as request c
    found = miners.mine(logged, [partial(miners.low_confidence, method="entropy")], budget=10, exclude=golden)
    assert found.ids.tolist() == ["b", "d", "a"]


def test_a_miner_must_return_candidates() -> None:
    with pytest.raises(UsageError, match="returns Candidates"):
        miners.mine(feedback_table(), [lambda t: []], budget=3)  # type: ignore[list-item,return-value]


def test_mine_takes_one_miner_or_several() -> None:
    assert miners.mine(feedback_table(), miners.feedback, budget=1).ids.tolist() == ["r1"]


def test_mine_takes_miner_functions_and_datasets_not_their_names() -> None:
    with pytest.raises(UsageError, match="takes miner functions such as miners.feedback, got 'feedback'"):
        miners.mine(feedback_table(), ["feedback"], budget=3)  # type: ignore[list-item]
    with pytest.raises(UsageError, match=r"exclude=...\) takes Dataset values .*, got 'golden'"):
        miners.mine(feedback_table(), [miners.feedback], budget=3, exclude="golden")  # type: ignore[arg-type]


def test_candidates_of_different_sources_combine_and_keep_their_source() -> None:
    a = Candidates.of("x", ["1", "2"], [0.5, 0.9], "r")
    b = Candidates.of("y", ["2"], [0.7], "r", source="train@1")  # example "2" of train@1: another one
    both = Candidates.combine(a, b)
    assert [(c.id, c.miner) for c in both] == [("2", "x"), ("2", "y"), ("1", "x")]
    assert both.keys.tolist() == ["2", "train:2", "1"]
    assert {s: len(part) for s, part in both.by_source().items()} == {"inferences": 2, "train@1": 1}
    with pytest.raises(UsageError, match="several sources"):
        _ = both.source


def test_mine_looks_past_what_it_skips_and_agrees_with_a_full_sort() -> None:
    rng = np.random.default_rng(7)
    scores = rng.dirichlet(np.ones(3), size=5000)
    big = table(scores.tolist())
    skipped = miners.low_confidence(big).top(3000).ids.tolist()  # the best 3,000 are queued already
    found = miners.mine(big, [miners.low_confidence], budget=40, skip=skipped)
    expected = miners.low_confidence(big).ranked().ids[3000:3040].tolist()
    assert found.ids.tolist() == expected


def test_top_keeps_ties_in_id_order() -> None:
    tied = Candidates.of("m", ["d", "b", "c", "a"], [0.5, 0.9, 0.5, 0.5], "r")
    assert tied.top(3).ids.tolist() == ["b", "a", "c"]


def test_every_miner_finds_nothing_in_an_empty_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace.in_memory()
    empty = InferenceTable.load(InferenceQuery(model="nothing-logged"), workspace=ws)
    reference = np.random.default_rng(0).random((20, 4))
    found = [
        miners.low_confidence(empty),
        miners.feedback(empty),
        miners.disagreement(empty, np.array([], dtype=int)),
        miners.out_of_distribution(empty, reference),
    ]
    assert [len(c.ids) for c in found] == [0, 0, 0, 0]


@pytest.mark.parametrize("method", ["builtin", "cleanlab"])
def test_an_empty_training_set_has_no_label_errors(method: str) -> None:
    if method == "cleanlab":
        pytest.importorskip("cleanlab")
    empty = Dataset("train", np.zeros((0, 4)), np.zeros(0, dtype=int))
    assert len(miners.label_errors(empty, pred_probs=np.zeros((0, 2)), classes=[0, 1], method=method)) == 0
