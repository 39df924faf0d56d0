"""Long values stay compact: tables page over the whole artifact in a bounded box, long lists and
texts fold, and an artifact shown twice on a page is drawn once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from loopline.core.records import WriteBatch
from loopline.storage.artifacts import store_value

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

ROWS = 1_234


def stored(stores: Any, value: object) -> str:
    metadata, artifacts = stores
    record = store_value(value, artifacts)
    metadata.write(WriteBatch(artifacts=[record]))
    return record.id


def big_frame() -> Any:
    """ROWS rows; `n` is the row number shuffled, `gap` is missing on every 10th row."""
    shuffled = np.random.default_rng(7).permutation(ROWS)
    return pd.DataFrame(
        {
            "n": shuffled,
            "gap": [np.nan if i % 10 == 0 else float(i) for i in range(ROWS)],
            "word": [f"w{i:05d}" for i in range(ROWS)],
            "mixed": [i if i % 2 else f"s{i}" for i in range(ROWS)],
        },
        index=[f"r{i}" for i in range(ROWS)],
    )


@pytest.fixture(scope="module")
def table(stores: Any) -> str:
    return stored(stores, big_frame())


def rows(http: httpx.Client, artifact_id: str, **params: Any) -> httpx.Response:
    return http.get(f"/api/v1/artifacts/{artifact_id}/rows", params=params)


# -- paging over the whole artifact ------------------------------------------------------------


def test_rows_pages_are_exact_slices_of_the_whole_table(http: httpx.Client, table: str) -> None:
    page = rows(http, table, offset=1_001, limit=3).json()
    expected = big_frame().iloc[1_001:1_004]
    assert page["total"] == ROWS and page["columns"] == ["n", "gap", "word", "mixed"]
    assert page["index"] == ["r1001", "r1002", "r1003"]
    assert page["rows"] == [[int(r.n), r.gap, r.word, r.mixed] for r in expected.itertuples()]


def test_rows_default_to_fifty_and_stop_at_the_end(http: httpx.Client, table: str) -> None:
    assert len(rows(http, table).json()["rows"]) == 50
    assert rows(http, table, offset=ROWS - 4, limit=500).json()["index"] == [
        f"r{i}" for i in range(ROWS - 4, ROWS)
    ]
    assert rows(http, table, offset=ROWS + 10).json()["rows"] == []


def test_missing_cells_read_nan(http: httpx.Client, table: str) -> None:
    assert rows(http, table, limit=1).json()["rows"][0][1] == "nan"


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"offset": -1}])
def test_rows_out_of_bounds_are_refused(http: httpx.Client, table: str, params: dict[str, int]) -> None:
    assert rows(http, table, **params).status_code == 422


def test_sorting_orders_the_whole_table(http: httpx.Client, table: str) -> None:
    first = rows(http, table, sort="n", limit=3).json()
    assert [r[0] for r in first["rows"]] == [0, 1, 2]
    last = rows(http, table, sort="n", descending=1, offset=ROWS - 2).json()
    assert [r[0] for r in last["rows"]] == [1, 0] and last["sort"] == "n" and last["descending"] is True


def test_sorting_puts_missing_values_last_both_ways(http: httpx.Client, table: str) -> None:
    for descending in (0, 1):
        page = rows(http, table, sort="gap", descending=descending, offset=ROWS - 3).json()
        assert [r[1] for r in page["rows"]] == ["nan"] * 3


def test_descending_without_a_column_reverses_the_stored_order(http: httpx.Client, table: str) -> None:
    assert rows(http, table, descending=1, limit=2).json()["index"] == [f"r{ROWS - 1}", f"r{ROWS - 2}"]


def test_sorting_by_an_unknown_column_is_refused_naming_the_columns(http: httpx.Client, table: str) -> None:
    response = rows(http, table, sort="nope")
    assert response.status_code == 400 and "n, gap, word, mixed" in response.json()["detail"]


def test_sorting_by_a_column_without_order_is_refused(http: httpx.Client, table: str) -> None:
    response = rows(http, table, sort="mixed")
    assert response.status_code == 409 and "mixes values" in response.json()["detail"]


def test_rows_of_an_array_are_refused(http: httpx.Client, stores: Any) -> None:
    response = rows(http, stored(stores, np.arange(10)))
    assert response.status_code == 409 and "not a table" in response.json()["detail"]


def test_rows_of_a_series(http: httpx.Client, stores: Any) -> None:
    page = rows(http, stored(stores, pd.Series([3, 1, 2], name="s")), sort="s").json()
    assert page["columns"] == ["s"] and page["rows"] == [[1], [2], [3]]


def test_the_rows_api_is_documented_with_its_bounds(http: httpx.Client) -> None:
    operation = http.get("/openapi.json").json()["paths"]["/api/v1/artifacts/{artifact_id}/rows"]["get"]
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")["schema"]
    assert limit["maximum"] == 500 and limit["default"] == 50
    assert {"400", "409", "422"} <= set(operation["responses"])
