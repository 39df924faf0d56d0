"""The Timeline tab: a pipeline's steps on a time axis, one row per step, fan-outs folded."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import loopline
from loopline.core.records import RunRecord, RunState
from loopline.server.background import serve
from loopline.server.rendering.timeline import FANOUT_ROWS, MAX_ROWS, render_timeline, timeline
from loopline.settings import Settings
from loopline.storage.embedded import open_stores
from tests.server import pipelines
from tests.server.conftest import TIMEOUT_MS, watch

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
_ids = itertools.count()


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def run(
    name: str,
    parent: RunRecord | None = None,
    state: RunState = RunState.SUCCEEDED,
    times: tuple[float, float | None, float | None] = (0, 1, 2),
) -> RunRecord:
    """A run created, started and ended at these seconds after T0 (None: not yet)."""
    run_id = f"r{next(_ids):05d}"
    created, started, ended = (None if t is None else at(t) for t in times)
    assert created is not None
    return RunRecord(
        id=run_id,
        root_id=parent.root_id if parent else run_id,
        parent_id=parent.id if parent else None,
        function=f"m.{name}",
        name=name,
        state=state,
        created_at=created,
        started_at=started,
        ended_at=ended,
    )


def test_one_row_per_step_nested_under_its_parent() -> None:
    root = run("pipe", times=(0, 0, 10))
    load = run("load", root, times=(0, 1, 3))
    train = run("train", root, times=(3, 4, 9))
    epoch = run("epoch", train, times=(4, 4, 6))
    chart = timeline([train, epoch, root, load], root.id, now=at(20))
    assert [(r.label, r.depth) for r in chart.rows] == [("pipe", 0), ("load", 1), ("train", 1), ("epoch", 2)]
    assert chart.span_s == 10 and chart.left_out == 0


def test_a_row_knows_its_wait_and_its_work() -> None:
    root = run("pipe", times=(0, 0, None), state=RunState.RUNNING)
    waiting = run("queued", root, times=(1, None, None), state=RunState.CREATED)
    failed = run("fails", root, times=(1, 2, 4), state=RunState.FAILED)
    chart = timeline([root, waiting, failed], root.id, now=at(8))
    rows = {r.label: r for r in chart.rows}
    assert rows["pipe"].ended is None and chart.span_s == 8  # still at work: it reaches now
    assert rows["queued"].title == "queued: created, queued 7.0 s"
    assert rows["fails"].title == "fails: failed, took 2.0 s (queued 1.0 s)"


def test_a_large_fan_out_is_one_row_with_its_count() -> None:
    root = run("pipe", times=(0, 0, 30))
    calls = [run("inc", root, times=(1, 2 + i / 100, 3 + i / 100)) for i in range(FANOUT_ROWS + 1)]
    calls[7] = calls[7].replace(state=RunState.FAILED)
    chart = timeline([root, *calls, run("total", root, times=(4, 5, 6))], root.id, now=at(40))
    (fan,) = [r for r in chart.rows if r.count > 1]
    assert fan.label == f"inc \u00d7{FANOUT_ROWS + 1}" and fan.state == "failed" and fan.run_id == calls[7].id
    assert "1 failed" in fan.title and f"{FANOUT_ROWS} succeeded" in fan.title
    assert [r.label for r in chart.rows] == ["pipe", fan.label, "total"]


def test_ten_thousand_steps_stay_a_bounded_chart() -> None:
    root = run("pipe", times=(0, 0, 100))
    parent, chain = root, []
    for i in range(10_000):
        parent = run("step", parent, times=(i / 100, i / 100, i / 100 + 0.01))
        chain.append(parent)
    chart = timeline([root, *chain], root.id, now=at(200))
    assert len(chart.rows) == MAX_ROWS and chart.left_out == 10_001 - MAX_ROWS


def test_ticks_are_round_and_cover_the_span() -> None:
    root = run("pipe", times=(0, 0, 95))
    assert timeline([root], root.id).ticks() == [0, 20, 40, 60, 80]


def test_the_drawing_links_each_bar_and_names_it_on_hover() -> None:
    root = run("pipe", times=(0, 0, 4))
    step = run("cached <step>", root, times=(1, 1, 1), state=RunState.CACHED)
    svg = render_timeline(timeline([root, step], root.id), step.id)
    assert svg.count('class="tl-row') == 2
    assert f'data-select="{step.id}"' in svg and "s-cached" in svg and "tl-row s-cached selected" in svg
    assert "<title>cached &lt;step&gt;: cached, took 0 ms (queued 0 ms)</title>" in svg
    assert not re.search(r"\sstyle=|\son\w+=", svg)


# -- served: a real pipeline on a store of its own --------------------------------------------

STEPS = 3


@pytest.fixture(scope="module")
def chatty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    settings = Settings.for_home(tmp_path_factory.mktemp("timeline") / "home")
    metadata, artifacts = stores = open_stores(settings)
    future = pipelines.chatty(STEPS)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    with serve(*stores, settings) as server:
        yield server.url, future.id


RUNS = 1 + 1 + STEPS + 1  # chatty, prepare, say (STEPS times), total


def test_the_timeline_fragment_draws_one_row_per_step(chatty: tuple[str, str]) -> None:
    url, root = chatty
    with httpx.Client(base_url=url) as http:
        fragment = http.get(f"/fragments/timeline/{root}")
        page = http.get(f"/runs/{root}?tab=timeline").text
    assert fragment.status_code == 200 and fragment.text.count('class="tl-row') == RUNS
    assert f"{RUNS} runs in {RUNS} rows" in fragment.text
    assert 'id="tab-timeline"' in page and page.count('class="tl-row') == RUNS


@pytest.mark.browser
def test_the_timeline_tab_shows_a_bar_per_step_and_selects_one(browser: Any, chatty: tuple[str, str]) -> None:
    url, root = chatty
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    watch(context, page, problems)
    page.goto(f"/runs/{root}")
    page.click("#tab-timeline")
    page.locator("svg.timeline").wait_for()
    assert page.locator("svg.timeline .tl-row").count() == RUNS
    assert page.locator("svg.timeline .tl-row .tl-bar").count() == RUNS
    assert "tab=timeline" in page.url
    page.locator("svg.timeline .tl-row", has_text="prepare").click()
    page.locator(".panel-head h2", has_text="prepare").wait_for()
    page.locator("svg.timeline .tl-row.selected", has_text="prepare").wait_for()
    assert page.evaluate("window.__csp") == [] and problems == []
    context.close()
