"""`loopline datasets import`: a table (or files) as a new dataset version, from the shell."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from loopline import Dataset
from loopline.cl.store.workspace import Workspace
from loopline.cli.main import cli


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE reviews AS SELECT range AS id, 'review ' || range AS text, range % 2 AS label FROM range(6)"
        )
    return f"duckdb:///{path}"


def test_a_query_becomes_a_version_and_show_says_where_it_came_from(home: Path, warehouse: str) -> None:
    code, out = invoke(
        "datasets", "import", warehouse, "--name", "reviews", "--query", "SELECT * FROM reviews WHERE id < 4 ORDER BY id",
        "--key", "id", "--label", "label", "--features", "text",
    )  # fmt: skip
    assert code == 0, out
    assert " ".join(out.split()).startswith(
        "reviews@1: 4 examples from query SELECT * FROM reviews WHERE id < 4 ORDER BY id on duckdb:///"
    )
    assert Dataset.load("reviews@1").features.tolist() == ["review 0", "review 1", "review 2", "review 3"]
    code, out = invoke("datasets", "show", "reviews@1")
    assert code == 0 and "source query SELECT * FROM reviews WHERE id < 4" in " ".join(out.split())
    assert "key 'id'" in out and "snapshot" in out


def test_a_table_and_a_folder_of_parquet_files(home: Path, warehouse: str, tmp_path: Path) -> None:
    assert invoke("datasets", "import", warehouse, "-n", "all", "--table", "reviews", "--key", "id")[0] == 0
    pq.write_table(pa.table({"id": ["a", "b"], "x": [1.0, 2.0]}), tmp_path / "part-0.parquet")
    code, out = invoke("datasets", "import", str(tmp_path), "-n", "files", "--key", "id")
    assert code == 0 and "2 examples from files at" in out, out
    source = Workspace.open().store.get_dataset_version("files").source
    assert source is not None and source.kind == "files"


def test_a_database_url_needs_a_query_or_a_table(home: Path, warehouse: str) -> None:
    code, out = invoke("datasets", "import", warehouse, "--name", "reviews", "--key", "id")
    assert code == 1 and "is a database: say what to read from it" in out


def test_a_query_error_is_one_clear_line(home: Path, warehouse: str) -> None:
    code, out = invoke("datasets", "import", warehouse, "-n", "r", "-q", "SELECT * FROM nope", "-k", "id")
    assert code == 1 and "Table with name nope does not exist" in out and "Traceback" not in out
