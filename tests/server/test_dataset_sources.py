"""The JSON API says where a dataset version imported from a table came from (the dataset page
can show it from there; the page itself waits for the server's restructuring)."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import httpx

from loopline import Dataset
from loopline.cl.store.workspace import Workspace
from loopline.data import Query


def test_a_version_imported_from_a_table_carries_its_source(
    http: httpx.Client, workspace: Workspace, tmp_path: Path
) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute(
            "CREATE TABLE reviews AS SELECT range AS id, 'r' || range AS text, range % 2 AS label FROM range(4)"
        )
    name = f"imported-{uuid.uuid4().hex[:8]}"
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    Dataset.from_table(name, Query("SELECT * FROM reviews ORDER BY id", url=url), key="id", label="label",
                       workspace=workspace)  # fmt: skip
    (version,) = http.get(f"/api/v1/datasets/{name}").json()["versions"]
    source = version["source"]
    assert (source["kind"], source["url"], source["key"], source["rows"]) == ("query", url, "id", 4)
    assert source["query"] == "SELECT * FROM reviews ORDER BY id" and len(source["snapshot_id"]) == 64
    assert http.get(f"/api/v1/artifacts/{source['snapshot_id']}").status_code == 200
