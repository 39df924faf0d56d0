"""Compare runs side by side, and filter the runs list by an input value or a metric."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import loopline
from loopline.core.records import RunFilter
from loopline.errors import UsageError
from loopline.server.background import RunningServer, serve
from loopline.server.pages import run_values
from loopline.settings import Settings
from loopline.storage.base import MetadataStore
from loopline.storage.embedded import open_stores
from tests.server.conftest import TIMEOUT_MS, watch


@loopline.func
def fit(lr: float, epochs: int) -> float:
    for step in range(epochs):
        loopline.log_metric("loss", 1.0 / (1.0 + step * lr * 100), step)
    return round(1.0 - lr, 3)


@loopline.func
def train(lr: float, epochs: int = 3) -> float:
    return fit(lr, epochs)


@loopline.func
def twice(lr: float) -> float:
    loopline.log_metric("loss", 0.5, pipeline=True)
    return fit(fit(lr, 2), 1)


@dataclasses.dataclass(frozen=True)
class Compared:
    server: RunningServer
    metadata: MetadataStore
    slow: str  # train(lr=0.01, epochs=3)
    fast: str  # train(lr=0.1, epochs=3)
    longer: str  # train(lr=0.01, epochs=4)


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compared]:
    settings = Settings.for_home(tmp_path_factory.mktemp("compare") / "home")
    metadata, artifacts = stores = open_stores(settings)
    runner = loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False)
    ids = []
    for lr, epochs in ((0.01, 3), (0.1, 3), (0.01, 4)):
        future = train(lr, epochs)
        runner.run(future)
        ids.append(future.id)
    with serve(*stores, settings) as server:
        yield Compared(server, metadata, *ids)


@pytest.fixture(scope="module")
def http(compared: Compared) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=compared.server.url) as client:
        yield client


def row(page: str, name: str) -> str:
    found = re.search(rf'<tr class="(\w+)" data-row="{re.escape(name)}">', page)
    assert found is not None, f"no row {name!r}"
    return found[1]


def listed(page: str) -> list[str]:
    return re.findall(r'<tr data-run-id="(\w+)"', page)


def test_the_rows_that_differ_are_marked_and_the_equal_ones_not(
    http: httpx.Client, compared: Compared
) -> None:
    page = http.get("/compare", params={"run": [compared.slow, compared.fast]}).text
    assert row(page, "lr") == "differs"
    assert row(page, "epochs") == "same"
    assert row(page, "output") == "differs"
    assert row(page, "loss") == "differs"
    assert "<code>0.01</code>" in page and "<code>0.1</code>" in page


def test_each_metric_is_one_chart_with_one_line_per_run(http: httpx.Client, compared: Compared) -> None:
    page = http.get("/compare", params={"run": [compared.slow, compared.fast, compared.longer]}).text
    charts = re.findall(r'<svg class="chart overlay".*?</svg>', page, re.S)
    assert len(charts) == 1 and "loss" in charts[0]
    assert len(re.findall(r"<polyline", charts[0])) == 3
    assert charts[0].count("legend-entry") == 3


def test_the_same_metric_of_equal_runs_is_not_marked(http: httpx.Client, compared: Compared) -> None:
    page = http.get("/compare", params={"run": [compared.slow, compared.longer]}).text
    assert row(page, "lr") == "same"
    assert row(page, "epochs") == "differs"


@pytest.mark.parametrize("count", [0, 1, 11, 60])
def test_fewer_than_two_or_more_than_ten_runs_are_refused(http: httpx.Client, count: int) -> None:
    ids = [f"{i:032x}" for i in range(count)]
    response = http.get("/compare", params={"run": ids}, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert re.search(rf"<p>Compare takes 2 to 10 different runs .*, got {count}: tick", response.text)


def test_the_same_run_twice_is_one_run(http: httpx.Client, compared: Compared) -> None:
    assert http.get("/compare", params={"run": [compared.slow, compared.slow]}).status_code == 400


def test_an_unknown_run_is_a_404_that_names_it(http: httpx.Client, compared: Compared) -> None:
    response = http.get("/compare", params={"run": [compared.slow, "f" * 32]})
    assert response.status_code == 404 and "f" * 32 in response.text


def test_a_value_filter_keeps_just_the_runs_it_holds_for(http: httpx.Client, compared: Compared) -> None:
    page = http.get("/runs", params={"where": "lr = 0.01"}).text
    assert set(listed(page)) == {compared.slow, compared.longer}
    assert "2 runs match in 3 read" in page


@pytest.mark.parametrize(
    ("where", "kept"),
    [("lr > 0.05", {"fast"}), ("lr != 0.01 and epochs = 3", {"fast"}), ("epochs >= 4", {"longer"})],
)
def test_value_filters_compare_numbers(
    http: httpx.Client, compared: Compared, where: str, kept: set[str]
) -> None:
    rows = http.get("/fragments/runs", params={"where": where})
    assert set(listed(rows.text)) == {getattr(compared, name) for name in kept}
    assert rows.headers["X-Runs-Total"].startswith(f"{len(kept)} ")


def test_a_metric_filter_reads_the_last_value_of_a_steps_metric(
    http: httpx.Client, compared: Compared
) -> None:
    # the last loss: 1 / (1 + 2 * 0.1 * 100) = 0.048 for the fast run; 0.33 and 0.25 for the others
    assert listed(http.get("/fragments/runs", params={"where": "loss < 0.1"}).text) == [compared.fast]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("loss", ["fast", "longer", "slow"]),  # last losses 0.048, 0.25, 0.33
        ("-loss", ["slow", "longer", "fast"]),
        ("-lr", ["fast", "longer", "slow"]),  # equal lr: the newer run first, as listed
        ("inputs.epochs", ["fast", "slow", "longer"]),  # equal epochs: newer first
    ],
)
def test_the_list_sorts_by_an_input_or_a_metric(
    http: httpx.Client, compared: Compared, sort: str, order: list[str]
) -> None:
    page = http.get("/runs", params={"sort": sort}).text
    assert listed(page) == [getattr(compared, name) for name in order]
    assert "Sorted among the 3 most recent runs that match" in page


def test_a_sort_and_a_filter_combine_and_runs_without_the_value_come_last(
    http: httpx.Client, compared: Compared
) -> None:
    assert listed(http.get("/runs", params={"sort": "-epochs", "where": "lr = 0.01"}).text) == [
        compared.longer,
        compared.slow,
    ]
    assert set(listed(http.get("/runs", params={"sort": "no_such_value"}).text)) == {
        compared.slow,
        compared.fast,
        compared.longer,
    }
    assert "cannot sort by" in http.get("/runs", params={"sort": "lr desc"}).text


def test_a_filter_that_cannot_be_read_says_how_to_write_one(http: httpx.Client) -> None:
    page = http.get("/runs", params={"where": "lr ~ 3"}).text
    assert "cannot read the filter" in page and "lr = 0.01" in page
    assert listed(page) == []


def test_conditions_read_names_operators_and_values() -> None:
    found = run_values.parse_conditions("inputs.lr <= 0.1 AND accuracy>0.9")
    assert [(c.where, c.name, c.op, c.value) for c in found] == [
        ("input", "lr", "<=", "0.1"),
        (None, "accuracy", ">", "0.9"),
    ]
    with pytest.raises(UsageError, match="operators = != < <= > >="):
        run_values.parse_conditions("lr =")


def test_the_scan_stops_at_its_limit_and_says_where_to_go_on(compared: Compared) -> None:
    (lr_01,) = run_values.parse_conditions("lr = 0.01")
    every = RunFilter(root_only=True)
    found = run_values.scan(compared.metadata, every, [lr_01], want=50, limit=1)
    assert found.limit_hit and found.scanned == 1 and found.next_cursor is not None
    rest = run_values.scan(compared.metadata, every, [lr_01], want=50, cursor=found.next_cursor)
    assert {r.id for r in found.runs + rest.runs} == {compared.slow, compared.longer}
    assert not rest.limit_hit and rest.next_cursor is None


def test_a_metric_several_runs_of_a_pipeline_logged_is_named_by_its_step(tmp_path: Any) -> None:
    metadata, artifacts = open_stores(Settings.for_home(tmp_path / "home"))
    future = twice(0.01)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    names = sorted(run_values.RunValues(metadata).metrics(metadata.get_run(future.id)))
    assert names[0] == "loss"  # the pipeline's own
    assert [re.sub(r"[0-9a-f]{8}", "ID", n) for n in names[1:]] == ["loss (fit ID)", "loss (fit ID)"]


# -- in the browser ------------------------------------------------------------------------------


@pytest.fixture
def page(browser: Any, compared: Compared) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=compared.server.url)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    problems: list[str] = []
    watch(context, opened, problems)
    yield opened
    assert opened.evaluate("window.__csp") == [], "the page's security policy refused something"
    context.close()
    assert problems == []


@pytest.mark.browser
def test_ticking_two_runs_and_pressing_compare_shows_them_side_by_side(page: Any, compared: Compared) -> None:
    page.goto("/runs")
    button = page.locator("#compare-button")
    assert button.is_disabled()
    page.locator(f'tr[data-run-id="{compared.slow}"] input.pick').check()
    assert button.is_disabled()
    page.locator(f'tr[data-run-id="{compared.fast}"] input.pick').check()
    assert button.inner_text() == "Compare (2)"
    button.click()
    page.wait_for_url(re.compile(r".*/compare\?run=.*"))
    assert page.locator("#compare-table thead th[data-run-id]").count() == 2
    assert page.locator('tr.differs[data-row="lr"]').is_visible()
    assert page.locator("svg.chart.overlay polyline").count() == 2
    page.get_by_label("only the differences").check()
    assert page.locator('tr[data-row="epochs"]').is_hidden()


@pytest.mark.browser
def test_the_value_filter_applies_as_it_is_typed(page: Any, compared: Compared) -> None:
    page.goto("/runs")
    page.locator(f'tr[data-run-id="{compared.fast}"] input.pick').check()
    page.get_by_label("inputs or metrics").press_sequentially("lr = 0.01")
    page.wait_for_url(re.compile(r".*where=lr.*0\.01.*"))
    page.locator(f'#runs-body tr[data-run-id="{compared.fast}"]').wait_for(state="detached")
    assert page.locator("#runs-body tr[data-run-id]").count() == 2
    assert page.locator("#total").inner_text() == "2 runs match in 3 read"
    page.locator(f'tr[data-run-id="{compared.slow}"] input.pick').check()
    assert page.locator("#compare-button").inner_text() == "Compare (2)"  # the tick outlived the search
