"""Figures stored as artifacts: matplotlib ones drawn as SVG by the server, plotly ones by
plotly.js in the page (served from the plotly package, never a CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import loopline
from tests.server import pipelines
from tests.server.conftest import Seeded


def _plotly_run(stores: Any) -> str:
    pytest.importorskip("plotly", reason="plotly is not installed; plotly figures are drawn only where it is")
    metadata, artifacts = stores
    future = pipelines.plotly_plot(4)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    return future.id


def test_a_matplotlib_figure_is_served_as_svg(http: httpx.Client, stores: Any) -> None:
    pytest.importorskip(
        "matplotlib", reason="matplotlib is not installed; figures are drawn only where it is"
    )
    metadata, artifacts = stores
    future = pipelines.plot(5)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    output_id = http.get(f"/api/v1/runs/{future.id}").json()["output_id"]
    svg = http.get(f"/api/v1/artifacts/{output_id}/figure")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.lstrip().startswith("<?xml") and "<svg" in svg.text
    page = http.get(f"/fragments/panel/{future.id}", params={"tab": "io"}).text
    assert f'src="/api/v1/artifacts/{output_id}/figure"' in page


def test_other_artifacts_are_not_figures(http: httpx.Client, seeded: Any) -> None:
    output_id = http.get(f"/api/v1/runs/{seeded.fan}").json()["output_id"]
    response = http.get(f"/api/v1/artifacts/{output_id}/figure")
    assert response.status_code == 409
    assert "not a figure" in response.json()["detail"]


def test_a_plotly_figure_is_served_as_plotly_json_with_plotly_js(http: httpx.Client, stores: Any) -> None:
    run_id = _plotly_run(stores)
    output_id = http.get(f"/api/v1/runs/{run_id}").json()["output_id"]
    figure = http.get(f"/api/v1/artifacts/{output_id}/plotly")
    assert figure.status_code == 200
    assert figure.json()["data"][0]["y"] == [0, 1, 4, 9]
    page = http.get(f"/fragments/panel/{run_id}", params={"tab": "io"}).text
    assert f'data-figure="/api/v1/artifacts/{output_id}/plotly"' in page
    script = http.get("/vendor/plotly.min.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")


def test_the_style_rules_plotly_js_would_write_into_the_page_are_style_sheets(http: httpx.Client) -> None:
    pytest.importorskip("plotly", reason="plotly is not installed; plotly figures are drawn only where it is")
    sheets = {s["id"]: s["href"] for s in http.get("/vendor/plotly-sheets.json").json()["sheets"]}
    rules = http.get(sheets["plotly.js-style-global"])  # the id plotly.js looks for
    assert rules.headers["content-type"].startswith("text/css")
    assert ".js-plotly-plot .plotly .modebar {" in rules.text and "X .modebar" not in rules.text
    missing = http.get("/vendor/plotly-sheets/nothing.css")
    assert missing.status_code == 404 and "plotly-sheets.json" in missing.text


def test_only_plotly_figures_have_plotly_json(http: httpx.Client, seeded: Seeded) -> None:
    output_id = http.get(f"/api/v1/runs/{seeded.fan}").json()["output_id"]
    response = http.get(f"/api/v1/artifacts/{output_id}/plotly")
    assert response.status_code == 409
    assert "not a plotly figure" in response.json()["detail"]


@pytest.mark.browser
def test_a_plotly_figure_is_drawn_in_the_run_page(page: Any, stores: Any, shots: Path) -> None:
    run_id = _plotly_run(stores)
    page.goto(f"/runs/{run_id}?tab=io")
    page.locator(".plotly-figure .main-svg").first.wait_for()
    assert page.locator(".plotly-figure .scatterlayer .trace").count() == 1
    page.screenshot(path=shots / "plotly.png")
