"""Tables at a func's boundary: a source passed to a func is snapshotted when the func is called,
stored and cached by its rows, and reaches the body in the form its annotation names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import loopline
from loopline.data import Files, Query, Schema, Snapshot, Table, snapshot
from loopline.errors import ArgumentTypeError, PipelineRunError, SerializationError
from loopline.storage.artifacts import load_value, store_value
from loopline.storage.base import ArtifactStore, MetadataStore
from tests.data.conftest import execute

CALLS: list[str] = []


@loopline.func
def total_label(rows: pd.DataFrame) -> int:
    return int(rows["label"].sum())


@loopline.func
def polars_height(rows: pl.DataFrame) -> int:
    return rows.height


@loopline.func
def arrow_texts(rows: pa.Table) -> list[str]:
    return [str(text) for text in rows.column("text").to_pylist()]


@loopline.func
def batch_sizes(rows: Iterator[pa.RecordBatch]) -> list[int]:
    return [batch.num_rows for batch in rows]


@loopline.func
def reader_rows(rows: pa.RecordBatchReader) -> int:
    return sum(batch.num_rows for batch in rows)


@loopline.func
def snapshot_origin(rows: Snapshot) -> str:
    return rows.origin.kind


@loopline.func(cache=True)
def counted(rows: pd.DataFrame) -> int:
    CALLS.append("counted")
    return len(rows)


def reviews(url: str, **options: int) -> Query:
    return Query("SELECT * FROM reviews ORDER BY id", url=url, **options)


def test_a_func_takes_a_query_as_a_pandas_dataframe(runner: loopline.LocalRunner, warehouse: str) -> None:
    assert runner.run(total_label(reviews(warehouse))) == 3


def test_polars_and_pyarrow_annotations_get_their_own_kind(
    runner: loopline.LocalRunner, warehouse: str
) -> None:
    assert runner.run(polars_height(reviews(warehouse))) == 5
    assert runner.run(arrow_texts(Table("reviews", url=warehouse)))[:2] == ["great", "awful"]


def test_an_iterator_annotation_gets_batches_of_the_sources_batch_size(
    runner: loopline.LocalRunner, warehouse: str
) -> None:
    assert runner.run(batch_sizes(reviews(warehouse, batch_rows=2))) == [2, 2, 1]
    assert runner.run(reader_rows(reviews(warehouse, batch_rows=2))) == 5


def test_a_snapshot_annotation_gets_the_snapshot(runner: loopline.LocalRunner, warehouse: str) -> None:
    assert runner.run(snapshot_origin(reviews(warehouse))) == "query"


def test_a_rerun_on_unchanged_rows_hits_the_cache(
    runner: loopline.LocalRunner, client: loopline.Client, warehouse: str
) -> None:
    CALLS.clear()
    assert runner.run(counted(reviews(warehouse))) == 5
    assert runner.run(counted(reviews(warehouse))) == 5
    assert CALLS == ["counted"]
    assert [run.state.value for run in client.runs(name="counted")] == ["cached", "succeeded"]


def test_changed_rows_miss_the_cache(runner: loopline.LocalRunner, warehouse: str) -> None:
    CALLS.clear()
    runner.run(counted(reviews(warehouse)))
    execute(warehouse, "INSERT INTO reviews VALUES (6, 'new', 1)")
    assert runner.run(counted(reviews(warehouse))) == 6
    assert CALLS == ["counted", "counted"]


def test_the_run_keeps_the_rows_it_read_after_the_table_changed(
    runner: loopline.LocalRunner, client: loopline.Client, warehouse: str
) -> None:
    future = total_label(reviews(warehouse))
    runner.run(future)
    execute(warehouse, "DELETE FROM reviews")
    stored = client.inputs(future.id)["rows"]
    assert isinstance(stored, Snapshot) and stored.num_rows == 5
    assert stored.origin.query == "SELECT * FROM reviews ORDER BY id"


def test_the_snapshot_artifact_is_summarized_with_its_origin(
    runner: loopline.LocalRunner, client: loopline.Client, warehouse: str
) -> None:
    future = total_label(reviews(warehouse))
    runner.run(future)
    artifact = client.artifact_record(client.run(future.id).inputs["rows"].artifact_id)
    assert artifact.summary["kind"] == "dataframe" and artifact.summary["shape"] == [5, 3]
    assert artifact.summary["snapshot"]["url"] == warehouse
    assert artifact.summary["rows"][0] == [1, "great", 1]


# -- schemas ----------------------------------------------------------------------------------------


@loopline.func
def typed(rows: Annotated[pd.DataFrame, Schema(id=int, text=str, label=int)]) -> int:
    return len(rows)


@loopline.func
def wants_a_score(rows: Annotated[pd.DataFrame, Schema(id=int, score=float)]) -> int:
    return len(rows)


@loopline.func
def wants_text_labels(rows: Annotated[pl.DataFrame, Schema(label=str)]) -> int:
    return rows.height


def test_a_matching_schema_passes(runner: loopline.LocalRunner, warehouse: str) -> None:
    assert runner.run(typed(reviews(warehouse))) == 5


def test_a_wrong_column_type_fails_when_the_func_is_called_naming_the_column(warehouse: str) -> None:
    with pytest.raises(
        ArgumentTypeError, match=r"parameter 'rows'.*column 'label' is int32, the schema says str"
    ):
        wants_text_labels(reviews(warehouse))


def test_a_missing_column_fails_naming_it(warehouse: str) -> None:
    with pytest.raises(ArgumentTypeError, match="column 'score' is missing"):
        wants_a_score(reviews(warehouse))


def test_an_in_memory_frame_is_checked_against_the_schema_too() -> None:
    with pytest.raises(ArgumentTypeError, match="column 'score' is missing"):
        wants_a_score(pd.DataFrame({"id": [1]}))


# -- futures, outputs, worker processes ----------------------------------------------------------


@loopline.func
def recent(url: str, since: int) -> Snapshot:
    return Query(f"SELECT * FROM reviews WHERE id >= {since} ORDER BY id", url=url)  # type: ignore[return-value]


@loopline.func
def from_memory() -> Snapshot:
    return pd.DataFrame({"id": [1, 2], "label": [0, 1]})  # type: ignore[return-value]


@loopline.func
def labels_of(url: str) -> list[int]:
    rows = recent(url, 3)
    return [total_label(rows), polars_height(rows)]  # type: ignore[list-item]


@loopline.func(standalone=True)
def total_label_in_a_worker(rows: pd.DataFrame) -> int:
    return int(rows["label"].sum())


def test_a_func_returns_a_query_as_a_snapshot_that_others_take_as_frames(
    runner: loopline.LocalRunner, warehouse: str
) -> None:
    assert runner.run(labels_of(warehouse)) == [2, 3]


def test_a_frame_returned_as_a_snapshot_is_captured(runner: loopline.LocalRunner) -> None:
    result = runner.run(from_memory())
    assert isinstance(result, Snapshot) and result.origin.kind == "frame" and result.num_rows == 2


def test_a_schema_is_checked_on_a_futures_rows_when_the_step_starts(runner: loopline.LocalRunner) -> None:
    with pytest.raises(PipelineRunError, match="wants_a_score") as failure:
        runner.run(wants_a_score(from_memory()))
    cause = failure.value.__cause__
    assert isinstance(cause, ArgumentTypeError) and "parameter 'rows'" in str(cause)
    assert "column 'score' is missing" in str(cause)


def test_a_worker_process_reads_the_snapshot_from_the_artifact_store(
    runner: loopline.LocalRunner, warehouse: str
) -> None:
    assert runner.run(total_label_in_a_worker(reviews(warehouse))) == 3


def test_a_snapshot_round_trips_through_the_artifact_store(
    stores: tuple[MetadataStore, ArtifactStore], warehouse: str
) -> None:
    _, artifacts = stores
    rows = snapshot(reviews(warehouse))
    record = store_value(rows, artifacts)
    loaded = load_value(record.id, artifacts)
    assert isinstance(loaded, Snapshot) and loaded.to_arrow().equals(rows.to_arrow())
    assert loaded.origin == rows.origin and store_value(loaded, artifacts).id == record.id


@loopline.func
def takes_the_reference(source: Query) -> str:
    return source.sql


def test_a_reference_itself_is_never_stored(runner: loopline.LocalRunner, warehouse: str) -> None:
    with pytest.raises(PipelineRunError) as failure:
        runner.run(takes_the_reference(reviews(warehouse)))
    assert isinstance(failure.value.__cause__, SerializationError)
    assert "annotate the parameter" in str(failure.value.__cause__)


def test_files_work_at_the_boundary_too(runner: loopline.LocalRunner, tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2], "label": [1, 1]}), tmp_path / "reviews.parquet")
    assert runner.run(total_label(Files(str(tmp_path / "reviews.parquet")))) == 2
