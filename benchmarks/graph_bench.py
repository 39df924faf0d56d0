"""Huge graphs stay readable (issue 17.3): three 10,000-run pipelines drawn in headless Chromium.

    .venv/bin/python -m benchmarks.graph_bench [--out benchmarks/RESULTS_graphs.md]

- a chain of 10,000 calls of one function, each fed by the one before;
- a fan-out of 10,000 calls of one function, joined by one;
- a 100 x 100 nested grid: 100 nested `row` funcs in a chain, each a chain of 100 calls of two
  functions taking turns (nothing of one function to fold).

For each: the boxes drawn (the node budget is 80), the drawing's size, the zoom "fit" picks in a
1440 x 900 window and the label size that gives, and the cold load (the server lays the pipeline
out again) from navigation start to the graph drawn, median of 5. Runs are written directly as
RunRecords into a fresh store, served by `loopline server` in its own process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.server_bench import CHROMIUM_ARGS, _run, server_process
from loopline.core.records import InputRef, RunRecord, RunState, WriteBatch
from loopline.server.rendering.graph_layout import NODE_BUDGET

LABEL_PX = 12.5  # the graph's label font size at zoom 1 (app.css: svg.graph text)
DRAWN = (
    "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"
)
FIT = """() => {
    const view = document.querySelector('#graph'); const svg = view.querySelector('svg.graph');
    const [, , w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
    return [w, h, Number(svg.getAttribute('width')) / w];
}"""


def _at(at: dt.datetime, i: int) -> dt.datetime:
    return at + dt.timedelta(microseconds=i)


def chain(at: dt.datetime, n: int = 10_000) -> list[RunRecord]:
    root = uuid.uuid4().hex
    runs = [_run(root, root, None, "long_chain", RunState.SUCCEEDED, at)]
    previous: str | None = None
    for i in range(n):
        step = uuid.uuid4().hex
        inputs = {"x": InputRef("a" * 64, (previous,))} if previous else {}
        runs.append(_run(step, root, root, "inc", RunState.SUCCEEDED, _at(at, i + 1), inputs=inputs))
        previous = step
    return runs


def fan_out(at: dt.datetime, n: int = 10_000) -> list[RunRecord]:
    root = uuid.uuid4().hex
    runs = [_run(root, root, None, "wide_fan", RunState.SUCCEEDED, at)]
    parts = [uuid.uuid4().hex for _ in range(n)]
    for i, part in enumerate(parts):
        runs.append(_run(part, root, root, "score", RunState.SUCCEEDED, _at(at, i + 1)))
    total = uuid.uuid4().hex
    runs.append(
        _run(
            total,
            root,
            root,
            "total",
            RunState.SUCCEEDED,
            _at(at, n + 1),
            inputs={"xs": InputRef("b" * 64, tuple(parts))},
        )
    )
    return runs


def grid(at: dt.datetime, rows: int = 100, cols: int = 100) -> list[RunRecord]:
    root = uuid.uuid4().hex
    runs = [_run(root, root, None, "grid", RunState.SUCCEEDED, at)]
    previous_row: str | None = None
    tick = 1
    for _ in range(rows):
        row = uuid.uuid4().hex
        inputs = {"prev": InputRef("c" * 64, (previous_row,))} if previous_row else {}
        runs.append(_run(row, root, root, "row", RunState.SUCCEEDED, _at(at, tick), inputs=inputs))
        tick += 1
        previous: str | None = None
        for c in range(cols):
            cell = uuid.uuid4().hex
            cell_inputs = {"x": InputRef("d" * 64, (previous,))} if previous else {}
            name = "ping" if c % 2 else "pong"
            runs.append(_run(cell, root, row, name, RunState.SUCCEEDED, _at(at, tick), inputs=cell_inputs))
            tick += 1
            previous = cell
        previous_row = row
    return runs


def measure(url: str, roots: dict[str, str], metadata: Any) -> dict[str, dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, dict[str, Any]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        for shape, root in roots.items():
            root_record = metadata.get_run(root)
            cold = []
            for _ in range(5):
                page.goto("about:blank")
                metadata.write(WriteBatch(runs=[root_record]))  # a change: the server lays it out again
                time.sleep(0.6)
                page.goto(f"{url}/runs/{root}", wait_until="commit")
                page.wait_for_selector("svg.graph .node", timeout=120_000)
                cold.append(float(page.evaluate(DRAWN)))
            width, height, scale = page.evaluate(FIT)
            out[shape] = {
                "cold_ms": cold,
                "boxes": page.locator("svg.graph .node").count(),
                "size": (width, height),
                "fit": scale,
            }
            page.screenshot(path=str(Path(tempfile.gettempdir()) / f"loopline-bench-{shape}.png"))
            print(shape, out[shape], flush=True)
        browser.close()
    return out


def report(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# Huge graphs (issue 17.3)",
        "",
        f"`python -m benchmarks.graph_bench`, {dt.date.today()}, load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs. Node budget {NODE_BUDGET}; labels are {LABEL_PX} px at zoom 1.",
        "",
        "| pipeline (10,000+ runs) | boxes drawn | drawing (px) | fit zoom | label at fit | cold load, median of 5 (min-max) |",
        "|---|---|---|---|---|---|",
    ]
    for shape, r in results.items():
        cold = r["cold_ms"]
        w, h = r["size"]
        lines.append(
            f"| {shape} | {r['boxes']} | {w:,.0f} x {h:,.0f} | {r['fit']:.2f} | {LABEL_PX * r['fit']:.1f} px "
            f"| {statistics.median(cold):.0f} ms ({min(cold):.0f}-{max(cold):.0f}) |"
        )
    lines += [
        "",
        "Target: at most the node budget drawn, every label legible at fit zoom, cold load <= 1 s on a quiet machine.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/RESULTS_graphs.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        from loopline.settings import Settings
        from loopline.storage.embedded import open_stores

        metadata, _ = open_stores(Settings.for_home(home))
        at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        roots = {}
        for shape, build in (
            ("a chain of 10,000", chain),
            ("a fan-out of 10,000", fan_out),
            ("a 100 x 100 nested grid", grid),
        ):
            runs = build(at)
            metadata.write(WriteBatch(runs=runs))
            roots[shape] = runs[0].id
        with server_process(home) as url:
            results = measure(url, roots, metadata)
    args.out.write_text(report(results))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
