"""Text contrast passes WCAG AA on every kind of page, in the light and the dark theme, by
axe-core's rules (shipped inside the axe-playwright-python package: nothing fetched)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopline.server.background import RunningServer
from tests.server.conftest import Loop, Registry, Seeded

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def axe() -> str:
    axe_playwright_python = pytest.importorskip("axe_playwright_python")
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


@pytest.fixture(scope="module")
def pages(seeded: Seeded, registry: Registry, loop: Loop) -> list[str]:
    return [
        "/runs",
        f"/runs/{seeded.showcase}",
        f"/runs/{seeded.failing}",
        f"/compare?run={seeded.showcase}&run={seeded.fan}",
        "/runs?where=n%20%3E%201",
        "/pipelines",
        "/datasets",
        "/models",
        "/reports",
        f"/reports/{registry.showcase.failing_report}",
        "/schedules",
        "/inferences",
        "/labeling",
        "/loops",
        "/api",
    ]


@pytest.fixture(params=["light", "dark"])
def themed(request: pytest.FixtureRequest, browser: Any, server: RunningServer) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, color_scheme=request.param)
    yield context.new_page()
    context.close()


CONTRAST = """async () => (await axe.run(document, {runOnly: ["color-contrast"]})).violations
    .flatMap((v) => v.nodes.map((n) => `${n.target.join(" ")}: ${n.any.map((a) => a.message).join("; ")}`))"""


def test_text_contrast_passes_wcag_aa_on_every_page(themed: Any, axe: str, pages: list[str]) -> None:
    failures = {}
    for path in pages:
        themed.goto(path)
        themed.wait_for_load_state("load")
        themed.evaluate(axe)  # evaluated by the browser's debugger, which the page's CSP allows
        if found := themed.evaluate(CONTRAST):
            failures[path] = found[:5]
    assert failures == {}
