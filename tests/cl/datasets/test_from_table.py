"""`Dataset.from_table`: a table's rows become a dataset version; each example keeps its row's
key, and the version records the query, the source and the snapshot it was read from."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import loopline
from loopline import Dataset
from loopline.cl.store.workspace import Workspace
from loopline.data import Query, Snapshot, Table
from loopline.errors import UsageError


@pytest.fixture
def ws() -> Workspace:
    return Workspace.in_memory()


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE reviews AS SELECT * FROM (VALUES (10, 'great', 1, 'web'), (11, 'awful', 0, 'app'), "
            "(12, 'fine', 1, 'web')) AS t(id, text, label, channel)"
        )
    return f"duckdb:///{path}"


def reviews(url: str) -> Query:
    return Query("SELECT * FROM reviews ORDER BY id", url=url)


def test_rows_become_examples_whose_ids_and_lineage_are_the_row_keys(ws: Workspace, warehouse: str) -> None:
    data = Dataset.from_table(
        "reviews", reviews(warehouse), key="id", label="label", features="text", workspace=ws
    )
    assert data.ref == "reviews@1" and data.ids.tolist() == ["10", "11", "12"]
    assert data.features.tolist() == ["great", "awful", "fine"] and data.labels.tolist() == [1, 0, 1]
    assert data.lineage["source"].tolist() == ["table"] * 3
    assert data.lineage["row_key"].tolist() == ["10", "11", "12"]


def test_the_version_records_where_it_came_from(ws: Workspace, warehouse: str) -> None:
    Dataset.from_table("reviews", reviews(warehouse), key="id", label="label", workspace=ws)
    source = ws.store.get_dataset_version("reviews").source
    assert source is not None and source.kind == "query" and source.url == warehouse
    assert source.query == "SELECT * FROM reviews ORDER BY id" and source.key == "id" and source.rows == 3
    assert source.taken_at is not None
    stored = ws.get(source.snapshot_id)
    assert isinstance(stored, Snapshot) and stored.to_pandas()["text"].tolist() == ["great", "awful", "fine"]
    assert ws.store.get_dataset_version("reviews").message.startswith(
        "imported from query SELECT * FROM reviews"
    )


def test_features_default_to_the_other_columns_and_metadata_can_be_picked(
    ws: Workspace, warehouse: str
) -> None:
    data = Dataset.from_table("reviews", Table("reviews", url=warehouse), key="id", label="label",
                              metadata=["channel"], workspace=ws)  # fmt: skip
    assert isinstance(data.features, pd.DataFrame) and list(data.features.columns) == ["text"]
    assert data.metadata["channel"].tolist() == ["web", "app", "web"]


def test_a_column_of_equal_length_number_lists_becomes_a_2d_array(ws: Workspace, tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'images.duckdb'}"
    with duckdb.connect(url.removeprefix("duckdb:///")) as con:
        con.execute(
            "CREATE TABLE images AS SELECT range AS id, [range, range * 2.5]::DOUBLE[] AS pixels FROM range(3)"
        )
    data = Dataset.from_table("images", Table("images", url=url), key="id", features="pixels", workspace=ws)
    assert data.features.shape == (3, 2) and data.features[2].tolist() == [2.0, 5.0]


def test_importing_unchanged_rows_again_keeps_the_version(ws: Workspace, warehouse: str) -> None:
    first = Dataset.from_table("reviews", reviews(warehouse), key="id", label="label", workspace=ws)
    again = Dataset.from_table("reviews", reviews(warehouse), key="id", label="label", workspace=ws)
    assert again.version == first.version == 1


def test_changed_rows_make_a_new_version_diffed_by_key(ws: Workspace, warehouse: str) -> None:
    Dataset.from_table("reviews", reviews(warehouse), key="id", label="label", workspace=ws)
    with duckdb.connect(warehouse.removeprefix("duckdb:///")) as con:
        con.execute(
            "UPDATE reviews SET label = 0 WHERE id = 12; INSERT INTO reviews VALUES (13, 'new', 1, 'app')"
        )
    data = Dataset.from_table("reviews", reviews(warehouse), key="id", label="label", workspace=ws)
    version = ws.store.get_dataset_version("reviews")
    assert data.version == 2 and (version.added, version.removed, version.changed) == (1, 0, 1)


def test_a_missing_column_is_named_with_the_columns_there_are(ws: Workspace, warehouse: str) -> None:
    with pytest.raises(UsageError, match="the table has no column 'target'; its columns: 'id', 'text'"):
        Dataset.from_table("reviews", reviews(warehouse), key="id", label="target", workspace=ws)


def test_a_key_must_be_unique(ws: Workspace, warehouse: str) -> None:
    with pytest.raises(UsageError, match="key column 'label' is not unique: repeated keys 1"):
        Dataset.from_table("reviews", reviews(warehouse), key="label", workspace=ws)


def test_a_snapshot_a_func_received_can_become_a_dataset(home: Path, warehouse: str) -> None:
    @loopline.func
    def import_reviews(rows: Snapshot) -> int:
        return Dataset.from_table("reviews", rows, key="id", label="label", features="text").version or 0

    runner = loopline.LocalRunner(home=home, echo=False)
    assert runner.run(import_reviews(reviews(warehouse))) == 1
    version = Workspace.open().store.get_dataset_version("reviews")
    assert version.run_id is not None and version.source is not None and version.source.url == warehouse
    assert np.array_equal(Dataset.load("reviews@1").labels, [1, 0, 1])
