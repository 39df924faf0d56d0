"""`GET /runs/{id}/logs` answers a bounded window of a run's output: its tail by default, any
range on request, with what it left out and the links to read the rest."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

import loopline
from loopline.core.records import LogChunk, RunRecord, RunState, WriteBatch, utcnow
from loopline.server.api import logs
from tests.server import pipelines

LINES = 40_000  # ~4 MB of output


@pytest.fixture(scope="module")
def loud(stores: Any) -> tuple[str, str]:
    """A run that printed a few MB, and what it printed."""
    metadata, artifacts = stores
    pipeline = pipelines.loud(LINES)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(pipeline)
    return pipeline.id, pipelines.loud_output(LINES)


def text(answer: dict[str, Any]) -> str:
    return "".join(chunk["text"] for chunk in answer["chunks"])


def test_by_default_the_logs_are_the_tail_of_the_output(http: httpx.Client, loud: tuple[str, str]) -> None:
    run_id, output = loud
    response = http.get(f"/api/v1/runs/{run_id}/logs")
    answer = response.json()
    assert len(response.content) < 2 * logs.DEFAULT_LOG_CHARS
    assert text(answer) == output[-logs.DEFAULT_LOG_CHARS :]
    assert (answer["total"], answer["end"], answer["truncated"], answer["later"]) == (
        len(output),
        len(output),
        True,
        None,
    )
    assert answer["earlier"] == (
        f"/api/v1/runs/{run_id}/logs?offset={answer['offset'] - logs.DEFAULT_LOG_CHARS}"
        f"&limit={logs.DEFAULT_LOG_CHARS}"
    )


def test_a_range_is_exactly_that_slice_of_the_output(http: httpx.Client, loud: tuple[str, str]) -> None:
    run_id, output = loud
    answer = http.get(f"/api/v1/runs/{run_id}/logs", params={"offset": 123_457, "limit": 54_321}).json()
    assert text(answer) == output[123_457 : 123_457 + 54_321]
    assert (answer["offset"], answer["end"]) == (123_457, 123_457 + 54_321)
    assert answer["later"] == f"/api/v1/runs/{run_id}/logs?offset={123_457 + 54_321}&limit=54321"


def test_following_the_earlier_links_reads_the_whole_output_once(
    http: httpx.Client, loud: tuple[str, str]
) -> None:
    run_id, output = loud
    answer = http.get(f"/api/v1/runs/{run_id}/logs", params={"limit": logs.MAX_LOG_CHARS}).json()
    pieces = [text(answer)]
    while answer["earlier"]:
        answer = http.get(answer["earlier"]).json()
        pieces.insert(0, text(answer))
    assert "".join(pieces) == output
    assert answer["offset"] == 0


def test_a_window_past_the_end_is_empty(http: httpx.Client, loud: tuple[str, str]) -> None:
    run_id, output = loud
    answer = http.get(f"/api/v1/runs/{run_id}/logs", params={"offset": len(output) + 10}).json()
    assert (answer["chunks"], answer["offset"], answer["later"]) == ([], len(output), None)


@pytest.mark.parametrize("params", [{"limit": logs.MAX_LOG_CHARS + 1}, {"limit": 0}, {"offset": -1}])
def test_a_window_out_of_bounds_is_refused(
    http: httpx.Client, loud: tuple[str, str], params: dict[str, int]
) -> None:
    run_id, _ = loud
    response = http.get(f"/api/v1/runs/{run_id}/logs", params=params)
    assert response.status_code == 422
    assert next(iter(params)) in response.json()["detail"]


@pytest.mark.browser
def test_the_dashboard_shows_the_tail_and_loads_earlier_output_on_request(
    page: Any, loud: tuple[str, str]
) -> None:
    run_id, output = loud
    page.goto(f"/runs/{run_id}?tab=logs")
    lines = page.locator("#logs > div")
    tail = output[-logs.DEFAULT_LOG_CHARS :].splitlines()
    page.locator("#logs > div:last-child", has_text=tail[-1]).wait_for()
    assert lines.count() == len(tail)
    page.locator(".log-earlier").click()
    shown = output[-2 * logs.DEFAULT_LOG_CHARS :].splitlines()
    page.locator("#logs > div:first-child", has_text=shown[0]).wait_for()
    assert lines.all_inner_texts() == shown
    assert "characters before" in page.locator(".log-earlier").inner_text()


@pytest.mark.browser
def test_a_line_cut_between_two_stored_chunks_shows_as_one_line(page: Any, stores: Any) -> None:
    metadata, _ = stores
    run_id = uuid.uuid4().hex
    now = utcnow()
    run = RunRecord(run_id, run_id, None, "tests.cut", "cut", RunState.SUCCEEDED, now)
    pieces = ["first li", "ne\nsecond", " line\nthird line\n"]
    metadata.write(WriteBatch(runs=[run], logs=[LogChunk(run_id, "stdout", text, now) for text in pieces]))
    page.goto(f"/runs/{run_id}?tab=logs")
    page.locator("#logs > div", has_text="third line").wait_for()
    assert page.locator("#logs > div").all_inner_texts() == ["first line", "second line", "third line"]
    assert page.locator(".log-count").inner_text() == "3 lines"


@pytest.mark.browser
def test_lines_cut_anywhere_between_chunks_and_windows_read_back_whole(page: Any, stores: Any) -> None:
    metadata, _ = stores
    run_id = uuid.uuid4().hex
    now = utcnow()
    output = "".join(f"line {i:06d} {'y' * (i % 50)}\n" for i in range(12_000))  # ~560 KB
    cuts = range(0, len(output), 997)  # chunk edges that fall anywhere in a line
    chunks = [LogChunk(run_id, "stdout", output[at : at + 997], now) for at in cuts]
    run = RunRecord(run_id, run_id, None, "tests.cuts", "cuts", RunState.SUCCEEDED, now)
    metadata.write(WriteBatch(runs=[run], logs=chunks))
    page.goto(f"/runs/{run_id}?tab=logs")
    page.locator("#logs > div:last-child", has_text="line 011999").wait_for()
    while page.locator(".log-earlier").is_visible():
        page.locator(".log-earlier").click()
        page.locator(".log-earlier[disabled]").wait_for(state="detached")
    page.locator("#logs > div:first-child", has_text="line 000000").wait_for()
    assert page.locator("#logs > div").all_inner_texts() == output.splitlines()
