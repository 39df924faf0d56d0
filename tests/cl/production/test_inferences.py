"""Logging inferences and feedback: batching, alias resolution, idempotency, errors per record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import loopline
from loopline import Dataset, models
from loopline.cl.store.workspace import Workspace
from loopline.core.serialization import Encoded
from loopline.errors import UsageError
from loopline.inferences import (
    InferenceLog,
    InferenceNotFoundError,
    InferenceQuery,
    InvalidRecordError,
    ingest_feedback,
    ingest_inferences,
    load_input,
)
from loopline.storage.artifacts import LocalArtifactStore
from loopline.storage.base import ArtifactReader
from loopline.storage.sql.store import SqlMetadataStore
from loopline.testing import ManualClock

IMAGE = np.arange(64, dtype=float).reshape(8, 8)


class Constant:
    def __init__(self, value: int) -> None:
        self.value = value

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.full(len(features), self.value)


@pytest.fixture
def ws(sqlite_url: str, tmp_path: Path) -> Iterator[Workspace]:
    metadata = SqlMetadataStore(sqlite_url)
    workspace = Workspace.from_stores(metadata, LocalArtifactStore(tmp_path / "artifacts"))
    models.register("digits", Constant(7), workspace=workspace)
    models.promote("digits@1", "production", workspace=workspace)
    yield workspace
    metadata.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def log(ws: Workspace, clock: ManualClock) -> InferenceLog:
    return InferenceLog(ws, batch_size=3, flush_interval_s=10, clock=clock, background=False)


def test_a_logged_inference_is_recorded_with_its_input(log: InferenceLog, ws: Workspace) -> None:
    request_id = log.log("digits@production", IMAGE, 7, scores=[0.1] * 9 + [0.9], display="image 8x8")
    log.flush()
    record = ws.store.get_inference(request_id)
    assert (record.model_ref, record.alias, record.prediction, record.confidence) == (
        "digits@1",
        "production",
        7,
        0.9,
    )
    assert record.display == "image 8x8" and len(record.scores or ()) == 10
    assert np.array_equal(load_input(record, workspace=ws), IMAGE)


def test_records_wait_in_the_buffer_until_a_batch_is_full(log: InferenceLog, ws: Workspace) -> None:
    ids = [log.log("digits@production", IMAGE, 7) for _ in range(2)]
    assert log.pending == 2 and ws.store.known_request_ids(ids) == set()
    ids.append(log.log("digits@production", IMAGE, 7))
    assert log.pending == 0 and ws.store.known_request_ids(ids) == set(ids)


def test_a_batch_shares_one_input_artifact(log: InferenceLog, ws: Workspace) -> None:
    ids = [log.log("digits@1", IMAGE + i, 7, display="image 8x8") for i in range(3)]
    records = [ws.store.get_inference(i) for i in ids]
    assert len({r.batch_id for r in records}) == 1
    batch = ws.get(records[0].batch_id)
    assert isinstance(batch, Dataset) and batch.features.shape == (3, 8, 8) and batch.display == "image 8x8"


def test_the_buffer_is_written_once_its_oldest_record_is_old_enough(
    log: InferenceLog, ws: Workspace, clock: ManualClock
) -> None:
    first = log.log("digits@production", IMAGE, 7)
    clock.advance(11)
    log.log("digits@production", IMAGE, 7)
    assert log.pending == 0 and ws.store.known_request_ids([first]) == {first}


def test_an_alias_is_resolved_when_the_inference_is_logged(
    log: InferenceLog, ws: Workspace, clock: ManualClock
) -> None:
    before = log.log("digits@production", IMAGE, 7)
    models.register("digits", Constant(3), workspace=ws)
    models.promote("digits@2", "production", force=True, reason="test", workspace=ws)
    clock.advance(2)  # past the alias cache's second
    after = log.log("digits@production", IMAGE, 3)
    log.flush()
    assert [ws.store.get_inference(i).model_version for i in (before, after)] == [1, 2]


def test_a_pinned_version_names_the_alias_it_was_served_under(log: InferenceLog, ws: Workspace) -> None:
    """A model server resolves the alias itself when it predicts, and logs the version it used."""
    request_id = log.log("digits@1", IMAGE, 7, alias="production")
    log.flush()
    record = ws.store.get_inference(request_id)
    assert (record.model_version, record.alias) == (1, "production")
    with pytest.raises(InvalidRecordError, match="names an alias already"):
        log.log("digits@production", IMAGE, 7, alias="production")


def test_a_json_record_of_a_pinned_version_may_name_its_alias(ws: Workspace) -> None:
    record = {"request_id": "a", "model": "digits@1", "alias": "production", "input": [1], "prediction": 7}
    assert ingest_inferences([record], workspace=ws).accepted == ("a",)
    assert ws.store.get_inference("a").alias == "production"
    bad = ingest_inferences([{**record, "request_id": "b", "alias": "3"}], workspace=ws)
    assert "cannot be an alias" in bad.rejected[0].error


def test_logging_a_request_id_twice_keeps_the_first_record_and_says_so(
    log: InferenceLog, ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    log.log("digits@production", IMAGE, 7, request_id="r1")
    log.flush()
    log.log("digits@production", IMAGE, 3, request_id="r1")
    assert log.flush() == []
    record = ws.store.get_inference("r1")
    assert (record.prediction, record.relogged, log.relogged) == (7, 1, 1)
    assert "reuse a request id recorded before (r1)" in caplog.text


def test_feedback_on_a_buffered_request_flushes_it_first(log: InferenceLog, ws: Workspace) -> None:
    request_id = log.log("digits@production", IMAGE, 7)
    saved = log.feedback(request_id, "correction", label=9, source="user-42")
    assert log.pending == 0
    assert (saved.kind, saved.label, saved.source) == ("correction", 9, "user-42")
    assert ws.store.list_feedback(request_ids=[request_id]) == [saved]


def test_feedback_on_an_unknown_request_is_refused(log: InferenceLog) -> None:
    with pytest.raises(InferenceNotFoundError, match="'ghost'.*log the inference first"):
        log.feedback("ghost", "flag")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prediction": object()}, "prediction must be a JSON value"),
        ({"scores": [0.5, float("nan")]}, "scores must be finite"),
        ({"scores": [5, 6, 7]}, r"scores must be class probabilities between 0 and 1.*softmax"),
        ({"confidence": 2}, r"confidence must be between 0 and 1 \(how sure"),
        ({"time": dt.datetime(2030, 1, 1)}, "must carry a time zone"),
        ({"model": "nope@production"}, "no model named 'nope'"),
        ({"model": "digits@candidate"}, "points at no version yet"),
        ({"request_id": ""}, "request_id must be a non-empty string"),
        ({"display": "picture"}, "display='picture'"),
        ({"metadata": {"when": dt.date(2030, 1, 1)}}, "metadata must hold JSON values"),
    ],
)
def test_a_malformed_record_is_refused_when_logged(
    log: InferenceLog, changes: dict[str, Any], message: str
) -> None:
    fields: dict[str, Any] = {"model": "digits@production", "input": IMAGE, "prediction": 7, **changes}
    with pytest.raises(InvalidRecordError, match=message):
        log.log(fields.pop("model"), fields.pop("input"), fields.pop("prediction"), **fields)
    assert log.pending == 0


def test_log_batch_records_one_call_of_a_batch_model(log: InferenceLog, ws: Workspace) -> None:
    scores = np.eye(10)[[7, 7, 1, 7]]
    ids = log.log_batch("digits@production", np.stack([IMAGE] * 4), [7, 7, 1, 7], scores=scores)
    assert log.pending == 0 and len(ids) == 4
    assert [r.prediction for r in ws.store.list_inferences(InferenceQuery(request_ids=tuple(ids)))].count(
        1
    ) == 1


def test_a_failed_write_keeps_the_records_buffered(ws: Workspace, clock: ManualClock) -> None:
    flaky = FailingOnce(ws.artifacts)
    log = InferenceLog(Workspace(ws.store, ws.metadata, flaky), batch_size=100, clock=clock, background=False)
    ids = [log.log("digits@production", IMAGE, 7) for _ in range(5)]
    with pytest.raises(OSError, match="disk full"):
        log.flush()
    assert log.pending == 5
    assert sorted(log.flush()) == sorted(ids)


def test_closing_the_log_writes_what_is_buffered(ws: Workspace) -> None:
    with InferenceLog(ws) as log:
        request_id = log.log("digits@production", "a text input", 7, display="text")
    assert load_input(ws.store.get_inference(request_id), workspace=ws) == "a text input"


def test_rows_and_texts_are_kept_as_they_are(log: InferenceLog, ws: Workspace) -> None:
    row = log.log("digits@production", {"age": 31, "country": "FR"}, 1, display="table")
    text = log.log("digits@production", "great product", 1, display="text")
    log.flush()
    assert load_input(ws.store.get_inference(row), workspace=ws) == {"age": 31, "country": "FR"}
    assert ws.get(ws.store.get_inference(text).batch_id).display == "text"


def test_the_module_functions_use_the_workspace_of_loopline_home(home: Path) -> None:
    models.register("digits", Constant(7))
    request_id = loopline.inferences.log("digits@1", [1.0, 2.0], 7)
    loopline.inferences.feedback(request_id, "flag")
    assert loopline.inferences.flush() == []  # the feedback wrote it already
    assert loopline.inferences.get(request_id).model_ref == "digits@1"
    assert [r.request_id for r in loopline.inferences.find(InferenceQuery(feedback="flag"))] == [request_id]


# -- JSON batches (what the REST endpoints call) -----------------------------------------------


def test_a_json_batch_is_checked_record_by_record(ws: Workspace) -> None:
    result = ingest_inferences(
        [
            {"request_id": "a", "model": "digits@production", "input": [1, 2, 3], "prediction": 7},
            {
                "request_id": "b",
                "model": "digits",
                "model_version": 1,
                "input": [1, 2, 4],
                "prediction": 1,
                "scores": [0.2, 0.8],
                "time": "2030-01-01T12:00:00Z",
                "metadata": {"user": "u1"},
            },
            {"request_id": "c", "model": "digits@production", "prediction": 7},
            {"request_id": "d", "model": "digits@production", "input": [1], "prediction": 7, "colour": "red"},
        ],
        workspace=ws,
    )
    assert result.accepted == ("a", "b")
    assert [(p.index, p.request_id) for p in result.rejected] == [(2, "c"), (3, "d")]
    assert "missing field(s): input" in result.rejected[0].error and "'colour'" in result.rejected[1].error
    assert ws.store.get_inference("b").logged_at == dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    assert result.to_json()["rejected"][0]["index"] == 2


def test_a_json_batch_sent_twice_is_recorded_once(ws: Workspace) -> None:
    batch = [{"request_id": "a", "model": "digits@production", "input": [1, 2], "prediction": 7}]
    ingest_inferences(batch, workspace=ws)
    again = ingest_inferences(batch, workspace=ws)
    assert (again.accepted, again.duplicates) == ((), ("a",))
    assert ws.store.count_inferences() == 1


def test_json_feedback_on_unknown_requests_is_rejected_per_record(ws: Workspace) -> None:
    ingest_inferences([{"request_id": "a", "model": "digits@1", "input": [1], "prediction": 7}], workspace=ws)
    result = ingest_feedback(
        [
            {"request_id": "ghost", "kind": "flag"},
            {"request_id": "a", "kind": "correction", "label": 9, "source": "user-7"},
            {"request_id": "a", "kind": "correction"},
            {"request_id": "a", "kind": "like"},
        ],
        workspace=ws,
    )
    assert result.accepted == ("a",)
    assert [p.index for p in result.rejected] == [0, 2, 3]
    assert "log the inference first" in result.rejected[0].error
    assert "needs label=" in result.rejected[1].error and "flag, correction" in result.rejected[2].error
    assert ws.store.list_feedback()[0].source == "user-7"


class FailingOnce:
    """An artifact store whose first write fails, as a full disk would."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.url = inner.url
        self.failed = False

    def put(self, encoded: Encoded) -> str:
        if not self.failed:
            self.failed = True
            raise OSError("disk full")
        return str(self.inner.put(encoded))

    def open(self, artifact_id: str) -> ArtifactReader:
        return self.inner.open(artifact_id)  # type: ignore[no-any-return]

    def exists(self, artifact_id: str) -> bool:
        return bool(self.inner.exists(artifact_id))

    def delete(self, artifact_id: str) -> None:
        self.inner.delete(artifact_id)

    def ids(self) -> Iterator[str]:
        return iter(self.inner.ids())


def test_a_query_for_an_unknown_kind_of_feedback_is_refused() -> None:
    with pytest.raises(UsageError, match="takes one of 'flag', 'correction'.*got 'wrong'"):
        InferenceQuery(feedback="wrong")  # type: ignore[arg-type]
