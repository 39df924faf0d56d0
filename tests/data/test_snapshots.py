"""Snapshots: a table's rows in one Parquet file, the same bytes for the same rows, read back
in every form, in row groups of the source's batch size."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopline.data import DataSourceError, Query, Table, snapshot
from loopline.data.snapshots import Snapshot, write_snapshot
from loopline.data.sources import TableOrigin
from loopline.errors import UsageError
from tests.data.conftest import REVIEWS, execute


def digest(rows: Snapshot) -> str:
    return hashlib.sha256(Path(rows.path).read_bytes()).hexdigest()


def test_a_query_becomes_a_parquet_file_with_its_rows_and_origin(warehouse: str) -> None:
    rows = snapshot(Query("SELECT * FROM reviews ORDER BY id", url=warehouse))
    assert rows.num_rows == 5 and rows.columns == ["id", "text", "label"]
    assert pq.read_table(rows.path).to_pylist()[0] == {"id": 1, "text": "great", "label": 1}
    assert rows.origin == TableOrigin("query", warehouse, query="SELECT * FROM reviews ORDER BY id")
    assert rows.taken_at is not None


def test_the_same_rows_give_the_same_bytes_and_changed_rows_other_bytes(warehouse: str) -> None:
    source = Query("SELECT * FROM reviews ORDER BY id", url=warehouse)
    first, again = snapshot(source), snapshot(source)
    assert digest(first) == digest(again)
    execute(warehouse, "UPDATE reviews SET label = 1 WHERE id = 2")
    assert digest(snapshot(source)) != digest(first)


def test_row_groups_have_the_sources_batch_size_however_the_rows_arrive(warehouse: str) -> None:
    rows = snapshot(Table("reviews", url=warehouse, batch_rows=2))
    groups = [rows.metadata.row_group(i).num_rows for i in range(rows.metadata.num_row_groups)]
    assert groups == [2, 2, 1]
    assert [batch.num_rows for batch in rows.batches()] == [2, 2, 1]
    assert [batch.num_rows for batch in rows.batches(batch_rows=4)] == [4, 1]


@settings(max_examples=30)
@given(st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=8))
def test_the_bytes_do_not_depend_on_how_the_source_batched_its_rows(sizes: list[int]) -> None:
    table = pa.table({"x": list(range(40)), "y": [str(i % 3) for i in range(40)]})
    reference = write_snapshot(
        table.schema, iter(table.to_batches(max_chunksize=40)), TableOrigin("frame"), 8
    )
    batches, start = [], 0
    for size in sizes * 40:
        if start >= 40:
            break
        batches.append(table.slice(start, size).to_batches()[0])
        start += size
    again = write_snapshot(table.schema, iter(batches), TableOrigin("frame"), 8)
    assert digest(again) == digest(reference)


def test_an_empty_result_is_a_snapshot_with_the_schema_and_no_rows(warehouse: str) -> None:
    rows = snapshot(Query("SELECT * FROM reviews WHERE id < 0", url=warehouse))
    assert rows.num_rows == 0 and rows.columns == ["id", "text", "label"]
    assert rows.to_pandas().empty and list(rows.batches()) == []


def test_a_snapshot_reads_back_as_arrow_pandas_polars_batches_and_a_reader(warehouse: str) -> None:
    rows = snapshot(Table("reviews", url=warehouse, batch_rows=3))
    assert rows.to_arrow().column("text").to_pylist() == [text for _, text, _ in REVIEWS]
    assert isinstance(rows.to_pandas(), pd.DataFrame) and rows.to_pandas()["label"].sum() == 3
    assert isinstance(rows.to_polars(), pl.DataFrame) and rows.to_polars().height == 5
    assert sum(batch.num_rows for batch in rows.reader()) == 5
    assert rows.head(2).num_rows == 2 and len(rows) == 5


def test_in_memory_tables_snapshot_too() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    from_pandas = snapshot(frame)
    assert from_pandas.origin.kind == "frame" and from_pandas.to_pandas().equals(frame)
    assert digest(snapshot(pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}))) == digest(from_pandas)
    assert snapshot(from_pandas) is from_pandas


def test_other_values_cannot_be_snapshotted() -> None:
    with pytest.raises(UsageError, match="cannot snapshot a list"):
        snapshot([1, 2, 3])


def test_the_file_goes_when_the_snapshot_does(warehouse: str) -> None:
    rows = snapshot(Table("reviews", url=warehouse))
    path = Path(rows.path)
    assert path.exists()
    del rows
    assert not path.exists()


def test_a_failure_while_reading_leaves_no_file_behind() -> None:
    def failing() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch({"x": [1]})
        raise DataSourceError("the connection dropped")

    files = Path(tempfile.gettempdir()).glob
    before = set(files("loopline-snapshot-*"))
    with pytest.raises(DataSourceError, match="dropped"):
        write_snapshot(pa.schema([("x", pa.int64())]), failing(), TableOrigin("frame"), 1)
    assert set(files("loopline-snapshot-*")) - before == set()
