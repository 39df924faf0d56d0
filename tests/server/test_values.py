"""Long values stay compact: tables page over the whole artifact in a bounded box, long lists and
texts fold, and an artifact shown twice on a page is drawn once."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

import loopline
from loopline.core.records import WriteBatch
from loopline.storage.artifacts import store_value
from tests.server import pipelines
from tests.server.conftest import Seeded

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


# -- tables in the page ------------------------------------------------------------------------


def test_a_long_table_shows_its_first_rows_in_a_bounded_box_with_a_pager(
    http: httpx.Client, table: str
) -> None:
    page = http.get(f"/artifacts/{table}").text
    assert 'class="table-wrap frame-box"' in page and 'class="paged frame"' in page
    assert f'data-rows="/api/v1/artifacts/{table}/rows"' in page
    assert "rows 1\u2013100 of 1,234" in page
    assert page.count('<tr><th scope="row" data-v=') == 100


def test_a_table_shows_each_columns_stats(http: httpx.Client, table: str) -> None:
    stats = re.search(r'<tr class="col-stats">(.*?)</tr>', http.get(f"/artifacts/{table}").text, re.S)
    assert stats is not None
    cells = re.findall(r"<td>(.*?)</td>", stats.group(1), re.S)
    assert "min 0 · max 1233" in cells[0] and "mean 616.5" in cells[0]
    assert "124 missing" in cells[1]
    assert "1,234 distinct" in cells[2]


def test_a_short_table_sorts_in_the_page_without_a_pager(http: httpx.Client, seeded: Seeded) -> None:
    run_id = http.get("/api/v1/runs", params={"name": "make_table"}).json()["runs"][0]["id"]
    output = http.get(f"/api/v1/runs/{run_id}").json()["output_id"]
    page = http.get(f"/artifacts/{output}").text
    assert 'class="sortable frame"' in page and "data-rows=" not in page and "4 missing" in page


# -- folded lists and texts --------------------------------------------------------------------


def test_a_long_list_shows_its_first_items_and_folds_the_rest(http: httpx.Client, stores: Any) -> None:
    page = http.get(f"/artifacts/{stored(stores, list(range(100)))}").text
    assert "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, …]" in page
    assert '<details class="v-more"><summary>… 80 more</summary>' in page
    assert "… and 50 more items not kept in the summary" in page


def test_a_long_list_of_values_folds_after_twenty(http: httpx.Client, stores: Any) -> None:
    page = http.get(f"/artifacts/{stored(stores, [{'i': i} for i in range(30)])}").text
    shown, folded = page.split('<details class="v-more">')
    assert shown.count("<li>") == 20 and folded.count("<li>") == 10 and "… 10 more</summary>" in folded


def test_a_long_dict_folds_after_twenty_keys(http: httpx.Client, stores: Any) -> None:
    page = http.get(f"/artifacts/{stored(stores, {f'k{i}': i for i in range(25)})}").text
    assert "<summary>… 5 more keys</summary>" in page and page.index("k19") < page.index(
        "more keys"
    ) < page.index("k20")


def test_a_long_text_sits_in_a_bounded_box_that_unfolds(http: httpx.Client, stores: Any) -> None:
    artifact_id = stored(stores, "\n".join(f"line {i}" for i in range(100)))
    page = http.get(f"/artifacts/{artifact_id}").text
    assert '<pre class="v-text v-folded" tabindex="0">line 0' in page and "show all 100 lines" in page


def test_a_short_text_is_not_folded(http: httpx.Client, stores: Any) -> None:
    artifact_id = stored(stores, "two\nlines")
    page = http.get(f"/artifacts/{artifact_id}").text
    assert '<pre class="v-text">two' in page and "v-folded" not in page


# -- a value shown twice on a page is drawn once -----------------------------------------------


@loopline.func
def both(table: object, again: object) -> object:
    return table


@loopline.func
def repeated() -> object:
    table = pipelines.make_table(150)
    return both(table, table)


@pytest.fixture(scope="module")
def repeated_run(stores: Any) -> str:
    metadata, artifacts = stores
    root = repeated()
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(root)
    runs = metadata.list_runs(limit=10_000).runs
    return next(r.id for r in runs if r.name == "both" and r.root_id == root.id)


def test_an_artifact_shown_twice_in_a_panel_is_drawn_once(http: httpx.Client, repeated_run: str) -> None:
    page = http.get(f"/runs/{repeated_run}", params={"tab": "io"}).text
    assert page.count('class="v-frame"') == 1
    assert page.count('Same value as <a href="#io-input-table">input table</a>') == 2
    assert 'id="io-input-again"' in page and 'id="io-output"' in page


# -- in the browser ----------------------------------------------------------------------------


def first_row(page: Any, cell: str, text: str) -> None:
    """Waits until the table's first row shows `text` in its `cell` (th: the index, td: column n)."""
    page.locator(
        f".v-frame tbody tr:first-child {cell}:first-of-type", has_text=re.compile(f"^{text}$")
    ).wait_for()


@pytest.mark.browser
def test_a_long_table_pages_in_a_bounded_box(page: Any, table: str) -> None:
    page.goto(f"/artifacts/{table}")
    box = page.locator(".frame-box")
    assert box.bounding_box()["height"] <= 360
    status = page.locator(".page-status")
    assert status.inner_text() == "rows 1\u2013100 of 1,234"
    page.get_by_role("button", name="next →").click()
    page.locator(".page-status", has_text="rows 101\u2013200 of 1,234").wait_for()
    first_row(page, "th", "r100")
    assert page.locator(".v-frame tbody tr").count() == 100
    assert page.get_by_role("button", name="← previous").is_enabled()
    assert box.bounding_box()["height"] <= 360


@pytest.mark.browser
def test_a_long_table_sorts_over_the_whole_artifact(page: Any, table: str) -> None:
    page.goto(f"/artifacts/{table}")
    n = page.locator("button.sort-all", has_text=re.compile("^nint"))
    n.click()  # ascending
    first_row(page, "td", "0")
    n.click()  # descending
    first_row(page, "td", "1233")
    page.get_by_role("button", name="next →").click()
    first_row(page, "td", "1133")
    assert page.locator(".page-status").inner_text() == "rows 101\u2013200 of 1,234"


@pytest.mark.browser
def test_a_table_of_mixed_values_says_why_it_cannot_sort(page: Any, table: str) -> None:
    page.goto(f"/artifacts/{table}")
    page.locator("button.sort-all", has_text="mixed").click()
    page.locator(".page-status.bad", has_text="mixes values").wait_for()


@pytest.mark.browser
def test_a_long_text_unfolds(page: Any, stores: Any) -> None:
    page.goto(f"/artifacts/{stored(stores, chr(10).join(f'line {i}' for i in range(100)))}")
    text = page.locator("pre.v-folded")
    assert text.bounding_box()["height"] <= 340
    page.get_by_role("button", name="show all 100 lines").click()
    assert text.bounding_box()["height"] > 1000
    page.get_by_role("button", name="show less").click()
    assert text.bounding_box()["height"] <= 340
