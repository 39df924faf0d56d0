"""The dashboard in a real headless Chromium (Debian's, driven by Playwright's Python package)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopline
from loopline.cl.production.log import InferenceLog
from loopline.server.background import RunningServer
from tests.server import pipelines
from tests.server.conftest import Seeded, eventually
from tools import showcase

pytestmark = pytest.mark.browser


def test_runs_page_lists_pipelines_and_opens_one(page: Any, seeded: Seeded, shots: Path) -> None:
    page.goto("/runs")
    rows = page.locator("#runs-body tr[data-run-id]")
    assert rows.count() >= 4
    assert page.locator(f'tr[data-run-id="{seeded.failing}"] .badge').inner_text() == "failed"
    page.screenshot(path=shots / "runs.png")
    page.locator(f'tr[data-run-id="{seeded.showcase}"] button.expand').click()
    page.locator(f'tr[data-parent="{seeded.showcase}"]').first.wait_for()
    assert page.locator(f'tr[data-parent="{seeded.showcase}"]').count() == 3
    page.locator(f'tr[data-run-id="{seeded.showcase}"] td.name a').click()
    page.wait_for_url(f"**/runs/{seeded.showcase}")
    page.locator("svg.graph .node").first.wait_for()


def test_opened_rows_stay_open_when_a_new_pipeline_arrives(page: Any, seeded: Seeded, stores: Any) -> None:
    page.goto("/runs")
    page.locator(f'tr[data-run-id="{seeded.showcase}"] button.expand').click()
    page.locator(f'tr[data-parent="{seeded.showcase}"]').first.wait_for()
    metadata, artifacts = stores
    new = pipelines.inc(1)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(new)
    page.locator(f'#runs-body tr[data-run-id="{new.id}"]').wait_for()  # the rows were redrawn...
    page.locator(f'tr[data-parent="{seeded.showcase}"]').first.wait_for()  # ...and reopened
    assert page.locator(f'tr[data-parent="{seeded.showcase}"]').count() == 3


def test_filters_live_in_the_url(page: Any) -> None:
    page.goto("/runs")
    page.get_by_label("search").fill("failing")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*q=failing.*"))
    assert page.locator("#runs-body tr[data-run-id] td.name a").all_inner_texts() == ["failing"]


def test_following_a_run_shows_its_artifacts(page: Any, seeded: Seeded, shots: Path) -> None:
    page.goto(f"/runs/{seeded.showcase}")
    page.locator("svg.graph .node.run", has_text="make_table").click()
    page.locator(".panel-head h2", has_text="make_table").wait_for()
    assert re.search(r"/runs/[0-9a-f]{32}$", page.url) and seeded.showcase not in page.url
    page.get_by_role("tab", name="Inputs & output").click()
    table = page.locator("table.frame")
    table.wait_for()
    assert "NaN" in table.inner_text()
    page.locator("table.frame button.sort", has_text="y").click()
    first = page.locator("table.frame tbody tr").first.locator("td").nth(1).inner_text()
    assert first == "1.5"  # the smallest y; missing values sort last
    page.screenshot(path=shots / "artifacts.png", full_page=True)


def test_a_thousand_run_graph_is_drawn_as_a_fan_out(page: Any, seeded: Seeded, shots: Path) -> None:
    page.goto(f"/runs/{seeded.fan}")
    fanout = page.locator("svg.graph .node.fanout")
    fanout.wait_for()
    assert "\u00d71,000" in fanout.text_content()
    assert page.locator("svg.graph").get_attribute("data-total") == "1002"
    page.screenshot(path=shots / "graph-1000.png")
    fanout.click()
    page.locator("#panel table.runs tbody tr").first.wait_for()
    assert page.locator("#panel table.runs tbody tr").count() == 300
    assert page.locator("#panel table.runs tbody tr").first.locator(".fan-inputs").inner_text() == "x=0"


def test_fit_shows_the_whole_of_a_graph_taller_than_its_pane(page: Any, stores: Any) -> None:
    metadata, artifacts = stores
    rally = pipelines.rally(20)  # 22 boxes in one column, about 2,100 px tall
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(rally)
    page.goto(f"/runs/{rally.id}")
    graph = page.locator("svg.graph")
    graph.wait_for()
    page.locator('[data-zoom="in"]').click()
    page.locator('[data-zoom="fit"]').click()
    drawn = graph.bounding_box()
    pane = page.locator("#graph").bounding_box()
    assert drawn["width"] <= pane["width"] and drawn["height"] <= pane["height"]


def test_moments_read_in_the_readers_time_zone_with_utc_on_hover(
    browser: Any, server: RunningServer, seeded: Seeded
) -> None:
    context = browser.new_context(base_url=server.url, timezone_id="Asia/Tokyo", locale="en-US")
    try:
        page = context.new_page()
        page.goto("/runs")
        moment = page.locator(f'tr[data-run-id="{seeded.showcase}"] time')
        moment.wait_for()
        utc = dt.datetime.strptime(moment.get_attribute("title") or "", "%Y-%m-%d %H:%M:%S UTC")
        shown = moment.inner_text()
        assert shown.endswith("GMT+9")
        assert shown.removesuffix(" GMT+9") == f"{utc + dt.timedelta(hours=9):%Y-%m-%d %H:%M:%S}"
    finally:
        context.close()


def test_dark_mode_follows_the_system_setting(
    browser: Any, server: RunningServer, seeded: Seeded, shots: Path
) -> None:
    context = browser.new_context(
        base_url=server.url, color_scheme="dark", viewport={"width": 1440, "height": 900}
    )
    try:
        page = context.new_page()
        page.goto(f"/runs/{seeded.showcase}")
        page.locator("svg.graph .node").first.wait_for()
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        ink = page.evaluate("getComputedStyle(document.body).color")
        box = page.evaluate("getComputedStyle(document.querySelector('svg.graph .node .box')).fill")
        assert (background, ink, box) == ("rgb(15, 18, 25)", "rgb(227, 231, 238)", "rgb(23, 27, 36)")
        page.screenshot(path=shots / "run-dark.png")
        page.goto(f"/runs/{seeded.failing}")
        page.locator(".error-box").first.wait_for()
        page.screenshot(path=shots / "failed-run-dark.png")
    finally:
        context.close()


def test_the_nav_works_in_an_800_px_window(page: Any, seeded: Seeded) -> None:
    page.set_viewport_size({"width": 800, "height": 700})
    page.goto(f"/runs/{seeded.showcase}")
    links = page.locator("header.top nav a")
    assert links.count() >= 10
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 800, links.nth(
            index
        ).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    links.filter(has_text="Loops").click()
    page.wait_for_url("**/loops")


def test_an_output_opens_its_artifact_page_with_the_runs_that_made_and_took_it(
    page: Any, http: httpx.Client, seeded: Seeded
) -> None:
    table = http.get("/api/v1/runs", params={"name": "make_table"}).json()["runs"][0]
    page.goto(f"/runs/{table['id']}?tab=io")
    page.locator("a.artifact-page").last.click()
    page.wait_for_url("**/artifacts/*")
    page.locator("table.artifact-runs a", has_text="make_table").first.wait_for()
    assert page.locator("table.artifact-runs a", has_text="summarize").count() >= 1
    page.locator("table.artifact-runs a", has_text="summarize").first.click()
    page.wait_for_url("**/runs/*")


def test_groups_close_and_open_from_the_keyboard(page: Any, seeded: Seeded) -> None:
    page.goto(f"/runs/{seeded.fan}")
    page.locator('svg.graph [data-toggle][data-open="1"]').focus()
    page.keyboard.press("Enter")
    closed = page.locator(f'svg.graph .node.run[data-run-id="{seeded.fan}"]')
    closed.wait_for()
    assert "+1,001" in (closed.text_content() or "")
    assert "closed=" in page.url
    page.locator('svg.graph [data-toggle][data-open="0"]').click()
    page.locator("svg.graph .node.fanout").wait_for()


def test_the_pipelines_page_shows_a_new_pipeline_without_reload(page: Any, stores: Any) -> None:
    page.goto("/pipelines")
    page.locator("#pipelines-body tr").first.wait_for()
    row = page.locator('#pipelines-body tr[data-function="tests.server.pipelines.heartbeat"]')
    assert row.count() == 0
    metadata, artifacts = stores
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(pipelines.heartbeat())
    row.wait_for()
    assert "100%" in row.inner_text()


def test_the_models_page_follows_runs_without_reload(page: Any, stores: Any, workspace: Any) -> None:
    page.goto("/models")
    page.locator("main h1").wait_for()
    assert page.locator("main", has_text="live-registered").count() == 0
    loopline.models.register("live-registered", {"weights": [1, 2]}, workspace=workspace)
    metadata, artifacts = stores  # a run changes state: the page reads its records again
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(pipelines.heartbeat())
    page.locator("main", has_text="live-registered").wait_for()


def test_a_record_page_follows_its_records_without_reload(page: Any, workspace: Any) -> None:
    page.goto("/models")
    page.locator("#live.on").wait_for()
    page.wait_for_timeout(1500)  # a re-read for runs that changed just before the page was read is over
    assert page.locator("main", has_text="from-a-terminal").count() == 0
    loopline.models.register("from-a-terminal", {"weights": [3]}, workspace=workspace)  # no run at all
    page.locator("main", has_text="from-a-terminal").wait_for()


def set_hidden(page: Any, hidden: bool) -> None:
    """What the browser does when the page's tab goes to the background, or comes back."""
    page.evaluate(
        "hidden => { Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


def test_a_hidden_tab_lets_go_of_its_stream_and_catches_up_when_shown(page: Any, workspace: Any) -> None:
    page.goto("/models")
    page.locator("#live.on").wait_for()
    set_hidden(page, True)  # browsers share ~6 connections per server among all tabs
    page.locator("#live:not(.on)").wait_for()
    loopline.models.register("while-hidden", {"weights": [4]}, workspace=workspace)
    set_hidden(page, False)
    page.locator("main", has_text="while-hidden").wait_for()
    assert page.locator("#live.on").count() == 1


def test_a_record_page_keeps_what_someone_started_typing(
    page: Any, stores: Any, workspace: Any, loop: Any
) -> None:
    page.goto("/inferences")
    field = page.get_by_label("minimum confidence")
    field.fill("0.25")
    page.locator("main h1").click()  # the field loses focus; only the edit protects it now
    with InferenceLog(workspace, background=False) as log:  # the page's records change...
        log.log("digits@production", [0.0] * 64, 3, display="image 8x8")
    metadata, artifacts = stores  # ...and a run says so
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(pipelines.heartbeat())
    page.wait_for_timeout(3000)  # a re-read would come 1 s after the run's events
    assert field.input_value() == "0.25"


def test_a_schedule_is_added_then_edited_from_the_schedules_page(
    page: Any, guarded: httpx.Client, shots: Path
) -> None:
    page.goto("/schedules")
    form = page.locator("#schedule-form")
    if not form.is_visible():
        page.get_by_text("Add a schedule").click()
    form.get_by_label("Name").fill("browser-nightly")
    form.get_by_label("Pipeline").fill(f"{showcase.__file__}:training_pipeline")
    form.get_by_label("Parameters").fill("--rows 50")
    form.get_by_label("cron expression").fill("0 3 * * mon-fri")
    form.get_by_label("time zone").fill("America/New_York")
    page.screenshot(path=shots / "schedule-form.png")
    form.get_by_role("button", name="Add schedule").click()
    row = page.locator('tr[data-schedule="browser-nightly"]')
    row.wait_for()
    assert "cron 0 3 * * mon-fri (America/New_York)" in row.inner_text()
    row.get_by_role("button", name="Edit").click()  # the same form, filled in, edits it
    assert form.get_by_label("Parameters").input_value() == "--rows 50"
    assert form.get_by_label("Name").get_attribute("readonly") is not None
    form.get_by_label("cron expression").fill("30 4 * * *")
    form.get_by_label("Parameters").fill("--rows 60")
    page.screenshot(path=shots / "schedule-edit.png")
    form.get_by_role("button", name="Save changes").click()
    page.locator(
        'tr[data-schedule="browser-nightly"]', has_text="cron 30 4 * * * (America/New_York)"
    ).wait_for()
    assert "--rows 60" in page.locator('tr[data-schedule="browser-nightly"]').inner_text()
    assert guarded.post("/api/v1/schedules/browser-nightly/remove").status_code == 200


def test_logs_stream_live_then_cancel_then_rerun(
    page: Any, start_slow: Any, http: httpx.Client, guarded: httpx.Client, shots: Path
) -> None:
    terminal = start_slow(120.0)
    tick = eventually(
        lambda: http.get("/api/v1/runs", params={"root_id": terminal.root_id, "name": "tick"}).json()["runs"],
        what="the tick step",
    )[0]
    page.goto(f"/runs/{tick['id']}?tab=logs")
    lines = page.locator("#logs > div")
    eventually(lambda: lines.count() >= 3, what="log lines to stream in")
    seen = lines.count()
    eventually(lambda: lines.count() > seen, what="more log lines while the run goes on")
    assert page.locator("#logs > div").first.inner_text() == "tick 1"
    page.screenshot(path=shots / "live-logs.png")

    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel the run").click()
    page.locator("#root-state .badge", has_text="cancelled").wait_for()
    assert page.get_by_role("button", name="Cancel").is_hidden()
    terminal.process.wait(timeout=60)

    page.get_by_role("button", name="Rerun").first.click()
    page.get_by_role("dialog").get_by_role("button", name="Rerun").click()
    page.wait_for_url(re.compile(r".*/runs/(?!" + terminal.root_id + r")[0-9a-f]{32}$"))
    rerun_id = page.url.rsplit("/", 1)[-1]
    rerun = http.get(f"/api/v1/runs/{rerun_id}").json()
    assert (rerun["name"], rerun["parent_id"]) == ("slow", None)
    page.locator("#root-state .badge", has_text="running").wait_for()
    page.screenshot(path=shots / "rerun.png")
    assert guarded.post(f"/api/v1/runs/{rerun_id}/cancel").status_code == 200
    page.locator("#root-state .badge", has_text="cancelled").wait_for()


def test_a_single_line_of_output_is_counted_as_one_line(page: Any, stores: Any) -> None:
    metadata, artifacts = stores
    future = pipelines.one_liner()
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    page.goto(f"/runs/{future.id}?tab=logs")
    page.locator("#logs > div", has_text="just this").wait_for()
    assert page.locator(".log-count").inner_text() == "1 line"


def style_number(page: Any, selector: str, prop: str) -> str:
    return str(
        page.locator(selector).first.evaluate(f"el => getComputedStyle(el).getPropertyValue('{prop}')")
    )


def test_every_kind_of_page_runs_under_the_policy(
    page: Any, seeded: Seeded, registry: Any, loop: Any
) -> None:
    # The `page` fixture fails the test on any refusal by the Content-Security-Policy.
    pages = [
        "/runs?nested=1",
        f"/runs/{seeded.showcase}?tab=io",
        f"/runs/{seeded.fan}",
        "/pipelines",
        "/datasets",
        "/datasets/digits-golden",
        "/datasets/digits-train/diff/1/2",
        "/models",
        "/models/digits",
        "/reports",
        f"/reports/{registry.showcase.failing_report}",
        "/schedules",
        "/inferences",
        f"/inferences/{loop.showcase.request_ids[0]}",
        "/labeling",
        f"/labeling/{loop.showcase.queue}",
        "/loops",
        f"/loops/{loop.showcase.loop}",
        "/api",
        "/no/such/page",
    ]
    for path in pages:
        page.goto(path)
        page.locator("main").wait_for()
    page.goto("/inferences")
    assert float(style_number(page, ".conf", "--c")) >= 0  # the numbers a style needs, set by the script
    page.goto("/pipelines")
    page.locator("#pipelines-body .rate").first.wait_for()
    assert 0 <= float(style_number(page, "#pipelines-body .rate", "--rate")) <= 1
    page.goto("/runs")
    page.locator(f'tr[data-run-id="{seeded.showcase}"] button.expand').click()
    child = page.locator(f'tr[data-parent="{seeded.showcase}"] td.name').first
    child.wait_for()
    assert child.evaluate("el => getComputedStyle(el).paddingLeft") == "28px"  # 10px + 1 * 18px


def test_a_matplotlib_figure_is_shown_under_the_policy(page: Any, stores: Any) -> None:
    pytest.importorskip(
        "matplotlib", reason="matplotlib is not installed; figures are drawn only where it is"
    )
    metadata, artifacts = stores
    future = pipelines.plot(4)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    page.goto(f"/runs/{future.id}?tab=io")
    figure = page.locator("figure.figure img")
    figure.wait_for()
    eventually(lambda: figure.evaluate("img => img.complete && img.naturalWidth > 0"), what="the figure")
