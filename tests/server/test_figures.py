"""Figures stored as artifacts are drawn as SVG by the server (when matplotlib is installed)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import loopline
from tests.server import pipelines


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
    assert response.status_code == 400
    assert "not a figure" in response.json()["detail"]
