"""Refresh the README's dashboard screenshots: `python -m tools.screenshots OUTDIR` (`make screenshots`).

Runs the showcase pipelines into a temporary store, adds the showcase's continuous-learning
records (datasets, models, regression reports, schedules, logged inferences, a labeling queue,
loop rounds), serves it on a free loopback port and takes screenshots in Debian's headless
Chromium (1440x900).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path
from typing import Any

import loopline
from loopline.cl.store.workspace import Workspace
from loopline.core.records import RunFilter
from loopline.errors import PipelineRunError
from loopline.sdk.future import Future
from loopline.server.background import serve
from loopline.settings import Settings
from loopline.storage.embedded import open_stores
from tools import showcase

CHROMIUM = "/usr/bin/chromium"


def take(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.for_home(home)
        metadata, artifacts = open_stores(settings)
        runner = loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False)
        for rows in (120, 200):
            nightly: Future[Any] = showcase.training_pipeline(rows, 120)  # type: ignore[assignment]
            runner.run(nightly.set(tags=["nightly"]))
        with contextlib.suppress(PipelineRunError):
            runner.run(showcase.label_audit(50))
        best: Future[Any] = showcase.training_pipeline(300, 1000)  # type: ignore[assignment]
        runner.run(best.set(tags=["candidate"]))

        def first(name: str) -> str:
            return metadata.list_runs(RunFilter(name=name, root_id=best.id), limit=1).runs[0].id

        failed = metadata.list_runs(RunFilter(name="check_labels"), limit=1).runs[0].id
        ws = Workspace.from_stores(metadata, artifacts)
        registry = showcase.regression_records(ws, run_id=best.id)
        showcase.loop_records(ws, registry)
        nightly_ids = [r.id for r in metadata.list_runs(RunFilter(tags=["nightly"]), limit=2).runs]
        shots = {
            "runs.png": ("/runs", None),
            "compare.png": (
                f"/compare?run={nightly_ids[0]}&run={nightly_ids[1]}&run={best.id}",
                "table.compare",
            ),
            "timeline.png": (f"/runs/{best.id}?tab=timeline", "svg.timeline"),
            "pipeline-logs.png": (f"/runs/{best.id}?tab=logs", "pre.plogs .pline"),
            "artifact.png": (f"/artifacts/{metadata.get_run(first('load_dataset')).output_id}", None),
            "run-graph.png": (f"/runs/{best.id}", None),
            "artifacts.png": (f"/runs/{first('evaluate')}?tab=io", None),
            "dataframe.png": (f"/runs/{first('load_dataset')}?tab=io", None),
            "logs.png": (f"/runs/{first('train')}?tab=logs", "#logs > div"),
            "metrics.png": (f"/runs/{first('train')}?tab=metrics", None),
            "failure.png": (f"/runs/{failed}", None),
            "pipelines.png": ("/pipelines", None),
            "datasets.png": ("/datasets/digits-train", ".ex-card img"),
            "models.png": ("/models/digits", None),
            "report.png": (f"/reports/{registry.failing_report}", None),
            "report-flips.png": (f"/reports/{registry.failing_report}#flips-9", "#flips img"),
            "schedules.png": ("/schedules", None),
            "inferences.png": ("/inferences?model=digits", "td.thumb img"),
            "labeling.png": ("/labeling/digits", "#task .task-card"),
            "loop-history.png": ("/loops/digits-loop", "svg.rounds"),
        }
        written = []
        with serve(metadata, artifacts, settings) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            for name, (path, wait_for) in shots.items():
                page.goto(server.url + path)
                if wait_for:
                    page.wait_for_selector(wait_for)
                page.wait_for_timeout(300)
                if "tab=" in path:
                    page.locator("#panel").scroll_into_view_if_needed()
                page.screenshot(path=str(out / name))
                written.append(out / name)
            dark = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme="dark")
            dark.goto(f"{server.url}/runs/{best.id}")
            dark.wait_for_selector("svg.graph .node")
            dark.screenshot(path=str(out / "run-graph-dark.png"))
            written.append(out / "run-graph-dark.png")
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("outdir", type=Path, nargs="?", default=Path("docs/screenshots"))
    args = parser.parse_args()
    for path in take(args.outdir):
        print(path)


if __name__ == "__main__":
    main()
