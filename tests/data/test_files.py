"""Parquet, Arrow and CSV files as a table: one file, a folder, a glob, local or on S3 (a real
S3-compatible server on 127.0.0.1, tests/s3.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as csv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import loopline
from loopline.data import DataSourceError, Files, snapshot
from tests.data.test_funcs import total_label
from tests.s3 import S3Bucket

PART_1 = pa.table({"id": [1, 2, 3], "label": [0, 1, 0]})
PART_2 = pa.table({"id": [4, 5], "label": [1, 1]})


def ids(source: Files) -> list[int]:
    return [int(i) for i in snapshot(source).to_arrow().column("id").to_pylist()]


def test_a_parquet_file(tmp_path: Path) -> None:
    pq.write_table(PART_1, tmp_path / "a.parquet")
    rows = snapshot(Files(str(tmp_path / "a.parquet"), batch_rows=2))
    assert rows.to_arrow().equals(PART_1) and [b.num_rows for b in rows.batches()] == [2, 1]
    assert rows.origin.kind == "files" and rows.origin.files == (str(tmp_path / "a.parquet"),)


def test_csv_and_arrow_files(tmp_path: Path) -> None:
    csv.write_csv(PART_1, tmp_path / "a.csv")
    feather.write_feather(PART_2, tmp_path / "b.arrow")
    assert ids(Files(str(tmp_path / "a.csv"))) == [1, 2, 3]
    assert ids(Files(str(tmp_path / "b.arrow"))) == [4, 5]


def test_a_folder_is_read_in_sorted_order(tmp_path: Path) -> None:
    pq.write_table(PART_2, tmp_path / "part-2.parquet")
    pq.write_table(PART_1, tmp_path / "part-1.parquet")
    (tmp_path / "_SUCCESS").write_text("")
    assert ids(Files(str(tmp_path))) == [1, 2, 3, 4, 5]


def test_a_glob_picks_the_files(tmp_path: Path) -> None:
    pq.write_table(PART_1, tmp_path / "keep-1.parquet")
    pq.write_table(PART_2, tmp_path / "skip.parquet")
    assert ids(Files(f"{tmp_path}/keep-*.parquet")) == [1, 2, 3]


def test_files_with_other_columns_are_refused_naming_both(tmp_path: Path) -> None:
    pq.write_table(PART_1, tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": [9], "score": [0.5]}), tmp_path / "b.parquet")
    with pytest.raises(
        DataSourceError, match=r"b\.parquet has the columns \['id', 'score'\], but .*a\.parquet"
    ):
        snapshot(Files(str(tmp_path)))


def test_a_type_that_widens_is_converted_to_the_first_files(tmp_path: Path) -> None:
    pq.write_table(PART_1, tmp_path / "a.parquet")
    pq.write_table(
        PART_2.cast(pa.schema([("id", pa.int32()), ("label", pa.int32())])), tmp_path / "b.parquet"
    )
    assert snapshot(Files(str(tmp_path))).schema == PART_1.schema


def test_no_files_is_an_error_naming_the_url(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"no files at .*/nothing-\*\.parquet"):
        snapshot(Files(f"{tmp_path}/nothing-*.parquet"))


def test_a_file_of_unknown_format_asks_for_one(tmp_path: Path) -> None:
    (tmp_path / "data.bin").write_bytes(b"\x00")
    with pytest.raises(DataSourceError, match="give Files\\(..., format='parquet'\\)"):
        snapshot(Files(str(tmp_path / "data.bin")))


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataSourceError, match=r"cannot read .*broken\.parquet as parquet"):
        snapshot(Files(str(tmp_path / "broken.parquet")))


def test_a_malformed_csv_row_is_reported_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,label\n1,0\n2,1,surplus\n")
    with pytest.raises(DataSourceError, match=r"a\.csv.*Expected 2 columns, got 3"):
        snapshot(Files(str(tmp_path / "a.csv")))


# -- S3 -----------------------------------------------------------------------------------------------


def put_parquet(bucket: S3Bucket, key: str, table: pa.Table) -> None:
    with bucket.filesystem().open(f"{bucket.name}/{key}", "wb") as out:
        pq.write_table(table, out)


def test_parquet_files_on_s3(s3_bucket: S3Bucket) -> None:
    put_parquet(s3_bucket, "reviews/part-1.parquet", PART_1)
    put_parquet(s3_bucket, "reviews/part-2.parquet", PART_2)
    source = Files(f"{s3_bucket.url}/reviews/*.parquet", storage_options=s3_bucket.storage_options)
    rows = snapshot(source)
    assert rows.num_rows == 5 and rows.origin.url == f"{s3_bucket.url}/reviews/*.parquet"
    assert rows.origin.files == (
        f"s3://{s3_bucket.name}/reviews/part-1.parquet",
        f"s3://{s3_bucket.name}/reviews/part-2.parquet",
    )


def test_a_func_takes_s3_parquet_files_as_a_dataframe(
    s3_bucket: S3Bucket, runner: loopline.LocalRunner
) -> None:
    put_parquet(s3_bucket, "reviews.parquet", PART_1)
    source = Files(f"{s3_bucket.url}/reviews.parquet", storage_options=s3_bucket.storage_options)
    assert runner.run(total_label(source)) == 1


def test_a_missing_bucket_is_reported(s3_bucket: S3Bucket) -> None:
    source = Files("s3://no-such-bucket-here/x.parquet", storage_options=s3_bucket.storage_options)
    with pytest.raises(DataSourceError, match="no-such-bucket-here"):
        snapshot(source)
